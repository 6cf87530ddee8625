// The edits the gateway-api router makes to a user's HTTPRoute, pure: route in, rules out.
//
// In each rule whose sole backend is the stable Service, canaryd adds the canary Service as a
// second backendRef (same port, group, kind and backend filters) and weighs the two; tester
// rules (header/cookie matches to the canary only) are appended. What it found is recorded in
// an annotation on the route (canaryd.dev/httproute), so every write starts from the route as
// the user left it (restoreRules) and the end of a release puts it back exactly.
//
// Why rules go at the end: Gateway API orders matches by precedence (path, method, number of
// header matches, ...) before rule order, so a tester rule (the user's match plus one header)
// wins over the user's rule wherever it is; appending keeps the user's rule indexes unchanged.
import { z } from 'zod';
import type { RoutingSpec } from '../policy/schema.ts';
import { testerRoutingProblems } from './canary-ingress.ts';
import { TrafficError } from './errors.ts';
import {
  type BackendRef,
  type HeaderMatch,
  type HTTPRoute,
  isTesterRule,
  type RouteMatch,
  type RouteRule,
  refersToService,
} from './httproute.ts';
import { HTTPROUTE_RECORD } from './labels.ts';
import { toNginxWeight } from './weights.ts';

/** Limits of the HTTPRoute CRD (v1.4): rules per route, matches per rule and per route. */
export const MAX_RULES = 16;
export const MAX_MATCHES_PER_RULE = 64;
export const MAX_MATCHES_PER_ROUTE = 128;
/** The match a rule without matches has (the API server's default). */
const DEFAULT_MATCH: RouteMatch = { path: { type: 'PathPrefix', value: '/' } };

const recordSchema = z.object({
  policy: z.string(),
  service: z.string(),
  canaryService: z.string(),
  /** The percent canaryd last wrote. */
  weight: z.number().min(0).max(100),
  /** Every rule canaryd weighs: where it was, how to find it again, the stable weight as found. */
  rules: z.array(z.object({ index: z.number().int().min(0), key: z.string(), weight: z.number().nullable() })),
});
export type RouteRecord = z.infer<typeof recordSchema>;

export interface RouteParams {
  namespace: string;
  service: string;
  canaryService: string;
  /** "<namespace>/<policy>", the owner recorded on the route. */
  policy: string;
}

const routeName = (route: HTTPRoute) => `HTTPRoute ${route.metadata.namespace ?? ''}/${route.metadata.name}`;

