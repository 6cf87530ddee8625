// The metrics the controller feeds and the server exposes at /metrics.
import type { Registry } from 'prom-client';
import { METRIC_QUERY_ERROR_CODES } from '../analysis/provider.ts';
import { defineMetrics, type MetricDefinitions } from './registry.ts';
import { type ReleaseStatusSample, releaseMetrics } from './release.ts';

export {
  instrumentKubeApi,
  instrumentMetricProvider,
  type KubeRequestCounter,
  type PrometheusQueryObserver,
  resourceOf,
} from './instrument.ts';
export { parseStep, type ReleaseStatusSample } from './release.ts';

export interface CanarydMetrics {
  readonly registry: Registry;
  /** After every status write of a policy: gauges from the status, counters from what changed. */
  observeRelease(namespace: string, policy: string, status: ReleaseStatusSample): void;
  /** When a policy is deleted: drops its series. */
  forgetPolicy(namespace: string, policy: string): void;
  /** One reconcile of one policy; `errorReason` when it failed (e.g. a KubeError code). */
  observeReconcile(seconds: number, errorReason?: string): void;
  /** One Kubernetes API request; `seconds` it took, when timed. */
  countKubeRequest(verb: string, resource: string, code: number | string, seconds?: number): void;
  /** A reconcile started after waiting this long in the work queue's lane (controller/queue.ts). */
  observeQueueWait(seconds: number, lane: 'schedule' | 'change'): void;
  /** Reports the work queue's depth when /metrics is scraped. */
  queueDepth(depth: () => number): void;
  /** One watch event and what it did (informers.ts). */
  countWatchEvent(kind: string, effect: string): void;
  /** One full list of a kind by its watch (informers.ts). */
  countWatchList(kind: string): void;
  /** A read the watch caches could not answer (kube/cached-api.ts). */
  countLiveRead(verb: string, kind: string, reason: string): void;
  /** Reports the watch caches' sizes by kind when /metrics is scraped. */
  cacheSizes(counts: () => Record<string, number>): void;
  /** A Kubernetes Event dropped by the background recorder (kube/background-events.ts). */
  countDroppedEvent(): void;
  /** Reports the Events waiting to be written (kube/background-events.ts) when /metrics is scraped. */
  eventsPending(pending: () => number): void;
  /** One Prometheus query; `errorCode` (a MetricQueryError code) when it failed. */
  observePrometheusQuery(seconds: number, errorCode?: string): void;
}

/**
 * The controller's series whose label values are known in advance, at 0 from the start: a series
 * born at its first event has no earlier sample, so rate() and increase() would not see that
 * event. (A reconcile error's reason and a Kubernetes answer's code are open sets: those series
 * still appear at their first event.)
 */
function createKnownSeries(m: MetricDefinitions): void {
  for (const result of ['success', 'error']) {
    m.reconcileDuration.zero({ result });
    m.prometheusQueryDuration.zero({ result });
  }
  // Every MetricQueryError code, and "unknown" for any other failure (metrics/instrument.ts).
  for (const code of [...Object.keys(METRIC_QUERY_ERROR_CODES), 'unknown']) m.prometheusQueryErrors.inc({ code }, 0);
}

/** A fresh registry with every canaryd metric (and the process metrics unless turned off). */
export function createMetrics(options: { defaultMetrics?: boolean } = {}): CanarydMetrics {
  const m = defineMetrics(options);
  createKnownSeries(m);
  const releases = releaseMetrics(m);
  return {
    registry: m.registry,
    observeRelease: releases.observe,
    forgetPolicy: releases.forget,
    observeReconcile(seconds, errorReason) {
      m.reconcileDuration.observe({ result: errorReason === undefined ? 'success' : 'error' }, seconds);
      if (errorReason !== undefined) m.reconcileErrors.inc({ reason: errorReason });
    },
    countKubeRequest(verb, resource, code, seconds) {
      m.kubeRequests.inc({ verb, resource, code: String(code) });
      if (seconds !== undefined) m.kubeRequestDuration.observe({ verb }, seconds);
    },
    observeQueueWait(seconds, lane) {
      m.workqueueWait.observe({ lane }, seconds);
    },
    queueDepth(depth) {
      (m.workqueueDepth as unknown as { collect?: () => void }).collect = () => m.workqueueDepth.set(depth());
    },
    countWatchEvent(kind, effect) {
      m.watchEvents.inc({ kind, effect });
    },
    countWatchList(kind) {
      m.watchLists.inc({ kind });
    },
    countLiveRead(verb, kind, reason) {
      m.liveReads.inc({ verb, kind, reason });
    },
    cacheSizes(counts) {
      // Counted on scrape (a gauge's collect), not on every watch event.
      (m.cachedObjects as unknown as { collect?: () => void }).collect = () => {
        for (const [kind, n] of Object.entries(counts())) m.cachedObjects.set({ kind }, n);
      };
    },
    countDroppedEvent() {
      m.eventsDropped.inc();
    },
    eventsPending(pending) {
      (m.eventsPending as unknown as { collect?: () => void }).collect = () => m.eventsPending.set(pending());
    },
    observePrometheusQuery(seconds, errorCode) {
      m.prometheusQueryDuration.observe({ result: errorCode === undefined ? 'success' : 'error' }, seconds);
      if (errorCode !== undefined) m.prometheusQueryErrors.inc({ code: errorCode });
    },
  };
}
