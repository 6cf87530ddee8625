// What the replica-ratio router reports as its route's status: the share the Service's ready
// endpoints give the pods running the canary's template (canary-template.ts, share.ts) — never
// the one it asked for — and as drift a pinned or edited Service selector and Deployments scaled
// away from the split of the recorded weight. Its own file because observation only reads the
// cluster; replica-ratio.ts and replica-ratio-scale.ts do the writes.
import type { KubeApi } from '../kube/api.ts';
import type { Deployment, KubeObject, Service } from '../kube/objects.ts';
import {
  canaryTemplateHashesIn,
  currentTemplateHashes,
  type ReplicaSet,
  runsCanaryTemplate,
} from './canary-template.ts';
import { deploymentRef, endpointSlicesOf, labelSelector, serviceRef } from './cluster.ts';
import { ORIGINAL_REPLICAS, RELEASE_SELECTOR } from './labels.ts';
import { recordedBaseline, recordedWeight, splitFor } from './replica-ratio-records.ts';
import { formatShare } from './replica-solver.ts';
import { replicaRatioRoutePieces } from './route-pieces.ts';
import type { ObserveOptions, RoutePieces, RouteStatus, RouteTarget } from './router.ts';
import { isPinned, originalSelector, recordedSelector, sameSelector } from './selector.ts';
import { endpointShare } from './share.ts';

/** The fields of a v1 Pod the share needs. */
export interface Pod extends KubeObject {
  apiVersion: 'v1';
  kind: 'Pod';
}

export const observeReplicaRatio = async (
  kube: KubeApi,
  target: RouteTarget,
  options: ObserveOptions = {},
): Promise<RouteStatus> => {
  const service = await kube.get<Service>(serviceRef(target.namespace, target.service));
  const canary = await kube.get<Deployment>(deploymentRef(target.namespace, target.canaryDeployment));
  const stable = await kube.get<Deployment>(deploymentRef(target.namespace, target.deployment));
  const pieces = replicaRatioRoutePieces({
    canaryDeployment: options.canaryExists ?? canary !== null,
    pinned: service === null || isPinned(service),
    selectorRecorded: service?.metadata.annotations?.[RELEASE_SELECTOR] !== undefined,
    surged: stable?.metadata.annotations?.[ORIGINAL_REPLICAS] !== undefined,
  });
  // The Service is gone (its namespace is being deleted): nothing routes to the canary, and
  // a surge may still be left for cleanup.
  if (service === null) {
    const missing = `Service ${target.namespace}/${target.service} does not exist; check target.service of the policy`;
    return nothingRouted(target, missing, pieces);
  }
  const { names, uids, strays } = await canaryTemplatePods(kube, target, service, canary, stable);
  const slices = await endpointSlicesOf(kube, target.namespace, target.service);
  const share = endpointShare(slices, (endpoint) => {
    const ref = endpoint.targetRef;
    return (
      ref !== undefined &&
      ((ref.uid !== undefined && uids.has(ref.uid)) || (ref.name !== undefined && names.has(ref.name)))
    );
  });
  const requested = Number(recordedWeight(canary) ?? '0');
  const drift: string[] = [];
  if (isPinned(service)) {
    drift.push(`Service ${target.service} is pinned to the stable pods, so canary pods receive no traffic`);
  }
  const recorded = recordedSelector(service, RELEASE_SELECTOR);
  const selector = service.spec.selector ?? {};
  if (recorded !== undefined && !isPinned(service) && !sameSelector(selector, recorded)) {
    drift.push(
      `Service ${target.service} selector was changed to ${JSON.stringify(selector)} during the release (it was ${JSON.stringify(recorded)}), so the split no longer holds`,
    );
  }
  if (Number.isFinite(requested) && canary !== null) {
    const split = splitFor(
      target,
      requested,
      (stable === null ? undefined : recordedBaseline(stable)) ?? target.stableReplicas,
    );
    if ((canary.spec.replicas ?? 1) !== split.canaryReplicas) {
      drift.push(
        `canary Deployment ${target.canaryDeployment} has ${canary.spec.replicas ?? 1} replicas but ${formatShare(requested)} needs ${split.canaryReplicas}`,
      );
    }
    if (stable !== null && (stable.spec.replicas ?? 1) < split.stableReplicas) {
      drift.push(
        `Deployment ${target.deployment} has ${stable.spec.replicas ?? 1} replicas, fewer than the ${split.stableReplicas} ${formatShare(requested)} needs (scaled down by someone or an autoscaler)`,
      );
    }
  }
  const status: RouteStatus = {
    router: 'replica-ratio',
    requestedWeight: Number.isFinite(requested) ? requested : 0,
    achievedWeight: share.share,
    canaryReplicas: share.canaryReady,
    stableReplicas: share.stableReady,
    detail:
      `${share.canaryReady} canary of ${share.canaryReady + share.stableReady} ready endpoints: ${formatShare(share.share)} (requested ${formatShare(requested)})` +
      (strays ? '; the stable Deployment runs pods of the canary template too (unpaused during the release)' : ''),
    pieces,
    // No header or cookie routing: it cannot pick requests.
    testersRouting: false,
  };
  if (drift.length > 0) status.drift = drift.join('; ');
  return status;
};

/** The pods of the Service that run the canary's current template, by name and uid. */
const canaryTemplatePods = async (
  kube: KubeApi,
  target: RouteTarget,
  service: Service,
  canary: Deployment | null,
  stable: Deployment | null,
) => {
  if (canary === null) return { names: new Set<string>(), uids: new Set<string>(), strays: false };
  // The stable Deployment's selector also selects the canary's ReplicaSets (their labels add the track).
  const replicaSets = await kube.list<ReplicaSet>(
    'apps/v1',
    'ReplicaSet',
    target.namespace,
    labelSelector((stable ?? canary).spec.selector.matchLabels ?? {}),
  );
  // Only pods of the canary's current template count: a previous canary's pods, still there
  // while a new template replaces it, are not the canary of this release (issue 11).
  const canaryHashes = currentTemplateHashes(canary, replicaSets);
  // Pods of the canary template in the stable Deployment (an unpause during the release) count too.
  const strayHashes =
    stable === null ? new Set<string>() : canaryTemplateHashesIn(target.deployment, replicaSets, canary.spec.template);
  const pods = await kube.list<Pod>('v1', 'Pod', target.namespace, labelSelector(originalSelector(service)));
  const canaryPods = pods.filter((pod) => runsCanaryTemplate(pod.metadata.labels, canaryHashes, strayHashes));
  return {
    names: new Set(canaryPods.map((pod) => pod.metadata.name)),
    uids: new Set(canaryPods.flatMap((pod) => (pod.metadata.uid === undefined ? [] : [pod.metadata.uid]))),
    strays: strayHashes.size > 0,
  };
};

const nothingRouted = (target: RouteTarget, why: string, pieces: RoutePieces): RouteStatus => ({
  router: 'replica-ratio',
  requestedWeight: 0,
  achievedWeight: 0,
  canaryReplicas: 0,
  stableReplicas: 0,
  detail: `nothing routed to ${target.canaryDeployment}: ${why}`,
  pieces,
  testersRouting: false,
});