/** The record canaryd left on the route, undefined when none; refuses a malformed one. */
export const readRecord = (route: HTTPRoute): RouteRecord | undefined => {
  const raw = route.metadata.annotations?.[HTTPROUTE_RECORD];
  if (raw === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (cause) {
    throw new TrafficError(
      'NotManaged',
      `${routeName(route)}: annotation ${HTTPROUTE_RECORD} is not JSON; remove canaryd's backendRefs by hand, then the annotation`,
      { cause },
    );
  }
  const result = recordSchema.safeParse(parsed);
  if (!result.success) {
    throw new TrafficError(
      'NotManaged',
      `${routeName(route)}: annotation ${HTTPROUTE_RECORD} is not a record canaryd wrote; remove canaryd's backendRefs by hand, then the annotation`,
    );
  }
  return result.data;
};

/**
 * JSON with object keys sorted: the API server serializes a custom resource's maps in its own
 * key order, which need not be the order canaryd built them in.
 */
export const canonicalJson = (value: unknown): string =>
  JSON.stringify(value, (_key, inner: unknown) =>
    inner !== null && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : inner,
  );

/** How a rule is found again: its name when it has one, else its matches. */
export const ruleKey = (rule: RouteRule): string =>
  rule.name !== undefined ? `name:${rule.name}` : `matches:${canonicalJson(rule.matches ?? null)}`;

const withoutCanary = (rule: RouteRule, canaryService: string, namespace: string): RouteRule => {
  if (rule.backendRefs === undefined) return rule;
  const kept = rule.backendRefs.filter((ref) => !refersToService(ref, canaryService, namespace));
  return kept.length === rule.backendRefs.length ? rule : { ...rule, backendRefs: kept };
};

const withWeight = (ref: BackendRef, weight: number | null): BackendRef => {
  if (weight !== null) return { ...ref, weight };
  const { weight: _dropped, ...rest } = ref;
  return rest;
};

/**
 * The rules as the user left them: canaryd's tester rules and canary backendRefs removed, the
 * stable weights it changed put back. Edits others made meanwhile (a rule added, a path
 * changed) are kept. Without a record the rules are the user's as they are: canaryd writes the
 * record in the same write as its first edit.
 */
export const restoreRules = (
  rules: RouteRule[],
  record: RouteRecord | undefined,
  params: Pick<RouteParams, 'namespace' | 'service' | 'canaryService'>,
): RouteRule[] => {
  const { namespace, service, canaryService } = params;
  if (record === undefined) return rules;
  const restored = rules
    .filter((rule) => !isTesterRule(rule, canaryService, namespace))
    .map((rule) => withoutCanary(rule, canaryService, namespace));
  const taken = new Set<number>();
  for (const recorded of record.rules) {
    const sends = (index: number) =>
      !taken.has(index) &&
      restored[index] !== undefined &&
      ruleKey(restored[index]) === recorded.key &&
      (restored[index].backendRefs ?? []).some((ref) => refersToService(ref, service, namespace));
    const index = sends(recorded.index) ? recorded.index : restored.findIndex((_, candidate) => sends(candidate));
    if (index < 0) continue; // the user removed or rewrote that rule: nothing of ours left in it
    taken.add(index);
    const rule = restored[index]!;
    restored[index] = {
      ...rule,
      backendRefs: (rule.backendRefs ?? []).map((ref) =>
        refersToService(ref, service, namespace) ? withWeight(ref, recorded.weight) : ref,
      ),
    };
  }
  return restored;
};

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

const ESCAPE = /[.*+?^${}()|[\]\\]/g;

/** The header matches that select testers: the policy's header, and the cookie as a `Cookie` header regex. */
export const testerHeaderMatches = (routing: RoutingSpec | undefined): HeaderMatch[] => {
  const problems = testerRoutingProblems(routing);
  if (problems.length > 0) throw new TrafficError('InvalidRouting', problems.join('; '));
  const matches: HeaderMatch[] = [];
  const header = routing?.header;
  if (header !== undefined) {
    matches.push(
      header.pattern !== undefined
        ? { type: 'RegularExpression', name: header.name, value: header.pattern }
        : { type: 'Exact', name: header.name, value: header.value ?? 'always' },
    );
  }
  if (routing?.cookie !== undefined) {
    // Gateway API has no cookie match; a cookie is a `Cookie` request header, and
    // RegularExpression header matches are implementation-specific (Traefik, Envoy, Istio: RE2).
    const name = routing.cookie.replace(ESCAPE, '\\$&');
    matches.push({ type: 'RegularExpression', name: 'Cookie', value: `(^|;\\s*)${name}=always(;|$)` });
  }
  return matches;
};

const testerRule = (rule: RouteRule, canaryRef: BackendRef, headers: HeaderMatch[], route: HTTPRoute): RouteRule => {
  const { backendRefs: _refs, name: _name, matches, ...rest } = rule;
  const testerMatches = (matches ?? [DEFAULT_MATCH]).flatMap((match) =>
    headers.map((header) => {
      const own = match.headers ?? [];
      if (own.some((existing) => existing.name.toLowerCase() === header.name.toLowerCase())) {
        throw new TrafficError(
          'InvalidRouting',
          `${routeName(route)} already matches on header ${header.name}; pick another tester header in spec.routing`,
        );
      }
      return { ...match, headers: [...own, header] };
    }),
  );
  return { ...rest, matches: testerMatches, backendRefs: [{ ...canaryRef, weight: 1 }] };
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
      service: params.service,
      canaryService: params.canaryService,
      weight,
      rules: recorded,
    },
  };
};

