// The refusals of the gateway-api router, made before it writes anything: the routes it was
// given exist, the canary Service name is free or already ours, and (invariant 1) no weight or
// tester rule reaches a canary that is not ready, a stable Service that is not pinned, or a route
// its Gateways have not accepted: the Gateways' verdict (status.parents) gates every non-zero
// weight. Its own file because these reads only ever throw; gateway-api.ts keeps the writes.
import type { KubeApi } from '../kube/api.ts';
import type { Service } from '../kube/objects.ts';
import { assertCanaryBackend, observeCanaryBackend } from './canary-backend.ts';
import { ownedByPolicy } from './canary-service.ts';
import { getService, serviceRef } from './cluster.ts';
import { TrafficError } from './errors.ts';
import { type HTTPRoute, httpRouteRef, routeAcceptance } from './httproute.ts';
import { readRecord } from './httproute-record.ts';
import { policyKey, type RouteTarget } from './router.ts';
import { isPinned } from './selector.ts';

/** The target's HTTPRoutes; refuses a target with none. */
export const routesOf = (target: RouteTarget): string[] => {
  const names = target.httpRoutes ?? [];
  if (names.length === 0) {
    throw new TrafficError(
      'NoRoute',
      `policy ${policyKey(target)}: the gateway-api router needs at least one HTTPRoute that sends to Service ${target.service}`,
    );
  }
  return names;
};

export const mustGetRoute = async (kube: KubeApi, target: RouteTarget, name: string): Promise<HTTPRoute> => {
  const route = await kube.get<HTTPRoute>(httpRouteRef(target.namespace, name));
  if (route === null) {
    throw new TrafficError(
      'NotFound',
      `HTTPRoute ${target.namespace}/${name} does not exist; check target.httpRoutes of the policy`,
    );
  }
  return route;
};

/** The canary Service when it is already ours, null when absent; refuses someone else's. */
export const ownCanaryService = async (kube: KubeApi, target: RouteTarget): Promise<Service | null> => {
  const existing = await kube.get<Service>(serviceRef(target.namespace, target.canaryService));
  if (existing === null || ownedByPolicy(existing, target)) return existing;
  throw new TrafficError(
    'NotManaged',
    `Service ${target.namespace}/${target.canaryService} exists and is not canaryd's canary Service for policy ${policyKey(target)}; rename or delete it`,
  );
};

/**
 * Invariant 1 (ready canary endpoints, stable Service pinned) and the Gateways' word: no
 * weight to a canary backendRef a Gateway has not accepted.
 */
export const assertRoutable = async (kube: KubeApi, target: RouteTarget, what: string): Promise<void> => {
  const service = await getService(kube, target.namespace, target.service);
  if (!isPinned(service)) {
    throw new TrafficError(
      'NotPrepared',
      `Service ${target.namespace}/${target.service} is not pinned to the stable pods; call prepare before routing ${what} to the canary`,
    );
  }
  assertCanaryBackend(target, await observeCanaryBackend(kube, target), what);
  for (const name of routesOf(target)) {
    const route = await mustGetRoute(kube, target, name);
    if (readRecord(route) === undefined) {
      throw new TrafficError(
        'NotPrepared',
        `HTTPRoute ${target.namespace}/${name} carries no canary backendRef; call prepare before routing ${what} to the canary`,
      );
    }
    const acceptance = routeAcceptance(route);
    if (acceptance.state !== 'accepted') {
      throw new TrafficError(
        'RouteNotAccepted',
        `${acceptance.reason}; canaryd routes ${what} to the canary only through a route its Gateways accepted`,
      );
    }
  }
};
