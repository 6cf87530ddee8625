import { describe, expect, it } from 'vitest';
import { checkProblems, judge, type Observation, thresholdsOf } from '../../src/analysis/checks.ts';
import { type CheckSpec, checkSpec } from '../../src/policy/schema.ts';

const at = new Date(0);
const value = (v: number): Observation => ({ kind: 'value', value: v, at });
const empty: Observation = { kind: 'empty' };
const nan: Observation = { kind: 'nan', at };
const inf: Observation = { kind: 'infinite', sign: 1, at };
const down: Observation = { kind: 'error', message: 'cannot reach Prometheus: ECONNREFUSED' };

const check = (fields: Partial<CheckSpec> & Pick<CheckSpec, 'type'>): CheckSpec =>
  checkSpec.parse({ name: 'c', ...fields });

const successRate = check({ type: 'successRate', min: 99, minSample: 50 });
const enough = value(1000);

describe('judging one check', () => {
  it('passes a canary within its absolute thresholds, saying so', () => {
    const j = judge(successRate, { canary: value(99.9), sample: enough });
    expect(j).toEqual({
      verdict: 'pass',
      reason: 'canary 99.9 is within min 99',
      value: 99.9,
      stableValue: null,
      sample: 1000,
    });
  });

  it('fails a canary below min or above max, at the boundary still passing', () => {
    expect(judge(successRate, { canary: value(98.5), sample: enough })).toMatchObject({
      verdict: 'fail',
      reason: 'canary 98.5 is below min 99',
    });
    expect(judge(successRate, { canary: value(99), sample: enough }).verdict).toBe('pass');
    const latency = check({ type: 'latency', max: 0.5 });
    expect(judge(latency, { canary: value(0.75), sample: enough })).toMatchObject({
      verdict: 'fail',
      reason: 'canary 0.75 is above max 0.5',
    });
    expect(judge(latency, { canary: value(0.5), sample: enough }).verdict).toBe('pass');
  });

  it('is inconclusive below the minimum sample, even when the value looks terrible', () => {
    const j = judge(successRate, { canary: value(10), sample: value(49) });
    expect(j.verdict).toBe('inconclusive');
    expect(j.reason).toBe('only 49 canary requests in the window, fewer than minSample 50');
    expect(j.sample).toBe(49);
    expect(j.value).toBe(10);
    expect(judge(successRate, { canary: value(99.5), sample: value(50) }).verdict).toBe('pass');
  });

  it('counts no sample series as zero requests', () => {
    const j = judge(successRate, { canary: empty, sample: empty });
    expect(j).toMatchObject({ verdict: 'inconclusive', sample: 0 });
    expect(j.reason).toContain('only 0 canary requests');
  });

  it('is inconclusive when the sample cannot be counted', () => {
    for (const [sample, words] of [
      [nan, 'sample query returned NaN'],
      [inf, 'sample query returned +Inf'],
      [down, 'sample query failed: cannot reach Prometheus: ECONNREFUSED'],
    ] as const) {
      expect(judge(successRate, { canary: value(100), sample })).toMatchObject({
        verdict: 'inconclusive',
        reason: words,
      });
    }
  });

  it('never passes on no data, NaN or Inf', () => {
    for (const [canary, words] of [
      [empty, 'canary query returned no data'],
      [nan, 'canary query returned NaN'],
      [inf, 'canary query returned +Inf'],
      [{ kind: 'infinite', sign: -1, at } as const, 'canary query returned -Inf'],
    ] as const) {
      const j = judge(successRate, { canary, sample: enough });
      expect(j).toMatchObject({ verdict: 'inconclusive', reason: words, value: null });
    }
  });

  it('is inconclusive, not failed, when Prometheus is down', () => {
    const j = judge(successRate, { canary: down, sample: down });
    expect(j.verdict).toBe('inconclusive');
    expect(j.reason).toContain('ECONNREFUSED');
  });

  it('skips the sample gate for a custom check without a sample query', () => {
    const custom = check({ type: 'custom', query: 'x', max: 1, minSample: 1000 });
    expect(judge(custom, { canary: value(0.5) })).toMatchObject({ verdict: 'pass', sample: null });
  });

  describe('relative to stable', () => {
    const errorRate = check({ type: 'successRate', relative: { maxBelow: 0.5 } });
    const p99 = check({ type: 'latency', relative: { maxRatio: 1.2 } });
    const custom = check({ type: 'custom', query: 'x', stableQuery: 'y', relative: { maxAbove: 0.5 } });

    it('maxBelow: canary may be at most that far below stable', () => {
      expect(judge(errorRate, { canary: value(99.5), stable: value(99.9), sample: enough }).verdict).toBe('pass');
      expect(judge(errorRate, { canary: value(99.4), stable: value(99.9), sample: enough }).verdict).toBe('pass');
      expect(judge(errorRate, { canary: value(99.39), stable: value(99.9), sample: enough })).toMatchObject({
        verdict: 'fail',
        reason: 'canary 99.39 is more than 0.5 below stable 99.9',
        stableValue: 99.9,
      });
    });

    it('maxAbove: canary may be at most that far above stable', () => {
      expect(judge(custom, { canary: value(1.5), stable: value(1) }).verdict).toBe('pass');
      expect(judge(custom, { canary: value(0.3), stable: value(0.1), sample: undefined }).verdict).toBe('pass');
      expect(judge(custom, { canary: value(1.6), stable: value(1) })).toMatchObject({
        verdict: 'fail',
        reason: 'canary 1.6 is more than 0.5 above stable 1',
      });
    });

    it('maxRatio: canary may be at most that multiple of stable', () => {
      expect(judge(p99, { canary: value(0.24), stable: value(0.2), sample: enough })).toMatchObject({
        verdict: 'pass',
        reason: 'canary 0.24 (stable 0.2) is within stable × 1.2',
      });
      expect(judge(p99, { canary: value(0.3), stable: value(0.2), sample: enough })).toMatchObject({
        verdict: 'fail',
        reason: 'canary 0.3 is more than 1.2 × stable 0.2 = 0.24',
      });
    });

    it('is inconclusive when the stable figure is missing or unusable', () => {
      for (const stable of [empty, nan, inf, down]) {
        expect(judge(p99, { canary: value(0.2), stable, sample: enough }).verdict).toBe('inconclusive');
      }
      expect(judge(p99, { canary: value(0.2), stable: empty, sample: enough }).reason).toBe(
        'stable query returned no data',
      );
    });

    it('is inconclusive when a relative check has no stable query at all', () => {
      expect(judge(p99, { canary: value(0.2), sample: enough })).toMatchObject({
        verdict: 'inconclusive',
        reason: 'relative thresholds but no stable query',
      });
    });

    it('fails on an absolute breach without waiting for stable', () => {
      const both = check({ type: 'latency', max: 1, relative: { maxRatio: 2 } });
      expect(judge(both, { canary: value(3), stable: down, sample: enough })).toMatchObject({
        verdict: 'fail',
        reason: 'canary 3 is above max 1',
      });
    });

    it('lists every breached threshold', () => {
      const both = check({ type: 'latency', relative: { maxAbove: 0.1, maxRatio: 1.1 } });
      expect(judge(both, { canary: value(1), stable: value(0.5), sample: enough }).reason).toBe(
        'canary 1 is more than 0.1 above stable 0.5; canary 1 is more than 1.1 × stable 0.5 = 0.55',
      );
    });
  });

  it('is inconclusive for a check without thresholds (a latency check needs them)', () => {
    const bare = check({ type: 'latency' });
    expect(judge(bare, { canary: value(0.1), sample: enough })).toMatchObject({
      verdict: 'inconclusive',
      reason: 'check has no thresholds to judge by',
    });
  });
});

