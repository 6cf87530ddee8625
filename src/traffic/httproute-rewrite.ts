// The edits the gateway-api router makes to a user's HTTPRoute, pure: route in, rules out.
//
// In each rule whose sole backend is the stable Service, canaryd adds the canary Service as a
// second backendRef (same port, group, kind and backend filters) and weighs the two; tester
// rules (header/cookie matches to the canary only, httproute-testers.ts) are appended. What it
// found is recorded in an annotation on the route (canaryd.dev/httproute, httproute-record.ts),
// so every write starts from the route as the user left it (restoreRules) and the end of a
// release puts it back exactly. Reading the share back is httproute-reading.ts.
//
// Why rules go at the end: Gateway API orders matches by precedence (path, method, number of
// header matches, ...) before rule order, so a tester rule (the user's match plus one header)
// wins over the user's rule wherever it is; appending keeps the user's rule indexes unchanged.
import type { RoutingSpec } from '../policy/schema.ts';
import { TrafficError } from './errors.ts';
import { type BackendRef, type HTTPRoute, isTesterRule, type RouteRule, refersToService } from './httproute.ts';
import {
  type RouteParams,
  type RouteRecord,
  readRecord,
  restoreRules,
  routeName,
  ruleKey,
} from './httproute-record.ts';
import { assertWithinLimits, testerHeaderMatches, testerRule } from './httproute-testers.ts';
import { toNginxWeight } from './weights.ts';

/** Rules whose backends include the stable Service (with a weight), by index. */
const stableRules = (rules: RouteRule[], route: HTTPRoute, params: RouteParams): number[] => {
  const { namespace, service, canaryService } = params;
  const indexes: number[] = [];
  rules.forEach((rule, index) => {
    const refs = rule.backendRefs ?? [];
    const stable = refs.filter((ref) => refersToService(ref, service, namespace));
    if (refs.some((ref) => refersToService(ref, canaryService, namespace))) {
      throw new TrafficError(
        'NotManaged',
        `${routeName(route)} rule ${index} sends to Service ${canaryService}, which canaryd creates and owns during a release; route to Service ${service} only`,
      );
    }
    if (stable.length === 0 || stable.every((ref) => (ref.weight ?? 1) === 0)) return;
    if (stable.length > 1) {
      throw new TrafficError(
        'NotManaged',
        `${routeName(route)} rule ${index} names Service ${service} ${stable.length} times; canaryd splits rules that name it once`,
      );
    }
    const others = refs.filter((ref) => !refersToService(ref, service, namespace)).map((ref) => ref.name);
    if (others.length > 0) {
      throw new TrafficError(
        'NotManaged',
        `${routeName(route)} rule ${index} sends to Service ${service} and to ${others.join(', ')}; canaryd splits only rules whose sole backend is Service ${service}`,
      );
    }
    indexes.push(index);
  });
  return indexes;
};

/** The integer weights for a percent: canary C of total T (0.1 % = 1 : 999). */
export const routeWeights = (percent: number): { canary: number; total: number } => {
  try {
    const { weight, total } = toNginxWeight(percent);
    return { canary: weight, total };
  } catch (error) {
    if (error instanceof TrafficError && Number.isFinite(percent) && percent >= 0 && percent <= 100) {
      throw new TrafficError(
        'InvalidWeight',
        `weight ${percent} % needs more than 3 decimals; the gateway-api router splits in steps of 0.001 % (weights 1 : 99999)`,
      );
    }
    throw error;
  }
};

export interface PlannedRoute {
  rules: RouteRule[];
  record: RouteRecord;
}

/**
 * The route's rules with the canary at `weight` percent (and tester rules when `routing` has a
 * header or cookie; 'keep' keeps the tester rules the route has), from the route as the user
 * left it. At weight 0 the stable backendRef keeps
 * the weight it had; above, stable and canary share a total of 100, 1000, ... (canary C, stable
 * T - C). Refuses rules it cannot split exactly and routes the CRD would reject.
 */
export const planRoute = (
  route: HTTPRoute,
  params: RouteParams,
  weight: number,
  routing: RoutingSpec | undefined | 'keep',
): PlannedRoute => {
  const { canary, total } = routeWeights(weight);
  const headers = routing === 'keep' ? [] : testerHeaderMatches(routing);
  const record = readRecord(route);
  // By name: what an earlier policy of this name left is handed back by the orphan sweep before
  // this one releases anything (controller/orphan-sweep.ts); one restored with its status under a
  // new uid takes its record over (the next write records its uid).
  if (record !== undefined && record.policy !== params.policy) {
    throw new TrafficError(
      'NotManaged',
      `${routeName(route)} carries a canary of policy ${record.policy}; two policies cannot split the same route: finish that release first`,
    );
  }
  const base = restoreRules(route.spec.rules ?? [], record, params);
  const indexes = stableRules(base, route, params);
  if (indexes.length === 0) {
    throw new TrafficError('NoRoute', `${routeName(route)} has no rule that sends to Service ${params.service}`);
  }
  const rules = base.map((rule) => structuredClone(rule));
  const testers: RouteRule[] = [];
  const recorded: RouteRecord['rules'] = [];
  for (const index of indexes) {
    const rule = rules[index]!;
    const refs = rule.backendRefs!;
    const at = refs.findIndex((ref) => refersToService(ref, params.service, params.namespace));
    const stable = refs[at]!;
    recorded.push({ index, key: ruleKey(base[index]!), weight: stable.weight ?? null });
    const canaryRef: BackendRef = { ...stable, name: params.canaryService, weight: canary };
    const stableRef = weight === 0 ? stable : { ...stable, weight: total - canary };
    rule.backendRefs = [...refs.slice(0, at), stableRef, canaryRef, ...refs.slice(at + 1)];
    if (headers.length > 0) testers.push(testerRule(base[index]!, canaryRef, headers, route));
  }
  const kept =
    routing === 'keep'
      ? (route.spec.rules ?? []).filter((rule) => isTesterRule(rule, params.canaryService, params.namespace))
      : [];
  const planned = [...rules, ...testers, ...kept];
  assertWithinLimits(route, planned);
  return {
    rules: planned,
    record: {
      policy: params.policy,
      ...(params.policyUid === undefined ? {} : { policyUid: params.policyUid }),
      service: params.service,
      canaryService: params.canaryService,
      weight,
      rules: recorded,
    },
  };
};
