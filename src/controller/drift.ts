// Drift: someone else changed what canaryd manages while a step carries its weight. When to act
// is the engine's decision (engine/upkeep.ts); here it is carried out: a route is put back (the
// router's prepare and setWeight) and the pass decides on the route as it is then; a resized
// canary is reported (the engine scales it back). Both say so in a DriftCorrected Event.
import { canaryResized, driftToPutBack, type Observed, type ReleaseState } from '../engine/index.ts';
import { isTrafficError } from '../traffic/errors.ts';
import type { RouteTarget, TrafficRouter } from '../traffic/router.ts';
import type { ReconcilerDeps } from './deps.ts';
import { policyRef } from './names.ts';
import { observeRouteAgain, type Snapshot } from './snapshot.ts';

/**
 * Corrects the route's drift and observes the route again into `snapshot`; else reports a canary
 * Deployment someone else resized.
 */
export async function putBackDrift(deps: ReconcilerDeps, snapshot: Snapshot): Promise<void> {
  const { router, target, release, route } = snapshot;
  const putBack = driftToPutBack(release, route.status, snapshot.deleting);
  const driftCorrected = putBack !== undefined && (await correctDrift(deps, router, target, putBack));
  if (driftCorrected) await observeRouteAgain(deps, snapshot);
  else await reportCanaryResized(deps, target, release, snapshot.observed);
}

/**
 * Someone else changed what canaryd routes (edited the canary weight, the Service selector,
 * deleted a canary Ingress): write canaryd's intent back and say so in an Event (when: the
 * engine's driftToPutBack). Returns true if it wrote.
 */
async function correctDrift(
  deps: ReconcilerDeps,
  router: TrafficRouter,
  target: RouteTarget,
  { drift, weight }: { drift: string; weight: number },
): Promise<boolean> {
  const key = `${target.namespace}/${target.policy}`;
  try {
    await router.prepare(target);
    await router.setWeight(target, weight);
  } catch (error) {
    // gateway-api: prepare put the route back as canaryd recorded it (the weight the Gateway
    // accepted before the edit); the Gateway has not reported on that write yet. It is
    // corrected; a Gateway that now refuses it pauses the release on the next look.
    // OlderCanaryPods: prepare put the canary Service's selector back, and its endpoints still
    // list the pods the edited selector chose until the endpoint controller catches up. The
    // objects are corrected; the next look sees the endpoints as they are.
    if (!isTrafficError(error, 'RouteNotAccepted') && !isTrafficError(error, 'OlderCanaryPods')) {
      deps.log.warn('could not correct route drift', { policy: key, drift, error: (error as Error).message });
      return false;
    }
  }
  deps.log.warn('route drift corrected', { policy: key, drift, weight });
  await recordDriftCorrected(deps, target, `${drift}; canaryd put its route back (weight ${weight} %)`);
  return true;
}

async function recordDriftCorrected(deps: ReconcilerDeps, target: RouteTarget, message: string): Promise<void> {
  await deps.events
    .record({ ...policyRef(target.namespace, target.policy) }, 'Warning', 'DriftCorrected', message)
    .catch(() => {
      // Logged by the caller; the Event is only a report.
    });
}

/** Someone else resized the canary Deployment (engine: canaryResized): say so in an Event. */
async function reportCanaryResized(
  deps: ReconcilerDeps,
  target: RouteTarget,
  release: ReleaseState,
  observed: Observed,
): Promise<void> {
  const resized = canaryResized(release, observed);
  if (resized === undefined) return;
  const { replicas, wanted, step } = resized;
  const drift = `canary Deployment ${target.canaryDeployment} has ${replicas} replicas but step ${step} needs ${wanted}`;
  deps.log.warn('canary resized by someone else', { policy: `${target.namespace}/${target.policy}`, drift });
  await recordDriftCorrected(deps, target, `${drift}; canaryd resizes it to ${wanted}`);
}
