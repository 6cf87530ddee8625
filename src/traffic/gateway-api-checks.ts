// The refusals of the gateway-api router, made before it writes anything: the routes it was
// given exist, and no weight or tester rule reaches a route its Gateways have not accepted (the
// Gateways' verdict, status.parents, gates every non-zero weight). The canary Service and
// invariant 1 are checked by canary-refusals.ts, shared with ingress-nginx. Its own file because
// these reads only ever throw; gateway-api.ts keeps the writes.
import type { KubeApi } from '../kube/api.ts';
import { assertCanaryRoutable } from './canary-refusals.ts';
import { TrafficError } from './errors.ts';
import { type HTTPRoute, httpRouteRef, routeAcceptance } from './httproute.ts';
import { readRecord } from './httproute-record.ts';
import { policyKey, type RouteTarget } from './router.ts';

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

/**
 * Invariant 1 (ready canary endpoints, stable Service pinned) and the Gateways' word: no
 * weight to a canary backendRef a Gateway has not accepted.
 */
export const assertRoutable = async (kube: KubeApi, target: RouteTarget, what: string): Promise<void> => {
  await assertCanaryRoutable(kube, target, what);
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
