// What the benchmarks read from canaryd's /metrics between two scrapes: how long policies waited in
// the work queue, overall and by lane (a due step's wait is the schedule lane's).
import { describe, expect, it } from 'vitest';
import { controllerWork } from '../../bench/lib/controller-work.ts';

/** canaryd's queue-wait histogram with these cumulative bucket counts per lane (bounds 0.1, 1, +Inf). */
function scrape(lanes: Record<string, { buckets: [number, number, number]; sum: number }>): string {
  const lines: string[] = [];
  for (const [lane, { buckets, sum }] of Object.entries(lanes)) {
    for (const [i, le] of ['0.1', '1', '+Inf'].entries()) {
      lines.push(`canaryd_workqueue_wait_seconds_bucket{le="${le}",lane="${lane}"} ${buckets[i]}`);
    }
    lines.push(`canaryd_workqueue_wait_seconds_sum{lane="${lane}"} ${sum}`);
    lines.push(`canaryd_workqueue_wait_seconds_count{lane="${lane}"} ${buckets[2]}`);
  }
  return lines.join('\n');
}

describe('the queue wait of a phase', () => {
  it('is split by lane: the schedule lane’s waits are not hidden by the change lane’s', () => {
    const before = scrape({ schedule: { buckets: [0, 0, 0], sum: 0 }, change: { buckets: [5, 5, 5], sum: 0.1 } });
    const after = scrape({
      schedule: { buckets: [10, 10, 10], sum: 0.5 }, // 10 wake-ups, each under 100 ms
      change: { buckets: [5, 15, 25], sum: 20.1 }, // 20 more, most of a second or more
    });
    const work = controllerWork(before, after);
    expect(work.queueWaitMs.mean).toBe(683.3); // (0.5 + 20) s over 30 waits
    expect(work.queueWaitByLaneMs.schedule).toEqual({ n: 10, mean: 50, p50: 50, p99: 99 });
    expect(work.queueWaitByLaneMs.change).toMatchObject({ n: 20, mean: 1000, p50: 1000 });
  });
});
