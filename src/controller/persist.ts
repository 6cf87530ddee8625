// Persist: the policy's status, written only when it changed; a write that lost a race (Conflict)
// or found the policy gone answers null, and the caller observes again.

import type { ReleaseState } from '../engine/index.ts';
import { isKubeError } from '../kube/api.ts';
import { sameJson } from '../kube/canonical-json.ts';
import type { CanaryPolicy } from '../policy/schema.ts';
import type { PolicyObject, ReconcilerDeps } from './deps.ts';
import { policyKeyOf, policyRef } from './names.ts';
import { type PolicyStatus, readStatus, setCondition, storedStatus, summarise } from './status.ts';

export function readyCondition(next: ReleaseState) {
  if (next.stable === undefined || next.adopting) {
    // Ready once the Deployment is seen paused at its stable revision (engine/phases/adoption.ts).
    return { type: 'Ready' as const, status: 'False' as const, reason: 'Adopting', message: next.reason };
  }
  const failed = next.phase === 'failed' || next.phase === 'rollingBack';
  return {
    type: 'Ready' as const,
    status: failed ? ('False' as const) : ('True' as const),
    reason: next.phase.charAt(0).toUpperCase() + next.phase.slice(1),
    message: next.reason,
  };
}

/**
 * Writes the status; null when the object changed meanwhile (conflict) or is gone. An unchanged
 * status (ignoring updatedAt) is not written: every write is a watch event, and writing on every
 * reconcile would make the controller wake itself forever.
 */
export async function writeStatus(
  deps: ReconcilerDeps,
  object: PolicyObject,
  status: PolicyStatus,
): Promise<PolicyObject | null> {
  const stored = storedStatus(status);
  const { updatedAt: _before, ...previous } = (object.status ?? {}) as Partial<PolicyStatus>;
  const { updatedAt: _after, ...next } = stored;
  if (sameJson(previous, JSON.parse(JSON.stringify(next)))) return object;
  try {
    const written = await deps.kube.replaceStatus<PolicyObject>({ ...object, status: stored });
    deps.onStatus?.(object.metadata.namespace ?? '', object.metadata.name, status);
    return written;
  } catch (error) {
    if (isKubeError(error, 'Conflict') || isKubeError(error, 'NotFound')) {
      deps.log.debug?.('status not written', { error: (error as Error).message });
      return null;
    }
    throw error;
  }
}

/**
 * The share the route carries as its router answered the weight write, persisted in the same
 * pass (invariant 7): otherwise the status shows the previous share until the queue brings the
 * policy back, which with a saturated queue was a whole step. The next pass observes the same
 * share and writes nothing. Null when the write lost a race.
 */
export async function writeMeasuredShare(
  deps: ReconcilerDeps,
  object: PolicyObject,
  policy: CanaryPolicy,
  share: number,
  now: Date,
): Promise<PolicyObject | null> {
  const status = readStatus(object.status, now);
  if (status.release.current === undefined || status.release.current.achievedWeight === share) return object;
  return writeStatus(deps, object, { ...withShare(policy, status, share), updatedAt: now.toISOString() });
}

/** The status with the share the route carries (undefined: as it is). */
export function withShare(policy: CanaryPolicy, status: PolicyStatus, share: number | undefined): PolicyStatus {
  const current = status.release.current;
  if (share === undefined || current === undefined) return status;
  const release = { ...status.release, current: { ...current, achievedWeight: share } };
  return { ...status, ...summarise(policy, release, share), release };
}

/**
 * No router can be chosen (auto sees an Ingress and an HTTPRoute, a named route is missing):
 * nothing starts; the reason goes to the status and, once per new reason, to an Event.
 */
export async function refuseRouter(
  deps: ReconcilerDeps,
  object: PolicyObject,
  status: PolicyStatus,
  reason: string,
  now: Date,
): Promise<void> {
  const { namespace = '', name } = object.metadata;
  const routerReason = `refused: ${reason}`;
  if (status.routerReason !== routerReason) {
    deps.log.warn('no traffic router', { policy: policyKeyOf(namespace, name), reason });
    await deps.events
      .record({ ...policyRef(namespace, name), uid: object.metadata.uid }, 'Warning', 'RouterRefused', reason)
      .catch(() => {
        // Reported in the status as well.
      });
  }
  await writeStatus(deps, object, {
    ...status,
    routerReason,
    message: reason,
    conditions: setCondition(
      status.conditions,
      { type: 'Ready', status: 'False', reason: 'RouterRefused', message: reason },
      now,
    ),
    updatedAt: now.toISOString(),
  });
}
