// Built-in checks over ingress-nginx metrics. The canary Ingress' requests keep the stable
// Ingress and Service names in the `ingress` and `service` labels; only the `canary` label tells
// them apart: the canary upstream's name for requests the canary served, "" otherwise.
import { promDuration, quote, quoteAlternatives } from './promql.ts';

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

/** Percent of requests (0-100) not answered with a 5xx, over the window. */
export function successRateQuery(target: AnalysisTarget, track: Track, windowMs: number): string {
  const range = `[${promDuration(windowMs)}]`;
  const good = `sum(rate(${REQUESTS}${nginxMatchers(target, track, ',status!~"5.."')}${range}))`;
  const all = `sum(rate(${REQUESTS}${nginxMatchers(target, track)}${range}))`;
  return `100 * ${good} / ${all}`;
}

/** The `quantile` of response time in seconds, over the window. */
export function latencyQuery(target: AnalysisTarget, track: Track, windowMs: number, quantile: number): string {
  const range = `[${promDuration(windowMs)}]`;
  return `histogram_quantile(${quantile}, sum by (le) (rate(${DURATION_BUCKETS}${nginxMatchers(target, track)}${range})))`;
}

/** Number of requests the canary served in the window: the sample size of both built-in checks. */
export function canaryRequestsQuery(target: AnalysisTarget, windowMs: number): string {
  return `sum(increase(${REQUESTS}${nginxMatchers(target, 'canary')}[${promDuration(windowMs)}]))`;
}