describe('thresholds and check problems', () => {
  it('defaults a successRate check without thresholds to min 99', () => {
    expect(thresholdsOf(check({ type: 'successRate' }))).toMatchObject({ min: 99 });
    expect(thresholdsOf(check({ type: 'successRate', relative: { maxBelow: 1 } })).min).toBeUndefined();
    expect(judge(check({ type: 'successRate' }), { canary: value(98), sample: enough }).verdict).toBe('fail');
  });

  it('finds checks that could never give a verdict', () => {
    expect(checkProblems(check({ type: 'successRate' }))).toEqual([]);
    expect(checkProblems(check({ type: 'latency', relative: { maxRatio: 1.2 } }))).toEqual([]);
    expect(checkProblems(check({ type: 'latency' }))).toEqual([
      'checks[c]: a latency check needs min, max or relative thresholds',
    ]);
    expect(checkProblems(check({ type: 'custom', max: 1 }))).toEqual(['checks[c].query: a custom check needs a query']);
    expect(checkProblems(check({ type: 'custom', query: 'x', relative: { maxAbove: 1 } }))).toEqual([
      'checks[c].stableQuery: relative thresholds need a stableQuery',
    ]);
    expect(checkProblems(check({ type: 'latency', max: 1, query: 'x' }))).toEqual([
      'checks[c].query: only custom checks take queries; use type: custom',
    ]);
    expect(checkProblems(check({ type: 'custom', query: 'x', min: 2, max: 1 }))).toEqual([
      'checks[c].min: 2 is above max 1; the check could never pass',
    ]);
  });
});
