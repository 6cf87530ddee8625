// The finalizer: a deleted policy hands the Deployment back (unpaused, canary removed, route
// restored) before it goes; in a namespace being deleted it hands back what still exists and
// completes once the rest is gone (issue 12).
import type { Action, ReleaseState } from '../engine/index.ts';
import type { Deployment } from '../kube/objects.ts';
import { isOwnMark, markIn, markOf } from '../traffic/policy-mark.ts';
import type { PolicyObject, ReconcilerDeps } from './deps.ts';
import { FINALIZER, MANAGED_LABEL, policyKeyOf, policyRef } from './names.ts';
import { IN_FLIGHT } from './phases.ts';
import type { PolicyStatus } from './status.ts';

/**
 * The write adding the finalizer where it is missing (undefined: the policy has it), started and
 * not awaited: whoever writes next awaits it (pass.ts). Its failure is that caller's to report.
 */
export function finalizerWrite(
  deps: ReconcilerDeps,
  namespace: string,
  name: string,
  object: PolicyObject,
): Promise<PolicyObject> | undefined {
  if ((object.metadata.finalizers as string[] | undefined)?.includes(FINALIZER)) return undefined;
  // The finalizer lets a deleted policy hand the Deployment back (unpaused, canary removed).
  const finalizers = [...((object.metadata.finalizers as string[] | undefined) ?? []), FINALIZER];
  const write = deps.kube.mergePatch<PolicyObject>(policyRef(namespace, name), { metadata: { finalizers } });
  write.catch(() => {}); // awaited (and so reported) by the pass; never an unhandled rejection meanwhile
  return write;
}

/**
 * A deleted policy whose release is over and whose last decision asked for nothing but Events
 * has handed everything back: the finalizer goes, and so does the policy. Returns whether it did.
 */
export async function finishDeletion(
  deps: ReconcilerDeps,
  decided: { next: ReleaseState; actions: Action[]; latest: PolicyObject },
): Promise<boolean> {
  const { next, actions, latest } = decided;
  if (IN_FLIGHT.has(next.phase) || !actions.every((a) => a.type === 'recordEvent' || a.type === 'ackOperation')) {
    return false;
  }
  await dropFinalizer(deps, latest);
  return true;
}

/** Removes canaryd's finalizer from a deleted policy (none to remove: nothing written); the policy goes. */
export async function dropFinalizer(deps: ReconcilerDeps, object: PolicyObject): Promise<void> {
  const { namespace = '', name } = object.metadata;
  const finalizers = (object.metadata.finalizers as string[] | undefined) ?? [];
  if (!finalizers.includes(FINALIZER)) return;
  await deps.kube.mergePatch(policyRef(namespace, name), {
    metadata: { finalizers: finalizers.filter((f) => f !== FINALIZER) },
  });
}

/**
 * A deleted policy that never had a valid version took nothing: it goes at once. It may carry the
 * finalizer without canaryd having written it (deploy/components/finalizer-on-create: the API
 * server adds it at creation). Kept (its status still says why it is invalid) if a Deployment
 * carries its mark after all (a pause written for an adoption not yet recorded): the hand-back
 * needs a valid policy. Returns whether it went.
 */
export async function finishNeverValid(
  deps: ReconcilerDeps,
  object: PolicyObject,
  status: PolicyStatus,
): Promise<boolean> {
  const { namespace = '', name } = object.metadata;
  if (status.activeSpec !== undefined || status.release.stable !== undefined) return false;
  if (!((object.metadata.finalizers as string[] | undefined) ?? []).includes(FINALIZER)) return true;
  const marked = await deps.kube.list<Deployment>('apps/v1', 'Deployment', namespace, `${MANAGED_LABEL}=true`);
  const self = markOf(policyKeyOf(namespace, name), object.metadata.uid);
  if (marked.some((d) => isOwnMark(markIn(d.metadata.annotations), self))) return false;
  await dropFinalizer(deps, object);
  return true;
}
