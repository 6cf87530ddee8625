import { describe, expect, it } from 'vitest';
import type { Measurement } from '../../src/analysis/evaluate.ts';
import { appendMeasurements, DEFAULT_MEASUREMENT_LOG_SIZE, latestByCheck } from '../../src/analysis/log.ts';

const m = (check: string, n: number): Measurement => ({
  check,
  critical: false,
  at: new Date(n * 1000).toISOString(),
  query: 'q',
  value: n,
  sample: 100,
  verdict: 'pass',
  reason: '',
});

describe('the measurement log of a release', () => {
  it('keeps only the newest measurements, oldest first', () => {
    let log: Measurement[] = [];
    for (let n = 0; n < 10; n++) log = appendMeasurements(log, [m('a', n), m('b', n)], 5);
    expect(log.map((x) => `${x.check}${x.value}`)).toEqual(['b7', 'a8', 'b8', 'a9', 'b9']);
  });

  it('does not change the log it was given', () => {
    const log = [m('a', 1)];
    appendMeasurements(log, [m('a', 2)], 1);
    expect(log).toEqual([m('a', 1)]);
  });

  it('is bounded by default and refuses a nonsense limit', () => {
    const round = Array.from({ length: 100 }, (_, n) => m('a', n));
    expect(appendMeasurements([], round)).toHaveLength(DEFAULT_MEASUREMENT_LOG_SIZE);
    expect(appendMeasurements([], round, 0)).toEqual([]);
    expect(() => appendMeasurements([], round, -1)).toThrow(RangeError);
  });

  it('shows the newest measurement of each check', () => {
    const log = [m('a', 1), m('b', 1), m('a', 2)];
    expect(latestByCheck(log)).toEqual([m('b', 1), m('a', 2)]);
  });
});
