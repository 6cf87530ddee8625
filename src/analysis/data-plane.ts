// The built-in checks' queries for each data plane's metrics (spec.analysis.metrics). Keyed by
// whose metrics Prometheus holds, not by traffic router: Traefik serves both the ingress-nginx
// annotations and Gateway API, and reports both through the same series.
import type { DataPlaneMetrics } from '../policy/schema.ts';
import { type AnalysisTarget, canaryRequestsQuery, latencyQuery, successRateQuery, type Track } from './builtin.ts';
import { traefikCanaryRequestsQuery, traefikLatencyQuery, traefikSuccessRateQuery } from './traefik.ts';

export interface BuiltinQueries {
  /** Percent (0-100) of the track's requests not answered with a 5xx, since `fromMs` (unix ms). */
  successRate(target: AnalysisTarget, track: Track, fromMs: number): string;
  /** The quantile of the track's request duration in seconds, since `fromMs`. */
  latency(target: AnalysisTarget, track: Track, fromMs: number, quantile: number): string;
  /** Requests the canary served since `fromMs`: the sample size of both checks. */
  canaryRequests(target: AnalysisTarget, fromMs: number): string;
  /** Why these series cannot describe this release (nothing routes through them), or null. */
  unusable(target: AnalysisTarget): string | null;
}

export const BUILTIN_QUERIES: Record<DataPlaneMetrics, BuiltinQueries> = {
  'ingress-nginx': {
    successRate: successRateQuery,
    latency: latencyQuery,
    canaryRequests: canaryRequestsQuery,
    unusable: (target) => (target.ingresses.length === 0 ? 'needs an ingress-nginx Ingress; there is none' : null),
  },
  traefik: {
    successRate: traefikSuccessRateQuery,
    latency: traefikLatencyQuery,
    canaryRequests: traefikCanaryRequestsQuery,
    unusable: (target) =>
      target.ingresses.length === 0 && (target.httpRoutes ?? []).length === 0
        ? "on Traefik's metrics needs an Ingress or an HTTPRoute in front of the Service; there is none"
        : null,
  },
};
