// The record canaryd leaves on a user's HTTPRoute (annotation canaryd.dev/httproute) and the
// route as the user left it, rebuilt from that record (restoreRules). Pure. Its own file because
// every other step starts here: planning (httproute-rewrite.ts) rewrites from the restored rules,
// reading (httproute-reading.ts) compares against the record, and the end of a release
// (httproute-apply.ts) writes the restored rules back.
import { z } from 'zod';
import { canonicalJson } from '../kube/canonical-json.ts';
import { TrafficError } from './errors.ts';
import { type BackendRef, type HTTPRoute, isTesterRule, type RouteRule, refersToService } from './httproute.ts';
import { HTTPROUTE_RECORD } from './labels.ts';
import { markOf, type PolicyMark } from './policy-mark.ts';

const recordSchema = z.object({
  policy: z.string(),
  /** The policy's uid (since 2026-12-05; policy-mark.ts). */
  policyUid: z.string().optional(),
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
  /** The owner's uid, when known. */
  policyUid?: string;
}

/** The policy a record names (policy-mark.ts). */
export const markOfRecord = (record: RouteRecord): PolicyMark => markOf(record.policy, record.policyUid);

export const routeName = (route: HTTPRoute) => `HTTPRoute ${route.metadata.namespace ?? ''}/${route.metadata.name}`;

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
