// Step due → weight written: for each 'weight set' log line of canaryd at step k ≥ 1, the time
// since that step was due (status.nextStepAt while the policy was at step k-1, as the
// benchmark's watch saw it); and due → the status saying step k. The route write's own time (the
// line's tookMs) splits the first into waiting (queue, decision) and the API server's answer.
import type { LogLine } from './canaryd.ts';
import { type Summary, summarise } from './common.ts';
import type { Seen } from './fleet.ts';

export interface StepLatency {
  /** Due → canaryd's 'weight set' log line (the route's write returned). */
  weightWritten: Summary;
  /** Due → the benchmark's watch saw status at the new step. */
  statusWritten: Summary;
  /** The route write itself (canaryd's tookMs on the same lines): the API server's part. */
  routeWrite: Summary;
}

export function stepLatency(
  lines: LogLine[],
  statuses: Map<string, Seen[]>,
  steps: Array<{ weight: number }>,
): StepLatency {
  const latencies: number[] = [];
  const statusLatencies: number[] = [];
  const routeWrites: number[] = [];
  for (const line of lines) {
    if (line.msg !== 'weight set') continue;
    const key = String(line.policy);
    const k = steps.findIndex((s) => s.weight === line.weight);
    if (k < 1) continue;
    const t = Date.parse(line.time);
    const history = statuses.get(key) ?? [];
    const atPrev = history.filter(
      (s) => s.seenAt <= t && s.status.release?.current?.stepIndex === k - 1 && s.status.nextStepAt,
    );
    const due = atPrev.at(-1)?.status.nextStepAt;
    if (!due) continue;
    latencies.push(t - Date.parse(due));
    if (typeof line.tookMs === 'number') routeWrites.push(line.tookMs);
    const written = history.find((s) => s.status.release?.current?.stepIndex === k && s.seenAt >= Date.parse(due));
    if (written) statusLatencies.push(written.seenAt - Date.parse(due));
  }
  return {
    weightWritten: summarise(latencies),
    statusWritten: summarise(statusLatencies),
    routeWrite: summarise(routeWrites),
  };
}
