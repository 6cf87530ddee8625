// One policy per Deployment (as policy files are checked, policy/load.ts rejectDuplicates): of
// CanaryPolicies in a namespace that target the same Deployment, one manages it and the others are
// refused (Ready=False, reason TargetClaimed, a Warning Event) and touch nothing until it is gone
// or targets another Deployment. The one that manages it is the one the Deployment's mark names
// (it already does: pausing, canary, route), else the first created (then by name): the same
// answer in every replica and every reconcile, so two policies never take turns.
import type { Deployment, KubeObject } from '../kube/objects.ts';
import { API_VERSION, KIND } from '../policy/schema.ts';
import { OWNER_POLICY } from '../traffic/labels.ts';
import type { PolicyObject, ReconcilerDeps } from './deps.ts';
import { FINALIZER, policyKeyOf, policyRef } from './names.ts';
import { writeStatus } from './persist.ts';
import { type PolicyStatus, setCondition } from './status.ts';

/** The Deployment a policy object targets (its spec as written; undefined when it names none). */
const targetOf = (policy: PolicyObject): string | undefined => {
  const deployment = (policy.spec as { target?: { deployment?: unknown } } | undefined)?.target?.deployment;
  return typeof deployment === 'string' ? deployment : undefined;
};

const comesFirst = (a: KubeObject, b: KubeObject): boolean => {
  const at = a.metadata.creationTimestamp ?? '';
  const bt = b.metadata.creationTimestamp ?? '';
  return at !== bt ? at < bt : a.metadata.name < b.metadata.name;
};

/**
 * Pure: the policy that manages `deployment` among `policies` (the namespace's, `self` included):
 * the one `markedBy` names ("namespace/name") when it still targets it, else the first created.
 */
export function claimant(
  self: PolicyObject,
  deployment: string,
  policies: PolicyObject[],
  markedBy: string | undefined,
): PolicyObject {
  const rivals = policies.filter(
    (p) =>
      p.metadata.name !== self.metadata.name &&
      p.metadata.namespace === self.metadata.namespace &&
      targetOf(p) === deployment,
  );
  const key = (p: PolicyObject) => policyKeyOf(p.metadata.namespace ?? '', p.metadata.name);
  const all = [self, ...rivals];
  return all.find((p) => key(p) === markedBy) ?? all.reduce((first, p) => (comesFirst(p, first) ? p : first));
}

/**
 * The other policy that manages this one's Deployment, or undefined when this one does. Reads
 * from the caches; lists the namespace's policies only when the Deployment's mark does not
 * already name this policy (before adoption, or after the marked one went).
 */
export async function otherClaimant(
  deps: ReconcilerDeps,
  self: PolicyObject,
  deployment: string,
): Promise<PolicyObject | undefined> {
  const namespace = self.metadata.namespace ?? '';
  const stable = await deps.kube.get<Deployment>({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    namespace,
    name: deployment,
  });
  const markedBy = stable?.metadata.annotations?.[OWNER_POLICY];
  if (markedBy === policyKeyOf(namespace, self.metadata.name)) return undefined;
  const policies = await deps.kube.list<PolicyObject>(API_VERSION, KIND, namespace);
  const holder = claimant(self, deployment, policies, markedBy);
  return holder.metadata.name === self.metadata.name ? undefined : holder;
}

/**
 * Refuses a policy whose Deployment another one manages: the reason in its status (and once in
 * an Event); a deleted one goes at once, since it never took anything to hand back.
 */
export async function refuseClaimed(
  deps: ReconcilerDeps,
  object: PolicyObject,
  status: PolicyStatus,
  deployment: string,
  holder: PolicyObject,
  now: Date,
): Promise<void> {
  const { namespace = '', name } = object.metadata;
  if (object.metadata.deletionTimestamp !== undefined) {
    const finalizers = (object.metadata.finalizers as string[] | undefined) ?? [];
    if (finalizers.includes(FINALIZER)) {
      await deps.kube.mergePatch(policyRef(namespace, name), {
        metadata: { finalizers: finalizers.filter((f) => f !== FINALIZER) },
      });
    }
    return;
  }
  const by = policyKeyOf(holder.metadata.namespace ?? namespace, holder.metadata.name);
  const message = `Deployment ${namespace}/${deployment} is already managed by CanaryPolicy ${by}: this policy does nothing until that one is deleted or targets another Deployment (one policy per Deployment)`;
  if (status.message !== message) {
    deps.log.warn('target claimed by another policy', { policy: policyKeyOf(namespace, name), by });
    await deps.events
      .record({ ...policyRef(namespace, name), uid: object.metadata.uid }, 'Warning', 'TargetClaimed', message)
      .catch(() => {
        // Reported in the status as well.
      });
  }
  await writeStatus(deps, object, {
    ...status,
    message,
    conditions: setCondition(
      status.conditions,
      { type: 'Ready', status: 'False', reason: 'TargetClaimed', message },
      now,
    ),
    updatedAt: now.toISOString(),
  });
}
