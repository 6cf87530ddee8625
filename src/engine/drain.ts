// Removing the canary at the end of a release (promotion, rollback, abort, leftovers at rest).
// Weight 0 alone is not enough: a data plane applies a weight change a moment later and finishes
// requests already sent (Traefik kept sending to a canary for ~3 s after it went to 0), so the
// canary is kept for spec.traffic.drainDelay after the route is written at weight 0. The drain
// starts with the decision that writes weight 0 (the write goes out right after that decision is
// persisted, before anything else), or with the first pass that sees the route at 0: one status
// write, not one for the decision and another for the drain. The start of the drain is persisted
// (state.drain), so a controller restarted during it neither removes the canary early nor starts
// the drain again; a restart that finds the weight above 0 (the write never went out) writes it
// and starts the drain over. Rollback still begins at once: only the removal waits. Once the
// canary is gone the record stays as it is, read only beside a canary, until the next release
// starts without it: clearing it took a status write of its own at the end of every release.
//
// Then the canary Deployment is deleted (dependents first: it stays until its pods are gone), and
// only once it is gone are the route objects removed:
// in ingress mode cleanupRoute restores the stable Service's selector, which selects the canary
// pods too (they carry the user's labels), so restoring it earlier would hand stable traffic to
// pods about to go.
import type { CanaryPolicy } from '../policy/schema.ts';
import { formatDuration } from '../schedule/duration.ts';
import type { Action } from './actions.ts';
import { type Context, event, plusMs, reached } from './context.ts';
import type { Observed } from './observed.ts';
import { policyTimes } from './plan.ts';
import type { ReleaseState } from './types.ts';

/**
 * What removes the canary now: tester routing off, deleteCanary once drained, cleanupRoute once it
 * is gone. `before` is what the same decision does first: when it writes weight 0, the drain
 * starts with it.
 */
export function canaryRemoval(state: ReleaseState, context: Context, before: readonly Action[] = []): Action[] {
  const { canary, route } = context.observed;
  // The drain's record stays once the canary is gone (a status write of its own would say
  // nothing anyone reads); the next release starts without it (transitions.ts).
  if (canary === undefined) return canaryObjectsRemoval(context.observed);
  const actions: Action[] = [];
  if (route.testersRouting) actions.push({ type: 'setTesterRouting', enabled: false });
  const zeroNow = before.some((action) => action.type === 'setWeight' && action.weight === 0);
  if (canary.removing || drained(state, context, zeroNow)) actions.push(...canaryObjectsRemoval(context.observed));
  return actions;
}

/**
 * The canary's objects removed without a drain (a deleted policy or Deployment, leftovers at
 * adoption): the canary Deployment first, and the route only once it is gone, pods included
 * (deleteCanary deletes dependents first). deleteCanary comes back while it is going, so the
 * policy's finalizer stays until the route is cleaned up; the execution sends no second delete.
 */
export function canaryObjectsRemoval(observed: Observed): Action[] {
  if (observed.canary !== undefined) return [{ type: 'deleteCanary' }];
  return observed.route.prepared ? [{ type: 'cleanupRoute' }] : [];
}

/** The drain is still running at `now` (its record outlives it: it is read only beside a canary). */
export function drainRunning(state: ReleaseState, policy: CanaryPolicy, now: Date): boolean {
  const end = drainEndsAt(state, policyTimes(policy).drainDelayMs);
  return end !== null && Date.parse(end) > now.getTime();
}

/** When the recorded drain ends, or ended (null: no record); for nextWakeAt and drainRunning. */
export function drainEndsAt(state: ReleaseState, drainDelayMs: number): string | null {
  return state.drain === undefined ? null : plusMs(state.drain.since, drainDelayMs);
}

/** `zeroNow`: this decision writes weight 0 (and tester routing off) before the removal. */
function drained(state: ReleaseState, context: Context, zeroNow: boolean): boolean {
  const { route } = context.observed;
  const delayMs = context.times.drainDelayMs;
  // "0s": removed right after the weight-0 write, in the same batch (it comes first).
  if (delayMs === 0) return true;
  // Nothing routes to the canary (no canary Ingress/Service, nothing in the stable Service).
  if (!route.prepared) return true;
  if (zeroNow && state.drain !== undefined && route.weight > 0) {
    // A weight came back during the drain (someone raised it): the drain starts over with this write.
    state.drain = undefined;
  } else if (!zeroNow && (route.weight > 0 || route.testersRouting)) {
    // Weight 0 is neither written by this decision nor seen yet: the drain starts when it is.
    state.drain = undefined;
    return false;
  }
  if (state.drain === undefined) {
    state.drain = { since: context.nowIso };
    event(
      context,
      'Normal',
      'Draining',
      `the canary receives no new requests; it is removed after spec.traffic.drainDelay (${formatDuration(delayMs)})`,
    );
  }
  return reached(context, plusMs(state.drain.since, delayMs));
}
