// The count queries of a sequential check: per track, how many requests there were and how many
// failed (5xx) or were slow, over the range since the evidence started. Built-in for each data
// plane's metrics, or the policy's own PromQL (`counts`).
import type { CheckSpec, DataPlaneMetrics } from '../policy/schema.ts';
import { type AnalysisTarget, nginxMatchers, type Track } from './builtin.ts';
import { escapeRegex, promDuration, quote, renderQuery } from './promql.ts';
import { traefikMatchers } from './traefik.ts';
import { countedSince } from './window.ts';

/**
 * One track's queries. `failed` counts bad requests directly; latency counts the good ones
 * (`fast`, the histogram bucket at `slowerThan`) and the check subtracts them from `total`.
 */
export interface TrackCountQueries {
  total: string;
  failed?: string;
  fast?: string;
}

export type SequentialCountQueries = Record<Track, TrackCountQueries>;

export type SequentialMetric = 'errorRate' | 'latency';

interface Series {
  requests: string;
  durationCount: string;
  durationBucket: string;
  /** The label holding the HTTP status code. */
  code: string;
  matchers(target: AnalysisTarget, track: Track): string;
}

const SERIES: Record<DataPlaneMetrics, Series> = {
  'ingress-nginx': {
    requests: 'nginx_ingress_controller_requests',
    durationCount: 'nginx_ingress_controller_response_duration_seconds_count',
    durationBucket: 'nginx_ingress_controller_response_duration_seconds_bucket',
    code: 'status',
    matchers: (target, track) => nginxMatchers(target, track).slice(1, -1),
  },
  traefik: {
    requests: 'traefik_service_requests_total',
    durationCount: 'traefik_service_request_duration_seconds_count',
    durationBucket: 'traefik_service_request_duration_seconds_bucket',
    code: 'code',
    matchers: traefikMatchers,
  },
};

/**
 * The `le` matcher of a bucket bound. Prometheus 3 writes a whole bound as "1.0" where older
 * servers and exporters wrote "1"; both spellings match.
 */
export function bucketMatcher(seconds: number): string {
  const plain = String(seconds);
  const spellings = Number.isInteger(seconds) ? [plain, `${plain}.0`] : [plain];
  return `le=~${quote(spellings.map(escapeRegex).join('|'))}`;
}

export const sequentialMetric = (check: Pick<CheckSpec, 'metric'>): SequentialMetric => check.metric ?? 'errorRate';

/**
 * The built-in count queries of a sequential check: what each series counted since `fromMs`,
 * exactly (window.ts countedSince). increase() would miss a new series' first count, and a
 * canary's first 5xx make a new series: the evidence of a regression would be undercounted.
 */
export function builtinCountQueries(
  check: Pick<CheckSpec, 'metric' | 'slowerThan'>,
  target: AnalysisTarget,
  fromMs: number,
  metrics: DataPlaneMetrics,
): SequentialCountQueries {
  const series = SERIES[metrics];
  const count = (metric: string, matchers: string) => `sum(${countedSince(`${metric}{${matchers}}`, fromMs)})`;
  const track = (name: Track): TrackCountQueries => {
    const matchers = series.matchers(target, name);
    if (sequentialMetric(check) === 'latency') {
      return {
        total: count(series.durationCount, matchers),
        fast: count(series.durationBucket, `${matchers},${bucketMatcher(check.slowerThan ?? 0)}`),
      };
    }
    return {
      total: count(series.requests, matchers),
      failed: count(series.requests, `${matchers},${series.code}=~"5.."`),
    };
  };
  return { canary: track('canary'), stable: track('stable') };
}

/** The policy's own count queries, {{interval}} being the range. Throws TemplateError. */
export function customCountQueries(
  counts: NonNullable<CheckSpec['counts']>,
  target: AnalysisTarget,
  rangeMs: number,
): SequentialCountQueries {
  const values = { ...target, ingress: target.ingresses, interval: promDuration(rangeMs) };
  return {
    canary: { total: renderQuery(counts.canaryTotal, values), failed: renderQuery(counts.canaryFailed, values) },
    stable: { total: renderQuery(counts.stableTotal, values), failed: renderQuery(counts.stableFailed, values) },
  };
}
