// Step due → weight written, from canaryd's 'weight set' lines and the statuses the benchmark's
// watch saw; the route write's own time splits it into waiting and the API server's answer.
import { describe, expect, it } from 'vitest';
import type { LogLine } from '../../bench/lib/canaryd.ts';
import type { Seen } from '../../bench/lib/fleet.ts';
import { stepLatency } from '../../bench/lib/step-latency.ts';

const steps = [{ weight: 10 }, { weight: 30 }, { weight: 50 }];
const at = (ms: number) => new Date(Date.parse('2026-12-06T05:00:00Z') + ms).toISOString();
const seen = (ms: number, stepIndex: number, nextStepAt?: number): Seen =>
  ({
    seenAt: Date.parse(at(ms)),
    status: { release: { current: { stepIndex } }, ...(nextStepAt !== undefined && { nextStepAt: at(nextStepAt) }) },
  }) as unknown as Seen;

describe('step latency', () => {
  it('measures from the step being due to the weight written, and reports the route write apart', () => {
    const statuses = new Map([['shop/web', [seen(0, 0, 5000), seen(5400, 1, 10_400), seen(10_900, 2)]]]);
    const lines: LogLine[] = [
      { time: at(100), level: 'info', msg: 'weight set', policy: 'shop/web', weight: 10, tookMs: 40 }, // step 1: not due
      { time: at(5300), level: 'info', msg: 'weight set', policy: 'shop/web', weight: 30, tookMs: 250 },
      { time: at(10_800), level: 'info', msg: 'weight set', policy: 'shop/web', weight: 50, tookMs: 390 },
    ];
    const latency = stepLatency(lines, statuses, steps);
    expect(latency.weightWritten).toMatchObject({ n: 2, min: 300, max: 400 });
    expect(latency.statusWritten).toMatchObject({ n: 2, min: 400, max: 500 });
    expect(latency.routeWrite).toMatchObject({ n: 2, min: 250, max: 390 });
  });
});
