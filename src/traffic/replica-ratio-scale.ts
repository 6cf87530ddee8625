// The replica-ratio router's writes toward a non-zero weight: the canary Deployment (and, within
// the surge budget, the stable one) scaled to the weight's split. The order keeps capacity: the
// stable side only grows first; it shrinks back (never below the baseline) only once the canary
// pods of the new split are ready. A surge is recorded on the stable Deployment
// (canaryd.dev/original-replicas) so cleanup restores spec.replicas even after a restart. Its own
// file because this is the one place the router scales; replica-ratio.ts validates the weight,
// takes weight 0's one-write path and reports what the ready endpoints give.
import type { KubeApi } from '../kube/api.ts';
import type { Deployment } from '../kube/objects.ts';
import { deploymentRef, getDeployment } from './cluster.ts';
import { TrafficError } from './errors.ts';
import { INTENDED_WEIGHT, ORIGINAL_REPLICAS } from './labels.ts';
import { recordedBaseline, splitFor, weightRecord } from './replica-ratio-records.ts';
import type { RouteTarget } from './router.ts';

/**
 * Scales both Deployments toward the split for `weight` (above 0); returns what it still waits
 * for before the stable side may shrink, or undefined.
 */
export const scaleToWeight = async (
  kube: KubeApi,
  target: RouteTarget,
  weight: number,
): Promise<string | undefined> => {
  const canaryRef = deploymentRef(target.namespace, target.canaryDeployment);
  const intent = weightRecord(weight);
  const stableRef = deploymentRef(target.namespace, target.deployment);
  const stable = await getDeployment(kube, target.namespace, target.deployment);
  const canary = await canaryDeployment(kube, target);
  // After a restart the recorded baseline is the truth, whatever the caller remembers.
  const baseline = recordedBaseline(stable) ?? target.stableReplicas;
  const split = splitFor(target, weight, baseline);
  const stableNow = stable.spec.replicas ?? 1;
  if (split.stableReplicas > stableNow) {
    const record = recordedBaseline(stable) === undefined ? { [ORIGINAL_REPLICAS]: String(baseline) } : {};
    await kube.mergePatch(stableRef, {
      metadata: { annotations: record },
      spec: { replicas: split.stableReplicas },
    });
  }
  if (
    (canary.spec.replicas ?? 1) !== split.canaryReplicas ||
    canary.metadata.labels?.[INTENDED_WEIGHT] !== String(weight) ||
    canary.metadata.annotations?.[INTENDED_WEIGHT] !== undefined
  ) {
    await kube.mergePatch(canaryRef, { ...intent, spec: { replicas: split.canaryReplicas } });
  }
  let waiting: string | undefined;
  if (split.stableReplicas < stableNow) {
    const canaryReady = canary.status?.readyReplicas ?? 0;
    if (canaryReady >= split.canaryReplicas && (canary.spec.replicas ?? 1) === split.canaryReplicas) {
      const unrecord = split.stableReplicas === baseline ? { [ORIGINAL_REPLICAS]: null } : {};
      await kube.mergePatch(stableRef, {
        metadata: { annotations: unrecord },
        spec: { replicas: split.stableReplicas },
      });
    } else {
      waiting = `waiting for ${split.canaryReplicas} ready canary pods before scaling stable from ${stableNow} to ${split.stableReplicas}`;
    }
  }
  return waiting;
};

const canaryDeployment = async (kube: KubeApi, target: RouteTarget): Promise<Deployment> => {
  const canary = await kube.get<Deployment>(deploymentRef(target.namespace, target.canaryDeployment));
  if (canary === null) {
    throw new TrafficError(
      'NotPrepared',
      `canary Deployment ${target.namespace}/${target.canaryDeployment} does not exist; create it before setting a weight`,
    );
  }
  return canary;
};
