// The gateway-api router: the canary Service `<service>-canary` (canary pods only) becomes a
// second, weighted backendRef beside the stable Service in each rule of the user's HTTPRoutes
// that sends to it (httproute-rewrite.ts); the stable Service is pinned to the stable pods
// meanwhile, as in ingress mode (selector.ts). The route is written with server-side apply as
// field manager `canaryd`, from a fresh read and with its resourceVersion as a precondition, so
// an edit made in between is never overwritten (the write is retried from the new route).
// The Gateways' verdict (status.parents) gates every non-zero weight.
import { isKubeError, type KubeApi } from '../kube/api.ts';
import type { Deployment, Service } from '../kube/objects.ts';
import type { RoutingSpec } from '../policy/schema.ts';
import { assertCanaryBackend, observeCanaryBackend, withCanaryBackend } from './canary-backend.ts';
import { buildCanaryService, canarySelector, ownedByPolicy, servicesDrift } from './canary-service.ts';
import { endpointSlicesOf, getDeployment, getService, labelSelector, serviceRef } from './cluster.ts';
import { TrafficError } from './errors.ts';
import { type HTTPRoute, httpRouteRef, routeAcceptance } from './httproute.ts';
import {
  canonicalJson,
  planRoute,
  type RouteParams,
  readRecord,
  readRoute,
  restoreRules,
  routeWeights,
  testerHeaderMatches,
} from './httproute-rewrite.ts';
import { HTTPROUTE_RECORD, POD_TEMPLATE_HASH } from './labels.ts';
import { formatShare } from './replica-solver.ts';
import {
  policyKey,
  type RouteLookup,
  type RouteNames,
  type RouteStatus,
  type RouteTarget,
  type SetWeightOptions,
  type TrafficRouter,
} from './router.ts';
import {
  isPinned,
  pinSelectorPatch,
  type ReplicaSet,
  restoreSelectorPatch,
  sameSelector,
  selectorPatch,
  stableTemplateHash,
} from './selector.ts';
import { readyEndpoints } from './share.ts';

/** Writes retried after a resourceVersion conflict (someone wrote the route in between). */
const CONFLICT_RETRIES = 3;

const paramsOf = (target: RouteTarget): RouteParams => ({
  namespace: target.namespace,
  service: target.service,
  canaryService: target.canaryService,
  policy: policyKey(target),
});

