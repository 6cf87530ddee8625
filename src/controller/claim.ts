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
import { dropFinalizer } from './finalizer.ts';
import { policyKeyOf, policyRef } from './names.ts';
import { writeStatus } from './persist.ts';
import { type PolicyStatus, setCondition } from './status.ts';

/** What deciding who manages a Deployment takes of a policy. */
export interface Claim {
  namespace: string;
  name: string;
  createdAt: string;
  /** The Deployment its spec targets (as written; undefined when it names none). */
  deployment: string | undefined;
}

export const claimOf = (policy: Readonly<KubeObject>): Claim => {
  const deployment = (policy as PolicyObject).spec as { target?: { deployment?: unknown } } | undefined;
  return {
    namespace: policy.metadata.namespace ?? '',
    name: policy.metadata.name,
    createdAt: policy.metadata.creationTimestamp ?? '',
    deployment: typeof deployment?.target?.deployment === 'string' ? deployment.target.deployment : undefined,
  };
};

const comesFirst = (a: Claim, b: Claim): boolean =>
  a.createdAt !== b.createdAt ? a.createdAt < b.createdAt : a.name < b.name;

/**
 * Pure: the policy that manages `deployment` among `claims` (the namespace's, `self` included):
 * the one `markedBy` names ("namespace/name") when it still targets it, else the first created.
 */
export function claimant(self: Claim, deployment: string, claims: Claim[], markedBy: string | undefined): Claim {
  const rivals = claims.filter(
    (c) => c.name !== self.name && c.namespace === self.namespace && c.deployment === deployment,
  );
  const all = [self, ...rivals];
  return (
    all.find((c) => policyKeyOf(c.namespace, c.name) === markedBy) ??
    all.reduce((first, c) => (comesFirst(c, first) ? c : first))
  );
}

/**
 * The other policy that manages this one's Deployment, or undefined when this one does. Reads
 * from the caches; looks at the namespace's policies only when the Deployment's mark does not
 * already name this policy (before adoption, or after the marked one went), and then only at
 * their names, creation times and targets (no copies of 1,000 policies per reconcile).
 */
export async function otherClaimant(
  deps: ReconcilerDeps,
  self: PolicyObject,
  deployment: string,
): Promise<Claim | undefined> {
  const { kube } = deps;
  const namespace = self.metadata.namespace ?? '';
  const stable = await kube.get<Deployment>({ apiVersion: 'apps/v1', kind: 'Deployment', namespace, name: deployment });
  const markedBy = stable?.metadata.annotations?.[OWNER_POLICY];
  if (markedBy === policyKeyOf(namespace, self.metadata.name)) return undefined;
  const claims =
    (await kube.project?.(API_VERSION, KIND, namespace, claimOf)) ??
    (await kube.list<PolicyObject>(API_VERSION, KIND, namespace)).map(claimOf);
  const holder = claimant(claimOf(self), deployment, claims, markedBy);
  return holder.name === self.metadata.name ? undefined : holder;
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
  holder: Claim,
  now: Date,
): Promise<void> {
  const { namespace = '', name } = object.metadata;
  if (object.metadata.deletionTimestamp !== undefined) {
    await dropFinalizer(deps, object);
    return;
  }
  const by = policyKeyOf(holder.namespace, holder.name);
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
