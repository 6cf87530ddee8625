// The refusals the two routers with a canary Service (ingress-nginx, gateway-api) share, made
// before they write anything: the canary Service's name is free or already this policy's, and
// (invariant 1) nothing routes to the canary while the stable Service is not pinned to the stable
// pods or the canary's ready endpoints are not all of its current template. Each router's own
// refusals (its Ingresses, its HTTPRoutes and their Gateways) are in its *-checks.ts.
import type { KubeApi } from '../kube/api.ts';
import type { Service } from '../kube/objects.ts';
import { assertCanaryBackend, observeCanaryBackend } from './canary-backend.ts';
import { ownedByPolicy } from './canary-service.ts';
import { getService, serviceRef } from './cluster.ts';
import { TrafficError } from './errors.ts';
import { policyKey, type RouteTarget } from './router.ts';
import { isPinned } from './selector.ts';

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
 * Invariant 1: nothing routes to the canary while it has no ready endpoints, and a weight goes
 * to the canary's template only: not while pods of another template are ready behind it, nor
 * while the stable Service still selects the canary's pods too.
 */
export const assertCanaryRoutable = async (kube: KubeApi, target: RouteTarget, what: string): Promise<void> => {
  const service = await getService(kube, target.namespace, target.service);
  if (!isPinned(service)) {
    throw new TrafficError(
      'NotPrepared',
      `Service ${target.namespace}/${target.service} is not pinned to the stable pods; call prepare before routing ${what} to the canary`,
    );
  }
  assertCanaryBackend(target, await observeCanaryBackend(kube, target), what);
};
