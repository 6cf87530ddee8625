// The gateway-api router: the canary Service `<service>-canary` (canary pods only) becomes a
// second, weighted backendRef beside the stable Service in each rule of the user's HTTPRoutes
// that sends to it (httproute-rewrite.ts); the stable Service is pinned to the stable pods
// meanwhile, as in ingress mode (selector.ts). The route is written with server-side apply from a
// fresh read, retried on a conflict (httproute-apply.ts); the Gateways' verdict (status.parents)
// gates every non-zero weight (gateway-api-checks.ts); observe() is gateway-api-observe.ts.
import { isKubeError, type KubeApi } from '../kube/api.ts';
import type { Deployment, Service } from '../kube/objects.ts';
import type { RoutingSpec } from '../policy/schema.ts';
import { ownCanaryService } from './canary-refusals.ts';
import { buildCanaryService, canarySelector, ownedByPolicy } from './canary-service.ts';
import { getDeployment, getService, labelSelector, serviceRef } from './cluster.ts';
import { assertRoutable, mustGetRoute, routesOf } from './gateway-api-checks.ts';
import { observeGatewayApi } from './gateway-api-observe.ts';
import type { HTTPRoute } from './httproute.ts';
import { paramsOf, type Routing, readRecordOrUndefined, restoreRoute, writeRoute } from './httproute-apply.ts';
import { readRecord } from './httproute-record.ts';
import { planRoute, routeWeights } from './httproute-rewrite.ts';
import { testerHeaderMatches } from './httproute-testers.ts';
import {
  policyKey,
  policyMark,
  type RouteLookup,
  type RouteNames,
  type RouteStatus,
  type RouteTarget,
  type SetWeightOptions,
  type TrafficRouter,
} from './router.ts';
import {
  pinSelectorPatch,
  type ReplicaSet,
  restoreSelectorPatch,
  sameSelector,
  selectorPatch,
  stableTemplateHash,
} from './selector.ts';

export class GatewayApiRouter implements TrafficRouter {
  readonly kind = 'gateway-api' as const;
  readonly canaryPodsCarryTraffic = false;
  readonly pinsStableService = true;
  readonly canRouteTesters = true;
  readonly #kube: KubeApi;

  constructor(kube: KubeApi) {
    this.#kube = kube;
  }

  async routesOfRelease(lookup: RouteLookup): Promise<RouteNames> {
    const { named } = lookup;
    if (named.httpRoutes.length > 0) return named;
    const found = lookup.choose().then((choice) => choice.httpRoutes);
    // A deleted policy hands back what it finds: no route left (its namespace being deleted) is
    // nothing to restore, not an error.
    return { ...named, httpRoutes: await (lookup.deleting ? found.catch(() => []) : found) };
  }

  async prepare(target: RouteTarget): Promise<void> {
    const names = routesOf(target);
    // Every check before the first write, so a refused release leaves nothing behind.
    const service = await getService(this.#kube, target.namespace, target.service);
    for (const name of names) {
      const route = await mustGetRoute(this.#kube, target, name);
      planRoute(route, paramsOf(target), readRecord(route)?.weight ?? 0, 'keep');
    }
    const existingCanaryService = await ownCanaryService(this.#kube, target);
    const pin = pinSelectorPatch(service, await this.#stableHash(target), policyMark(target));
    if (pin !== undefined) await this.#kube.mergePatch(serviceRef(target.namespace, target.service), pin);
    // The canary Service before the backendRef that names it: else the Gateway reports
    // ResolvedRefs False (BackendNotFound) for the route.
    if (existingCanaryService === null) {
      await this.#kube.create(buildCanaryService(service, target.canaryService, policyKey(target), target.owner));
    } else {
      const wanted = canarySelector(service);
      const selector = existingCanaryService.spec.selector ?? {};
      if (!sameSelector(selector, wanted)) {
        await this.#kube.mergePatch(serviceRef(target.namespace, target.canaryService), {
          spec: { selector: selectorPatch(selector, wanted) },
        });
      }
    }
    for (const name of names) {
      await writeRoute(this.#kube, target, name, (route) => readRecord(route)?.weight ?? 0, 'keep', false);
    }
  }

  desiredCanaryReplicas(target: RouteTarget, weight: number): number {
    // The route sets the share; size the canary to carry it at the stable pods' load, and keep
    // one pod at weight 0 for testers.
    return Math.max(1, Math.ceil((target.stableReplicas * weight) / 100));
  }

  async setWeight(target: RouteTarget, weight: number, options: SetWeightOptions = {}): Promise<RouteStatus> {
    routeWeights(weight); // validates before any call
    if (weight > 0) await assertRoutable(this.#kube, target, `weight ${weight} %`);
    // Weight 0 reads each route once (the rules are one atomic list) and writes it once.
    const routing: Routing = options.dropTesterRouting === true ? undefined : 'keep';
    // Weight 0 also with no route left (its namespace being deleted): nothing routes then.
    const names = weight === 0 ? (target.httpRoutes ?? []) : routesOf(target);
    for (const name of names) await writeRoute(this.#kube, target, name, () => weight, routing, weight === 0);
    return this.observe(target);
  }

  async setTesterRouting(target: RouteTarget, routing: RoutingSpec | undefined): Promise<void> {
    const enabling = testerHeaderMatches(routing).length > 0; // validates before any call
    if (enabling) await assertRoutable(this.#kube, target, 'header/cookie routing');
    for (const name of enabling ? routesOf(target) : (target.httpRoutes ?? [])) {
      await writeRoute(this.#kube, target, name, (route) => readRecord(route)?.weight ?? 0, routing, !enabling);
    }
  }

  observe(target: RouteTarget): Promise<RouteStatus> {
    return observeGatewayApi(this.#kube, target);
  }

  async cleanup(target: RouteTarget): Promise<void> {
    // The routes first, so no backendRef ever names a Service that is gone. Routes of this
    // policy that are no longer in the target (a policy edited mid-release) are put back too.
    const recorded = await this.#kube
      .list<HTTPRoute>('gateway.networking.k8s.io/v1', 'HTTPRoute', target.namespace)
      .catch((error: unknown) => {
        if (isKubeError(error, 'NotFound')) return []; // the Gateway API CRDs are gone: no route left
        throw error;
      });
    const ours = recorded
      .filter((route) => readRecordOrUndefined(route)?.policy === policyKey(target))
      .map((route) => route.metadata.name);
    for (const name of new Set([...(target.httpRoutes ?? []), ...ours])) await restoreRoute(this.#kube, target, name);
    const canaryService = await this.#kube.get<Service>(serviceRef(target.namespace, target.canaryService));
    if (canaryService !== null && ownedByPolicy(canaryService, target)) {
      await this.#kube.delete(serviceRef(target.namespace, target.canaryService));
    }
    const service = await this.#kube.get<Service>(serviceRef(target.namespace, target.service));
    const restore = service === null ? undefined : restoreSelectorPatch(service);
    if (restore !== undefined) {
      await this.#kube.mergePatch(serviceRef(target.namespace, target.service), restore).catch((error: unknown) => {
        if (!isKubeError(error, 'NotFound')) throw error; // deleted meanwhile: nothing to restore
      });
    }
  }

  async #stableHash(target: RouteTarget): Promise<string> {
    const deployment: Deployment = await getDeployment(this.#kube, target.namespace, target.deployment);
    const replicaSets = await this.#kube.list<ReplicaSet>(
      'apps/v1',
      'ReplicaSet',
      target.namespace,
      labelSelector(deployment.spec.selector.matchLabels ?? {}),
    );
    return stableTemplateHash(deployment, replicaSets);
  }
}
