// canaryd's Prometheus metrics: one prom-client Registry per process, owned here (never the
// library's global default registry, so tests and embedders get independent registries).
// Names follow Prometheus conventions: `canaryd_` prefix, base units (seconds, percent in the
// name), `_total` for counters.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

const POLICY = ['namespace', 'policy'] as const;

// Releases take minutes to days; reconciles and queries take milliseconds to seconds.
const RELEASE_BUCKETS = [60, 300, 900, 1800, 3600, 7200, 14_400, 43_200, 86_400, 259_200];
const FAST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export function defineMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'canaryd_' });
  const registers = [registry];
  return {
    registry,
    canaryWeight: new Gauge({
      name: 'canaryd_canary_weight_percent',
      help: 'Share of traffic the canary actually receives, in percent (0 when no release runs).',
      labelNames: POLICY,
      registers,
    }),
    phase: new Gauge({
      name: 'canaryd_policy_phase',
      help: 'Phase of the policy: 1 for the current phase, 0 for the others.',
      labelNames: [...POLICY, 'phase'],
      registers,
    }),
    step: new Gauge({
      name: 'canaryd_canary_step',
      help: 'Current canary step, counted from 1 (0 when no release runs).',
      labelNames: POLICY,
      registers,
    }),
    steps: new Gauge({
      name: 'canaryd_canary_steps',
      help: 'Number of steps of the running release (0 when no release runs).',
      labelNames: POLICY,
      registers,
    }),
    analysisValue: new Gauge({
      name: 'canaryd_analysis_value',
      help: 'Latest canary value of an analysis check (absent until the check produced a number).',
      labelNames: [...POLICY, 'check'],
      registers,
    }),
    analysisVerdicts: new Counter({
      name: 'canaryd_analysis_verdicts_total',
      help: 'Analysis measurements by check and verdict (pass, fail, inconclusive).',
      labelNames: [...POLICY, 'check', 'verdict'],
      registers,
    }),
    releasesStarted: new Counter({
      name: 'canaryd_releases_started_total',
      help: 'Releases whose canary steps began.',
      labelNames: POLICY,
      registers,
    }),
    releasesSucceeded: new Counter({
      name: 'canaryd_releases_succeeded_total',
      help: 'Releases promoted to the stable Deployment.',
      labelNames: POLICY,
      registers,
    }),
    releasesRolledBack: new Counter({
      name: 'canaryd_releases_rolled_back_total',
      help: 'Releases rolled back (by analysis, a timeout or a person).',
      labelNames: POLICY,
      registers,
    }),
    releaseDuration: new Histogram({
      name: 'canaryd_release_duration_seconds',
      help: 'Time from the first canary step to the end of a release, by namespace and outcome.',
      labelNames: ['namespace', 'outcome'],
      buckets: RELEASE_BUCKETS,
      registers,
    }),
    reconcileDuration: new Histogram({
      name: 'canaryd_reconcile_duration_seconds',
      help: 'Time one reconcile of one policy took, by result (success, error).',
      labelNames: ['result'],
      buckets: FAST_BUCKETS,
      registers,
    }),
    reconcileErrors: new Counter({
      name: 'canaryd_reconcile_errors_total',
      help: 'Reconciles that failed, by reason (a KubeError code, "conflict", ...).',
      labelNames: ['reason'],
      registers,
    }),
    workqueueWait: new Histogram({
      name: 'canaryd_workqueue_wait_seconds',
      help: 'Time a policy waited in the work queue between being due (a watch event, a requeue timer firing) and its reconcile starting, by lane: schedule (its wake-up: a hold, an analysis round, a deadline; counted from the wake-up; it may take a worker reserved for wake-ups) or change (a change in the cluster).',
      labelNames: ['lane'],
      buckets: FAST_BUCKETS,
      registers,
    }),
    workqueueDepth: new Gauge({
      name: 'canaryd_workqueue_depth',
      help: 'Policies waiting in the work queue or being reconciled.',
      registers,
    }),
    watchEvents: new Counter({
      name: 'canaryd_watch_events_total',
      help: 'Watch events by kind and effect: reconcile (a change canaryd reads), unread (a change it does not read), known (its own write, seen before), delete.',
      labelNames: ['kind', 'effect'],
      registers,
    }),
    watchLists: new Counter({
      name: 'canaryd_watch_lists_total',
      help: 'Full lists of a kind by its watch: one at start, then one each time a watch could not resume from where it was (its resourceVersion expired).',
      labelNames: ['kind'],
      registers,
    }),
    kubeRequestDuration: new Histogram({
      name: 'canaryd_kubernetes_request_duration_seconds',
      help: 'Time of one request to the Kubernetes API, by verb.',
      labelNames: ['verb'],
      buckets: FAST_BUCKETS,
      registers,
    }),
    kubeRequests: new Counter({
      name: 'canaryd_kubernetes_requests_total',
      help: 'Requests to the Kubernetes API by verb, resource and HTTP status code.',
      labelNames: ['verb', 'resource', 'code'],
      registers,
    }),
    cachedObjects: new Gauge({
      name: 'canaryd_cached_objects',
      help: 'Objects held in the watch caches the reconciles read from, by kind.',
      labelNames: ['kind'],
      registers,
    }),
    liveReads: new Counter({
      name: 'canaryd_cache_live_reads_total',
      help: 'Reads that went to the API server instead of the watch caches, by verb, kind and reason (uncached: a kind canaryd does not watch; unsynced: its cache is still filling; recover: after a Conflict or AlreadyExists; selector: a selector the cache cannot evaluate; orphan: whether a policy the cache does not hold exists, before a Deployment it marked is handed back).',
      labelNames: ['verb', 'kind', 'reason'],
      registers,
    }),
    eventsDropped: new Counter({
      name: 'canaryd_events_dropped_total',
      help: 'Kubernetes Events not written because more than 5,000 were already waiting (the API server too slow to take them).',
      registers,
    }),
    eventsPending: new Gauge({
      name: 'canaryd_events_pending',
      help: 'Kubernetes Events decided and not written yet (written one at a time in the background; a backlog after many adoptions at once).',
      registers,
    }),
    prometheusQueryDuration: new Histogram({
      name: 'canaryd_prometheus_query_duration_seconds',
      help: 'Time of one Prometheus instant query, by result (success, error).',
      labelNames: ['result'],
      buckets: FAST_BUCKETS,
      registers,
    }),
    prometheusQueryErrors: new Counter({
      name: 'canaryd_prometheus_query_errors_total',
      help: 'Prometheus queries that failed, by error code (timeout, unreachable, ...).',
      labelNames: ['code'],
      registers,
    }),
  };
}

export type MetricDefinitions = ReturnType<typeof defineMetrics>;
