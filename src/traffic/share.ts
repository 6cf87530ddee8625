// The share of traffic the cluster really gives the canary, from the Service's EndpointSlices:
// a Service balances over its ready endpoints, so the share is canary-ready / all-ready. This
// is what replica-ratio reports — never the share it asked for.
import type { EndpointSlice } from '../kube/objects.ts';

type Endpoint = NonNullable<EndpointSlice['endpoints']>[number];

export interface EndpointShare {
  canaryReady: number;
  stableReady: number;
  /** canaryReady / (canaryReady + stableReady) in percent; 0 when nothing is ready. */
  share: number;
}

// EndpointConditions.ready: "nil ... should be interpreted as ready" unless terminating.
const isReady = (endpoint: Endpoint): boolean =>
  endpoint.conditions?.ready !== false && endpoint.conditions?.terminating !== true;

/**
 * Ready endpoints of the slices, one per address: a pod listed in two slices (dual-stack is
 * one slice per family, and slices overlap briefly while the controller rebalances) counts once.
 */
export const readyEndpoints = (slices: EndpointSlice[]): Endpoint[] => {
  const seen = new Set<string>();
  const ready: Endpoint[] = [];
  for (const slice of slices) {
    for (const endpoint of slice.endpoints ?? []) {
      if (!isReady(endpoint)) continue;
      // A pod has one address per family; identify it by its pod when the slice says so.
      const key = endpoint.targetRef?.uid ?? endpoint.targetRef?.name ?? endpoint.addresses[0] ?? '';
      if (seen.has(key)) continue;
      seen.add(key);
      ready.push(endpoint);
    }
  }
  return ready;
};

/** Splits the ready endpoints into canary and stable with `isCanary` (e.g. by pod name). */
export const endpointShare = (slices: EndpointSlice[], isCanary: (endpoint: Endpoint) => boolean): EndpointShare => {
  let canaryReady = 0;
  let stableReady = 0;
  for (const endpoint of readyEndpoints(slices)) {
    if (isCanary(endpoint)) canaryReady++;
    else stableReady++;
  }
  const total = canaryReady + stableReady;
  return { canaryReady, stableReady, share: total === 0 ? 0 : (canaryReady * 100) / total };
};
