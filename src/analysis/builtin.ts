// Built-in checks over ingress-nginx metrics. The canary Ingress' requests keep the stable
// Ingress and Service names in the `ingress` and `service` labels; only the `canary` label tells
// them apart: the canary upstream's name for requests the canary served, "" otherwise.
import { quote, quoteAlternatives } from './promql.ts';
import { countedSince } from './window.ts';

/** The objects one release's queries are about. Names are escaped wherever they are inserted. */
export interface AnalysisTarget {
  namespace: string;
  /** The user's (stable) Deployment. */
  deployment: string;
  /** The canary Deployment, `<deployment>-canary`. */
  canary: string;
  /** The stable Service. */
  service: string;
  /** The stable Ingresses whose traffic is split; empty in replica-ratio and gateway-api mode. */
  ingresses: readonly string[];
  /** gateway-api: the HTTPRoutes whose rules weigh the canary in (Traefik's metrics name them). */
  httpRoutes?: readonly string[] | undefined;
  /** The canary Service; default `<service>-canary`. */
  canaryService?: string | undefined;
  stableHash?: string | undefined;
  canaryHash?: string | undefined;
}

/** The PromQL a check runs: the canary value, and optionally the stable value and the sample size. */
export interface CheckQueries {
  canary: string;
  stable?: string | undefined;
  sample?: string | undefined;
}

export type Track = 'canary' | 'stable';

const REQUESTS = 'nginx_ingress_controller_requests';
const DURATION_BUCKETS = 'nginx_ingress_controller_response_duration_seconds_bucket';

/** The label matchers of one track's ingress-nginx series, `{…}` included. */
export function nginxMatchers(target: AnalysisTarget, track: Track, extra = ''): string {
  const canary = track === 'canary' ? 'canary!=""' : 'canary=""';
  const ingress = `ingress=~${quoteAlternatives(target.ingresses)}`;
  return `{namespace=${quote(target.namespace)},${ingress},service=${quote(target.service)},${canary}${extra}}`;
}

// Every query counts from `fromMs` (window.ts: the later of the window's start, the release's and
// the step's) to the round's instant, series by series (countedSince).

/** Percent of requests (0-100) not answered with a 5xx, since `fromMs`. */
export function successRateQuery(target: AnalysisTarget, track: Track, fromMs: number): string {
  const good = `sum(${countedSince(`${REQUESTS}${nginxMatchers(target, track, ',status!~"5.."')}`, fromMs)})`;
  const all = `sum(${countedSince(`${REQUESTS}${nginxMatchers(target, track)}`, fromMs)})`;
  // No 2xx series at all while some requests were counted is 0 %, not "no data".
  return `100 * (${good} or vector(0)) / ${all}`;
}

/** The `quantile` of response time in seconds, since `fromMs`. */
export function latencyQuery(target: AnalysisTarget, track: Track, fromMs: number, quantile: number): string {
  return `histogram_quantile(${quantile}, sum by (le) ${countedSince(`${DURATION_BUCKETS}${nginxMatchers(target, track)}`, fromMs)})`;
}

/** Number of requests the canary served since `fromMs`: the sample size of both built-in checks. */
export function canaryRequestsQuery(target: AnalysisTarget, fromMs: number): string {
  return `sum(${countedSince(`${REQUESTS}${nginxMatchers(target, 'canary')}`, fromMs)})`;
}
