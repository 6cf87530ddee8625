// Tester routing on an HTTPRoute, pure: the policy's header or cookie as header matches, the
// tester rule (the user's matches plus that header, to the canary only) and the HTTPRoute CRD's
// limits that those extra rules and matches can run into. Its own file because only tester
// routing adds rules and matches: weighing the canary in (httproute-rewrite.ts) never does.
import type { RoutingSpec } from '../policy/schema.ts';
import { testerRoutingProblems } from './canary-ingress.ts';
import { TrafficError } from './errors.ts';
import type { BackendRef, HeaderMatch, HTTPRoute, RouteMatch, RouteRule } from './httproute.ts';
import { routeName } from './httproute-record.ts';

/** Limits of the HTTPRoute CRD (v1.4): rules per route, matches per rule and per route. */
export const MAX_RULES = 16;
export const MAX_MATCHES_PER_RULE = 64;
export const MAX_MATCHES_PER_ROUTE = 128;
/** The match a rule without matches has (the API server's default). */
const DEFAULT_MATCH: RouteMatch = { path: { type: 'PathPrefix', value: '/' } };

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

export const testerRule = (
  rule: RouteRule,
  canaryRef: BackendRef,
  headers: HeaderMatch[],
  route: HTTPRoute,
): RouteRule => {
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

export const assertWithinLimits = (route: HTTPRoute, rules: RouteRule[]): void => {
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
