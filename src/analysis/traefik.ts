// Built-in checks over Traefik's per-backend metrics (`addServicesLabels: true`):
// traefik_service_requests_total{code,method,protocol,service} and
// traefik_service_request_duration_seconds_bucket{…,service,le}. The `service` label names
// Traefik's backend, `<name>@<provider>`; the names below are those Traefik v3.7 builds
// (pkg/provider/kubernetes/ingress-nginx/build.go + translator.go, pkg/provider/kubernetes/
// gateway/httproute.go). Every name canaryd inserts is escaped twice: for the regular
// expression (escapeRegex) and for the PromQL string (quote).
import type { AnalysisTarget, Track } from './builtin.ts';
import { escapeRegex, quote } from './promql.ts';
import { countedSince } from './window.ts';

const REQUESTS = 'traefik_service_requests_total';
const DURATION_BUCKETS = 'traefik_service_request_duration_seconds_bucket';
const NGINX_PROVIDER = '@kubernetesingressnginx';
const GATEWAY_PROVIDER = '@kubernetesgateway';

/**
 * Traefik's provider.Normalize: every run of characters other than letters and digits becomes
 * one "-", none at either end ("web.admin" -> "web-admin").
 */
export function traefikNormalize(name: string): string {
  return (name.match(/[\p{L}\p{N}]+/gu) ?? []).join('-');
}

/** `(?:a|b)` of regex-escaped alternatives, or the one alternative alone. */
function alternatives(values: readonly string[]): string {
  const escaped = values.map(escapeRegex);
  return escaped.length === 1 ? escaped[0]! : `(?:${escaped.join('|')})`;
}

/**
 * The service matchers of one track, for Traefik's ingress-nginx provider. A path of the stable
 * Ingress `<ingress>` to `<service>:<port>` is the backend `<ns>-<ingress>-<service>-<port>`
 * (normalized; the port is its name or number), its canary `…-canary` and their weighted pair
 * `…-wrr`. The port is matched loosely, so the stable track excludes the other two by suffix.
 */
export function traefikIngressNginxMatchers(target: AnalysisTarget, track: Track): string {
  const backends = target.ingresses.map((ingress) =>
    traefikNormalize(`${target.namespace}-${ingress}-${target.service}`),
  );
  const prefix = `${alternatives(backends)}-[^@]+`;
  if (track === 'canary') return `service=~${quote(`${prefix}-canary${NGINX_PROVIDER}`)}`;
  return `service=~${quote(`${prefix}${NGINX_PROVIDER}`)},service!~${quote(`.+-(?:canary|wrr)${NGINX_PROVIDER}`)}`;
}

/**
 * The service matchers of one track, for Traefik's Gateway API provider. The i-th backendRef of
 * a rule of HTTPRoute `<route>` is the backend `<router>-svc-<ns>-<service>-<i>`, where the
 * router's name starts with `httproute-<ns>-<route>-gw-` (normalized) and the Service's
 * namespace and name are written as they are. With no route named, any HTTPRoute matches.
 */
export function traefikGatewayMatchers(target: AnalysisTarget, track: Track): string {
  const routes = target.httpRoutes ?? [];
  const router =
    routes.length === 0
      ? 'httproute-.+'
      : `httproute-${alternatives(routes.map((route) => traefikNormalize(`${target.namespace}-${route}`)))}-gw-.+`;
  const service = track === 'canary' ? canaryServiceOf(target) : target.service;
  return `service=~${quote(`${router}-svc-${escapeRegex(`${target.namespace}-${service}`)}-[0-9]+${GATEWAY_PROVIDER}`)}`;
}

export const canaryServiceOf = (target: AnalysisTarget): string => target.canaryService ?? `${target.service}-canary`;

/** Which Traefik provider serves this release's traffic: its Ingresses, else its HTTPRoutes. */
export function traefikMatchers(target: AnalysisTarget, track: Track): string {
  return target.ingresses.length > 0
    ? traefikIngressNginxMatchers(target, track)
    : traefikGatewayMatchers(target, track);
}

/** Percent of requests (0-100) not answered with a 5xx, since `fromMs` (see builtin.ts). */
export function traefikSuccessRateQuery(target: AnalysisTarget, track: Track, fromMs: number): string {
  const matchers = traefikMatchers(target, track);
  const good = `sum(${countedSince(`${REQUESTS}{${matchers},code!~"5.."}`, fromMs)})`;
  const all = `sum(${countedSince(`${REQUESTS}{${matchers}}`, fromMs)})`;
  return `100 * (${good} or vector(0)) / ${all}`;
}

/** The `quantile` of request duration in seconds, since `fromMs`. */
export function traefikLatencyQuery(target: AnalysisTarget, track: Track, fromMs: number, quantile: number): string {
  return `histogram_quantile(${quantile}, sum by (le) ${countedSince(`${DURATION_BUCKETS}{${traefikMatchers(target, track)}}`, fromMs)})`;
}

/** Number of requests the canary backend served since `fromMs`: the sample size. */
export function traefikCanaryRequestsQuery(target: AnalysisTarget, fromMs: number): string {
  return `sum(${countedSince(`${REQUESTS}{${traefikMatchers(target, 'canary')}}`, fromMs)})`;
}