type Routing = RoutingSpec | undefined | 'keep';

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
    const names = this.#routes(target);
    // Every check before the first write, so a refused release leaves nothing behind.
    const service = await getService(this.#kube, target.namespace, target.service);
    for (const name of names) {
      const route = await this.#mustGetRoute(target, name);
      planRoute(route, paramsOf(target), readRecord(route)?.weight ?? 0, 'keep');
    }
    const existingCanaryService = await this.#ownCanaryService(target);
    const pin = pinSelectorPatch(service, await this.#stableHash(target));
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
      await this.#write(target, name, (route) => readRecord(route)?.weight ?? 0, 'keep', false);
    }
  }

  desiredCanaryReplicas(target: RouteTarget, weight: number): number {
    // The route sets the share; size the canary to carry it at the stable pods' load, and keep
    // one pod at weight 0 for testers.
    return Math.max(1, Math.ceil((target.stableReplicas * weight) / 100));
  }

  async setWeight(target: RouteTarget, weight: number, options: SetWeightOptions = {}): Promise<RouteStatus> {
    routeWeights(weight); // validates before any call
    if (weight > 0) await this.#assertRoutable(target, `weight ${weight} %`);
    // Weight 0 reads each route once (the rules are one atomic list) and writes it once.
    const routing: Routing = options.dropTesterRouting === true ? undefined : 'keep';
    // Weight 0 also with no route left (its namespace being deleted): nothing routes then.
    const names = weight === 0 ? (target.httpRoutes ?? []) : this.#routes(target);
    for (const name of names) await this.#write(target, name, () => weight, routing, weight === 0);
    return this.observe(target);
  }

  async setTesterRouting(target: RouteTarget, routing: RoutingSpec | undefined): Promise<void> {
    const enabling = testerHeaderMatches(routing).length > 0; // validates before any call
    if (enabling) await this.#assertRoutable(target, 'header/cookie routing');
    for (const name of enabling ? this.#routes(target) : (target.httpRoutes ?? [])) {
      await this.#write(target, name, (route) => readRecord(route)?.weight ?? 0, routing, !enabling);
    }
  }

  async observe(target: RouteTarget): Promise<RouteStatus> {
    const routes = await this.#observeRoutes(target);
    const services = await this.#observeServices(target, routes.anyRecorded);
    const drift = [...routes.drift, ...services.drift];
    const backend = await observeCanaryBackend(this.#kube, target);
    const canaryReady = backend.current;
    const stableReady = readyEndpoints(await endpointSlicesOf(this.#kube, target.namespace, target.service)).length;
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
      router: this.kind,
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
  }

  /** The routes as written and as their Gateways see them. */
  async #observeRoutes(target: RouteTarget) {
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
      const route = await this.#kube.get<HTTPRoute>(httpRouteRef(target.namespace, name));
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
  }

  /** The stable Service's pin and the canary Service's selector. */
  async #observeServices(target: RouteTarget, routesRecorded: boolean) {
    const service = await this.#kube.get<Service>(serviceRef(target.namespace, target.service));
    const pinned = service !== null && isPinned(service) && service.spec.selector?.[POD_TEMPLATE_HASH] !== undefined;
    const found = await this.#kube.get<Service>(serviceRef(target.namespace, target.canaryService));
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
    for (const name of new Set([...(target.httpRoutes ?? []), ...ours])) await this.#restore(target, name);
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

  #routes(target: RouteTarget): string[] {
    const names = target.httpRoutes ?? [];
    if (names.length === 0) {
      throw new TrafficError(
        'NoRoute',
        `policy ${policyKey(target)}: the gateway-api router needs at least one HTTPRoute that sends to Service ${target.service}`,
      );
    }
    return names;
  }

  async #mustGetRoute(target: RouteTarget, name: string): Promise<HTTPRoute> {
    const route = await this.#kube.get<HTTPRoute>(httpRouteRef(target.namespace, name));
    if (route === null) {
      throw new TrafficError(
        'NotFound',
        `HTTPRoute ${target.namespace}/${name} does not exist; check target.httpRoutes of the policy`,
      );
    }
    return route;
  }

  /**
   * Reads the route and applies the plan for `weight(route)` when it differs from the route as
   * it is. `missingOk`: a route that is gone, or carries no canary, already routes nothing to it.
   */
  async #write(
    target: RouteTarget,
    name: string,
    weight: (route: HTTPRoute) => number,
    routing: Routing,
    missingOk: boolean,
  ): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const route = await this.#kube.get<HTTPRoute>(httpRouteRef(target.namespace, name));
      if (route === null || (missingOk && readRecord(route) === undefined)) {
        if (missingOk) return;
        throw new TrafficError(
          'NotPrepared',
          `HTTPRoute ${target.namespace}/${name} ${route === null ? 'does not exist' : 'carries no canary'}; call prepare first`,
        );
      }
      const planned = planRoute(route, paramsOf(target), weight(route), routing);
      const record = JSON.stringify(planned.record);
      const unchanged =
        route.metadata.annotations?.[HTTPROUTE_RECORD] === record &&
        canonicalJson(route.spec.rules ?? []) === canonicalJson(planned.rules);
      if (unchanged) return;
      try {
        await this.#kube.apply(applyConfiguration(route, planned.rules, record));
        return;
      } catch (error) {
        if (!isKubeError(error, 'Conflict') || attempt >= CONFLICT_RETRIES) throw error;
      }
    }
  }

  /** Puts one route back as recorded; a route that is gone or was never touched is fine. */
  async #restore(target: RouteTarget, name: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const route = await this.#kube.get<HTTPRoute>(httpRouteRef(target.namespace, name));
      if (route === null) return;
      const record = readRecordOrUndefined(route);
      if (record === undefined || record.policy !== policyKey(target)) return;
      const rules = restoreRules(route.spec.rules ?? [], record, paramsOf(target));
      try {
        // Without the annotation: server-side apply removes a field its manager leaves out.
        await this.#kube.apply(applyConfiguration(route, rules, undefined));
        return;
      } catch (error) {
        if (isKubeError(error, 'NotFound')) return;
        if (!isKubeError(error, 'Conflict') || attempt >= CONFLICT_RETRIES) throw error;
      }
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

  /** The canary Service when it is already ours, null when absent; refuses someone else's. */
  async #ownCanaryService(target: RouteTarget): Promise<Service | null> {
    const existing = await this.#kube.get<Service>(serviceRef(target.namespace, target.canaryService));
    if (existing === null || ownedByPolicy(existing, target)) return existing;
    throw new TrafficError(
      'NotManaged',
      `Service ${target.namespace}/${target.canaryService} exists and is not canaryd's canary Service for policy ${policyKey(target)}; rename or delete it`,
    );
  }

  /**
   * Invariant 1 (ready canary endpoints, stable Service pinned) and the Gateways' word: no
   * weight to a canary backendRef a Gateway has not accepted.
   */
  async #assertRoutable(target: RouteTarget, what: string): Promise<void> {
    const service = await getService(this.#kube, target.namespace, target.service);
    if (!isPinned(service)) {
      throw new TrafficError(
        'NotPrepared',
        `Service ${target.namespace}/${target.service} is not pinned to the stable pods; call prepare before routing ${what} to the canary`,
      );
    }
    assertCanaryBackend(target, await observeCanaryBackend(this.#kube, target), what);
    for (const name of this.#routes(target)) {
      const route = await this.#mustGetRoute(target, name);
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
  }
}

/** The record, or undefined when there is none or it is unreadable (cleanup leaves such a route alone). */
const readRecordOrUndefined = (route: HTTPRoute) => {
  try {
    return readRecord(route);
  } catch {
    // A malformed record is reported by observe (readRoute throws it to the status); cleanup
    // must still restore the Services.
    return undefined;
  }
};

/**
 * What canaryd applies: identity, the resourceVersion it planned from (a precondition), its
 * record annotation and the rules (an atomic list: the whole list is the field it sets).
 */
const applyConfiguration = (route: HTTPRoute, rules: HTTPRoute['spec']['rules'], record: string | undefined) => ({
  apiVersion: route.apiVersion,
  kind: route.kind,
  metadata: {
    name: route.metadata.name,
    namespace: route.metadata.namespace,
    ...(route.metadata.resourceVersion === undefined ? {} : { resourceVersion: route.metadata.resourceVersion }),
    ...(record === undefined ? {} : { annotations: { [HTTPROUTE_RECORD]: record } }),
  },
  spec: { rules },
});