const assertWithinLimits = (route: HTTPRoute, rules: RouteRule[]): void => {
  const why = 'drop tester routing (spec.routing) or split the route';
  if (rules.length > MAX_RULES) {
    throw new TrafficError(
      'InvalidRouting',
      `${routeName(route)} would have ${rules.length} rules with canaryd's tester rules, above the ${MAX_RULES} an HTTPRoute allows; ${why}`,
    );
  }
  let total = 0;
  rules.forEach((rule, index) => {
    const count = (rule.matches ?? [DEFAULT_MATCH]).length;
    total += count;
    if (count > MAX_MATCHES_PER_RULE) {
      throw new TrafficError(
        'InvalidRouting',
        `${routeName(route)} rule ${index} would have ${count} matches, above the ${MAX_MATCHES_PER_RULE} an HTTPRoute rule allows; ${why}`,
      );
    }
  });
  if (total > MAX_MATCHES_PER_ROUTE) {
    throw new TrafficError(
      'InvalidRouting',
      `${routeName(route)} would have ${total} matches, above the ${MAX_MATCHES_PER_ROUTE} an HTTPRoute allows; ${why}`,
    );
  }
};

export interface RouteReading {
  /** The percent canaryd last wrote (the record), 0 without one. */
  requested: number;
  /** The canary's share as the route is written: the largest over the weighed rules. */
  achieved: number;
  /** Per weighed rule, "canary/total", for the status detail. */
  shown: string[];
  /** Tester rules are on the route. */
  testers: boolean;
  /** Differences from what canaryd wrote, in words. */
  drift: string[];
}

/** Reads the canary's share back from the route as the Gateway would act on it. */
export const readRoute = (route: HTTPRoute, params: RouteParams): RouteReading => {
  const { namespace, service, canaryService } = params;
  const record = readRecord(route);
  const rules = route.spec.rules ?? [];
  const reading: RouteReading = {
    requested: record?.weight ?? 0,
    achieved: 0,
    shown: [],
    testers: rules.some((rule) => isTesterRule(rule, canaryService, namespace)),
    drift: [],
  };
  const name = routeName(route);
  if (record === undefined) {
    reading.drift.push(`${name} carries no canary of canaryd (annotation ${HTTPROUTE_RECORD} is missing)`);
    return reading;
  }
  const userRules = rules.filter((rule) => !isTesterRule(rule, canaryService, namespace));
  userRules.forEach((rule, index) => {
    const refs = rule.backendRefs ?? [];
    const stable = refs.find((ref) => refersToService(ref, service, namespace));
    if (stable === undefined) return;
    const canaryRef = refs.find((ref) => refersToService(ref, canaryService, namespace));
    if (canaryRef === undefined) {
      if ((stable.weight ?? 1) > 0) reading.drift.push(`${name} rule ${index} has no backendRef to ${canaryService}`);
      return;
    }
    const canaryWeight = canaryRef.weight ?? 1;
    const sum = refs.reduce((total, ref) => total + (ref.weight ?? 1), 0);
    const share = sum === 0 ? 0 : (canaryWeight * 100) / sum;
    reading.achieved = Math.max(reading.achieved, share);
    reading.shown.push(`${name} rule ${index} ${canaryWeight}/${sum}`);
    if (Math.abs(share - record.weight) > 1e-9) {
      reading.drift.push(
        `${name} rule ${index} sends ${formatPercent(share)} to ${canaryService} (weight ${canaryWeight} of ${sum}) but canaryd set ${formatPercent(record.weight)}`,
      );
    }
  });
  return reading;
};

const formatPercent = (percent: number): string => `${Math.round(percent * 1000) / 1000} %`;
