// The gateway-api router's writes to a user's HTTPRoute: the planned rules (httproute-rewrite.ts)
// on, or the rules as the user left them (restoreRules) back. The route is written with
// server-side apply as field manager `canaryd`, from a fresh read and with its resourceVersion as
// a precondition, so an edit made in between is never overwritten (the write is retried from the
// new route). Its own file because this read-plan-apply loop is the one place the router changes
// a route; gateway-api.ts decides when, and what weight and tester routing to ask for.
import { isKubeError, type KubeApi } from '../kube/api.ts';
import { sameJson } from '../kube/canonical-json.ts';
import type { RoutingSpec } from '../policy/schema.ts';
import { TrafficError } from './errors.ts';
import { type HTTPRoute, httpRouteRef } from './httproute.ts';
import { markOfRecord, type RouteParams, readRecord, restoreRules } from './httproute-record.ts';
import { planRoute } from './httproute-rewrite.ts';
import { HTTPROUTE_RECORD } from './labels.ts';
import { isOwnMark, type PolicyMark } from './policy-mark.ts';
import { policyKey, type RouteTarget } from './router.ts';

/** Writes retried after a resourceVersion conflict (someone wrote the route in between). */
const CONFLICT_RETRIES = 3;

export const paramsOf = (target: RouteTarget): RouteParams => ({
  namespace: target.namespace,
  service: target.service,
  canaryService: target.canaryService,
  policy: policyKey(target),
  ...(target.owner === undefined ? {} : { policyUid: target.owner.uid }),
});

export type Routing = RoutingSpec | undefined | 'keep';

/**
 * Reads the route and applies the plan for `weight(route)` when it differs from the route as
 * it is. `missingOk`: a route that is gone, or carries no canary, already routes nothing to it.
 */
export const writeRoute = async (
  kube: KubeApi,
  target: RouteTarget,
  name: string,
  weight: (route: HTTPRoute) => number,
  routing: Routing,
  missingOk: boolean,
): Promise<void> => {
  for (let attempt = 0; ; attempt++) {
    const route = await kube.get<HTTPRoute>(httpRouteRef(target.namespace, name));
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
      route.metadata.annotations?.[HTTPROUTE_RECORD] === record && sameJson(route.spec.rules ?? [], planned.rules);
    if (unchanged) return;
    try {
      await kube.apply(applyConfiguration(route, planned.rules, record));
      return;
    } catch (error) {
      if (!isKubeError(error, 'Conflict') || attempt >= CONFLICT_RETRIES) throw error;
    }
  }
};

/** Puts one route back as recorded; a route that is gone or was never touched is fine. */
export const restoreRoute = async (kube: KubeApi, target: RouteTarget, name: string): Promise<void> => {
  // By name (no uid): the record of this policy, whatever uid it was written under.
  await restoreRecordedRoute(kube, target.namespace, name, { policy: policyKey(target) });
};

/**
 * Puts one route back as the policy `mark` names recorded it, from the record alone (the
 * Services it names): also for a policy that is gone (controller/orphan-sweep.ts), whose mark
 * carries its uid, so a record a policy of the same name wrote since is left alone. Answers
 * whether it wrote; a route that is gone, never touched or another policy's is left as it is.
 */
export const restoreRecordedRoute = async (
  kube: Pick<KubeApi, 'get' | 'apply'>,
  namespace: string,
  name: string,
  mark: PolicyMark,
): Promise<boolean> => {
  for (let attempt = 0; ; attempt++) {
    const route = await kube.get<HTTPRoute>(httpRouteRef(namespace, name));
    if (route === null) return false;
    const record = readRecordOrUndefined(route);
    if (record === undefined || !isOwnMark(markOfRecord(record), mark)) return false;
    const { service, canaryService } = record;
    const rules = restoreRules(route.spec.rules ?? [], record, { namespace, service, canaryService });
    try {
      // Without the annotation: server-side apply removes a field its manager leaves out.
      await kube.apply(applyConfiguration(route, rules, undefined));
      return true;
    } catch (error) {
      if (isKubeError(error, 'NotFound')) return false;
      if (!isKubeError(error, 'Conflict') || attempt >= CONFLICT_RETRIES) throw error;
    }
  }
};

/** The record, or undefined when there is none or it is unreadable (cleanup leaves such a route alone). */
export const readRecordOrUndefined = (route: HTTPRoute) => {
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
