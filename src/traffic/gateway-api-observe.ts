// What the gateway-api router reports as its route's status: each HTTPRoute as written
// (httproute-reading.ts) and as its Gateways see it (status.parents), the stable Service's pin
// and the canary Service's selector, and the ready endpoints behind both. Its own file because
// observation only reads the cluster; gateway-api.ts and httproute-apply.ts do the writes.
import type { KubeApi } from '../kube/api.ts';
import type { Service } from '../kube/objects.ts';
import { observeCanaryBackend, withCanaryBackend } from './canary-backend.ts';
import { ownedByPolicy, servicesDrift } from './canary-service.ts';
import { endpointSlicesOf, serviceRef } from './cluster.ts';
import { type HTTPRoute, httpRouteRef, routeAcceptance } from './httproute.ts';
import { paramsOf } from './httproute-apply.ts';
import { readRoute } from './httproute-reading.ts';
import { readRecord } from './httproute-record.ts';
import { POD_TEMPLATE_HASH } from './labels.ts';
import { formatShare } from './replica-solver.ts';
import type { RouteStatus, RouteTarget } from './router.ts';
import { isPinned } from './selector.ts';
import { readyEndpoints } from './share.ts';

export const observeGatewayApi = async (kube: KubeApi, target: RouteTarget): Promise<RouteStatus> => {
  const routes = await observeRoutes(kube, target);
  const services = await observeServices(kube, target, routes.anyRecorded);
  const drift = [...routes.drift, ...services.drift];
  const backend = await observeCanaryBackend(kube, target);
  const canaryReady = backend.current;
  const stableReady = readyEndpoints(await endpointSlicesOf(kube, target.namespace, target.service)).length;
  if (routes.achieved > 0 && canaryReady + backend.others.length === 0) {
    drift.push(`the canary receives ${formatShare(routes.achieved)} but has no ready endpoints`);
  }
  const { rejected, waiting } = routes;
  const verdict =
    rejected.length > 0
      ? `rejected: ${rejected.join('; ')}`
      : waiting.length > 0
        ? `waiting for the Gateway: ${waiting.join('; ')}`
        : 'accepted by its Gateways';
  const status: RouteStatus = {
    router: 'gateway-api',
    requestedWeight: routes.requested,
    achievedWeight: routes.achieved,
    canaryReplicas: canaryReady,
    stableReplicas: stableReady,
    detail: `${routes.shown.join(', ') || 'no canary backendRef'} (${formatShare(routes.achieved)}), ${verdict}; ${canaryReady} canary and ${stableReady} stable endpoints ready`,
    pieces: {
      complete: routes.complete && services.complete && rejected.length === 0 && waiting.length === 0,
      any: routes.anyRecorded || services.any,
    },
    testersRouting: routes.testers,
  };
  withCanaryBackend(status, backend);
  if (rejected.length > 0) status.rejected = rejected.join('; ');
  if (drift.length > 0) status.drift = drift.join('; ');
  return status;
};

/** The routes as written and as their Gateways see them. */
const observeRoutes = async (kube: KubeApi, target: RouteTarget) => {
  const seen = {
    drift: [] as string[],
    shown: [] as string[],
    waiting: [] as string[],
    rejected: [] as string[],
    requested: 0,
    achieved: 0,
    testers: false,
    complete: true,
    anyRecorded: false,
  };
  // No route at all (the HTTPRoute deleted, its namespace going): nothing to route, and not complete.
  const names = target.httpRoutes ?? [];
  if (names.length === 0) seen.complete = false;
  for (const name of names) {
    const route = await kube.get<HTTPRoute>(httpRouteRef(target.namespace, name));
    if (route === null) {
      seen.drift.push(`HTTPRoute ${name} is missing`);
      seen.complete = false;
      continue;
    }
    const reading = readRoute(route, paramsOf(target));
    seen.anyRecorded ||= readRecord(route) !== undefined;
    seen.requested = Math.max(seen.requested, reading.requested);
    seen.achieved = Math.max(seen.achieved, reading.achieved);
    seen.testers ||= reading.testers;
    seen.shown.push(...reading.shown);
    seen.drift.push(...reading.drift);
    if (reading.drift.length > 0) seen.complete = false;
    const acceptance = routeAcceptance(route);
    if (acceptance.state === 'rejected') seen.rejected.push(acceptance.reason);
    if (acceptance.state === 'pending') seen.waiting.push(acceptance.reason);
  }
  return seen;
};

/** The stable Service's pin and the canary Service's selector. */
const observeServices = async (kube: KubeApi, target: RouteTarget, routesRecorded: boolean) => {
  const service = await kube.get<Service>(serviceRef(target.namespace, target.service));
  const pinned = service !== null && isPinned(service) && service.spec.selector?.[POD_TEMPLATE_HASH] !== undefined;
  const found = await kube.get<Service>(serviceRef(target.namespace, target.canaryService));
  const canaryService = found !== null && ownedByPolicy(found, target) ? found : null;
  const drift = servicesDrift(target, service, canaryService);
  if ((service === null || canaryService === null) && routesRecorded) {
    drift.push(`canary Service ${target.canaryService} is missing`);
  }
  return {
    drift,
    complete: pinned && canaryService !== null,
    any: canaryService !== null || (service !== null && isPinned(service)),
  };
};
