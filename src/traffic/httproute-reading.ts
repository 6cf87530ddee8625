// The canary's share read back from an HTTPRoute, pure: what canaryd asked for (its record),
// what the rules as written send to the canary Service, and the difference in words. Its own
// file because it is the observing side: it never plans or refuses a write, it reports what the
// route is (gateway-api-observe.ts turns it into the router's status).
import { type HTTPRoute, isTesterRule, refersToService } from './httproute.ts';
import { type RouteParams, readRecord, routeName } from './httproute-record.ts';
import { HTTPROUTE_RECORD } from './labels.ts';

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
