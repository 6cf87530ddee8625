// Who answers behind the canary Service (ingress-nginx, gateway-api): its ready endpoints, split
// into pods of the canary Deployment's current template and the rest.
//
// The canary Deployment outlives a release by its drain delay, and a release that starts
// meanwhile replaces its template in place (execute.ts createCanary). Until the Deployment
// controller has finished that roll, the canary Service still lists the previous canary's pods as
// ready, and a weight on the canary route goes to them: in issue 11 a v3 canary at 1 % answered 8
// of 4,000 requests through Traefik, because most of its share went to the v2 canary pod. A
// weight carries the canary's template only when every ready endpoint behind the route runs it.
import type { KubeApi } from '../kube/api.ts';
import type { Deployment, EndpointSlice, KubeObject } from '../kube/objects.ts';
import { currentTemplateHashes, type ReplicaSet, runsCanaryTemplate } from './canary-template.ts';
import { deploymentRef, endpointSlicesOf, labelSelector } from './cluster.ts';
import { TrafficError } from './errors.ts';
import type { RouteStatus, RouteTarget } from './router.ts';
import { readyEndpoints } from './share.ts';

export interface CanaryBackend {
  /** Ready endpoints running the canary Deployment's current template. */
  current: number;
  /** Ready endpoints running something else (a previous canary's pods), by pod name or address. */
  others: string[];
}

interface PodMeta extends KubeObject {
  apiVersion: 'v1';
  kind: 'Pod';
}

const NO_HASHES = new Set<string>();

/** Pure: splits the ready endpoints of `slices` by the pods' pod-template-hash. */
export function splitCanaryBackend(
  slices: EndpointSlice[],
  pods: readonly PodMeta[],
  currentHashes: Set<string>,
): CanaryBackend {
  const byUid = new Map(pods.flatMap((pod) => (pod.metadata.uid === undefined ? [] : [[pod.metadata.uid, pod]])));
  const byName = new Map(pods.map((pod) => [pod.metadata.name, pod]));
  const backend: CanaryBackend = { current: 0, others: [] };
  for (const endpoint of readyEndpoints(slices)) {
    const ref = endpoint.targetRef;
    const pod = (ref?.uid === undefined ? undefined : byUid.get(ref.uid)) ?? byName.get(ref?.name ?? '');
    // A pod the cache does not know yet counts as not (yet) the canary's: the next look decides.
    if (pod !== undefined && runsCanaryTemplate(pod.metadata.labels, currentHashes, NO_HASHES)) backend.current++;
    else backend.others.push(ref?.name ?? endpoint.addresses[0] ?? '?');
  }
  return backend;
}

/** Reads the canary Deployment, its ReplicaSets and pods, and the canary Service's endpoints. */
export async function observeCanaryBackend(kube: KubeApi, target: RouteTarget): Promise<CanaryBackend> {
  const slices = await endpointSlicesOf(kube, target.namespace, target.canaryService);
  if (readyEndpoints(slices).length === 0) return { current: 0, others: [] };
  const canary = await kube.get<Deployment>(deploymentRef(target.namespace, target.canaryDeployment));
  if (canary === null || canary.metadata.deletionTimestamp !== undefined) {
    return splitCanaryBackend(slices, [], NO_HASHES);
  }
  const selector = labelSelector(canary.spec.selector.matchLabels ?? {});
  const replicaSets = await kube.list<ReplicaSet>('apps/v1', 'ReplicaSet', target.namespace, selector);
  const pods = await kube.list<PodMeta>('v1', 'Pod', target.namespace, selector);
  return splitCanaryBackend(slices, pods, currentTemplateHashes(canary, replicaSets));
}

/** One sentence for a status detail or an error: which endpoints are not the canary's template. */
export const describeOthers = (backend: CanaryBackend): string =>
  `${backend.others.length} ready endpoint(s) behind the canary Service run another template than the canary's (${backend.others.slice(0, 3).join(', ')}${backend.others.length > 3 ? ', …' : ''})`;

/**
 * Pure: the share the canary's template really gets when the route gives `weight` percent to the
 * canary Service: the proxy balances that share over every ready endpoint behind it.
 */
export const canaryTemplateShare = (weight: number, backend: CanaryBackend): number => {
  const ready = backend.current + backend.others.length;
  return ready === 0 || backend.others.length === 0 ? weight : (weight * backend.current) / ready;
};

/** Refuses `what` (a weight, tester routing) unless the canary's own pods, and only they, are ready behind the route. */
export function assertCanaryBackend(target: RouteTarget, backend: CanaryBackend, what: string): void {
  const service = `Service ${target.namespace}/${target.canaryService}`;
  if (backend.others.length > 0) {
    throw new TrafficError(
      'OlderCanaryPods',
      `${service}: ${describeOthers(backend)}; ${what} would go to them too. Wait until the canary Deployment ${target.canaryDeployment} has replaced them`,
    );
  }
  if (backend.current === 0) {
    throw new TrafficError(
      'NoReadyEndpoints',
      `${service} has no ready endpoints; ${what} would fail every request it routes. Wait until the canary pods are ready`,
    );
  }
}

/**
 * The route's status as it really is when pods of another template answer behind the canary
 * Service: their count, a word in the detail, and the share the canary's template gets. In place.
 */
export function withCanaryBackend(status: RouteStatus, backend: CanaryBackend): RouteStatus {
  if (backend.others.length === 0) return status;
  status.olderCanaryEndpoints = backend.others.length;
  status.achievedWeight = canaryTemplateShare(status.achievedWeight, backend);
  status.detail += `; ${describeOthers(backend)}`;
  return status;
}
