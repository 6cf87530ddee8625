// What canaryd did between two scrapes of its /metrics: reconciles and their cost, how long
// policies waited in the work queue after they were due, how long its Kubernetes requests took,
// garbage collection, and which watch events woke it. A benchmark prints it per phase, so a
// latency can be split into queueing, the API server's answers and canaryd's own CPU.
import { byFirst, delta, histogramQuantileDelta, parseCounter, sumCounter, toRecord } from './metrics.ts';

export interface ControllerWork {
  reconciles: number;
  reconcileMeanMs: number | null;
  queueWaitMs: QueueWait;
  /** The same by the queue's lane: schedule (wake-ups: a hold's end, an analysis round; first) and change. */
  queueWaitByLaneMs: Record<string, QueueWait & { n: number }>;
  /** Mean time of a Kubernetes request, by verb, ms. */
  kubeRequestMeanMs: Record<string, number>;
  gcSeconds: number;
  /** Watch events by kind|effect (reconcile, unread, known, delete). */
  watchEvents: Record<string, number>;
  /** Full lists by kind (a watch that could not resume lists again). */
  watchLists: Record<string, number>;
}

export interface QueueWait {
  mean: number | null;
  p50: number | null;
  p99: number | null;
}

const LANES = ['schedule', 'change'];
const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;
const diff = (before: string, after: string, metric: string) => sumCounter(after, metric) - sumCounter(before, metric);
const ms = (seconds: number) => (Number.isFinite(seconds) ? round(seconds * 1000, 1) : null);

export function controllerWork(before: string, after: string): ControllerWork {
  const reconciles = diff(before, after, 'canaryd_reconcile_duration_seconds_count');
  const waits = diff(before, after, 'canaryd_workqueue_wait_seconds_count');
  const requestSums = delta(
    parseCounter(before, 'canaryd_kubernetes_request_duration_seconds_sum', ['verb']),
    parseCounter(after, 'canaryd_kubernetes_request_duration_seconds_sum', ['verb']),
  );
  const requestCounts = delta(
    parseCounter(before, 'canaryd_kubernetes_request_duration_seconds_count', ['verb']),
    parseCounter(after, 'canaryd_kubernetes_request_duration_seconds_count', ['verb']),
  );
  const kubeRequestMeanMs: Record<string, number> = {};
  for (const [verb, count] of Object.entries(byFirst(requestCounts))) {
    kubeRequestMeanMs[verb] = round(((byFirst(requestSums)[verb] ?? 0) / count) * 1000, 1);
  }
  return {
    reconciles: round(reconciles, 0),
    reconcileMeanMs:
      reconciles > 0 ? ms(diff(before, after, 'canaryd_reconcile_duration_seconds_sum') / reconciles) : null,
    queueWaitMs: queueWait(before, after, waits, diff(before, after, 'canaryd_workqueue_wait_seconds_sum'), {}),
    queueWaitByLaneMs: Object.fromEntries(
      LANES.map((lane) => {
        const n = laneDiff(before, after, 'canaryd_workqueue_wait_seconds_count', lane);
        const sum = laneDiff(before, after, 'canaryd_workqueue_wait_seconds_sum', lane);
        return [lane, { n: round(n, 0), ...queueWait(before, after, n, sum, { lane }) }];
      }),
    ),
    kubeRequestMeanMs,
    gcSeconds: round(diff(before, after, 'canaryd_nodejs_gc_duration_seconds_sum'), 2),
    watchEvents: toRecord(
      delta(
        parseCounter(before, 'canaryd_watch_events_total', ['kind', 'effect']),
        parseCounter(after, 'canaryd_watch_events_total', ['kind', 'effect']),
      ),
    ),
    watchLists: toRecord(
      delta(
        parseCounter(before, 'canaryd_watch_lists_total', ['kind']),
        parseCounter(after, 'canaryd_watch_lists_total', ['kind']),
      ),
    ),
  };
}

function queueWait(before: string, after: string, n: number, sum: number, where: Record<string, string>): QueueWait {
  const quantile = (q: number) => ms(histogramQuantileDelta(before, after, 'canaryd_workqueue_wait_seconds', q, where));
  return { mean: n > 0 ? ms(sum / n) : null, p50: quantile(0.5), p99: quantile(0.99) };
}

const laneDiff = (before: string, after: string, metric: string, lane: string) =>
  (parseCounter(after, metric, ['lane']).get(lane) ?? 0) - (parseCounter(before, metric, ['lane']).get(lane) ?? 0);

/** One line for the log. */
export function describeWork(work: ControllerWork): string {
  const wait = work.queueWaitMs;
  return [
    `${work.reconciles} reconciles (mean ${work.reconcileMeanMs ?? '–'} ms)`,
    `queue wait mean/p50/p99 ${wait.mean ?? '–'}/${wait.p50 ?? '–'}/${wait.p99 ?? '–'} ms (${Object.entries(
      work.queueWaitByLaneMs,
    )
      .map(([lane, w]) => `${lane} lane ${w.n}: ${w.mean ?? '–'}/${w.p50 ?? '–'}/${w.p99 ?? '–'}`)
      .join(', ')})`,
    `API request mean ms ${JSON.stringify(work.kubeRequestMeanMs)}`,
    `GC ${work.gcSeconds} s`,
    `watch events ${JSON.stringify(work.watchEvents)}`,
    `lists ${JSON.stringify(work.watchLists)}`,
  ].join('; ');
}
