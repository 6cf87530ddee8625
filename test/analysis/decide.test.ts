import { describe, expect, it } from 'vitest';
import type { Verdict } from '../../src/analysis/checks.ts';
import {
  type AnalysisCounters,
  decide,
  INITIAL_COUNTERS,
  recordRound,
  resumeCounters,
  roundVerdict,
} from '../../src/analysis/decide.ts';
import type { Measurement } from '../../src/analysis/evaluate.ts';
import { analysisSpec } from '../../src/policy/schema.ts';

const t0 = new Date('2026-03-01T12:00:00Z');
const later = (seconds: number) => new Date(t0.getTime() + seconds * 1000);

const measurement = (check: string, verdict: Verdict, critical = false): Measurement => ({
  check,
  critical,
  at: t0.toISOString(),
  query: 'q',
  value: 1,
  sample: 100,
  verdict,
  reason: `${verdict} because`,
});

const spec = analysisSpec.parse({
  interval: '30s',
  failureLimit: 2,
  inconclusiveLimit: 3,
  checks: [
    { name: 'success', type: 'successRate' },
    { name: 'p99', type: 'latency', max: 1 },
  ],
});

/** Counters after rounds 30 s apart starting at t0; each round given as verdicts of [success, p99]. */
function play(rounds: [Verdict, Verdict][], criticalP99 = false): AnalysisCounters {
  return rounds.reduce(
    (counters, [a, b], i) =>
      recordRound(counters, [measurement('success', a), measurement('p99', b, criticalP99)], later(i * 30)),
    INITIAL_COUNTERS,
  );
}

const at = (rounds: number) => ({ now: later((rounds - 1) * 30 + 1), stepStartedAt: t0 });

describe('the verdict of a round', () => {
  it('fails if any check failed, else is inconclusive if any was, else passes', () => {
    expect(roundVerdict([measurement('a', 'pass'), measurement('b', 'pass')])).toBe('pass');
    expect(roundVerdict([measurement('a', 'pass'), measurement('b', 'inconclusive')])).toBe('inconclusive');
    expect(roundVerdict([measurement('a', 'inconclusive'), measurement('b', 'fail')])).toBe('fail');
    expect(roundVerdict([])).toBe('inconclusive');
  });
});

describe('deciding from the analysis', () => {
  it('allows the step to advance when the latest round passed', () => {
    expect(decide(spec, play([['pass', 'pass']]), at(1))).toEqual({
      action: 'advance-allowed',
      reason: 'every check passed in the latest round',
    });
  });

  it('continues before the first round', () => {
    expect(decide(spec, INITIAL_COUNTERS, { now: t0, stepStartedAt: t0 }).action).toBe('continue');
  });

  it('never advances on an inconclusive latest round, even after passes', () => {
    const decision = decide(
      spec,
      play([
        ['pass', 'pass'],
        ['pass', 'inconclusive'],
      ]),
      at(2),
    );
    expect(decision.action).toBe('continue');
    expect(decision.reason).toContain('latest analysis round is inconclusive');
    expect(decision.reason).toContain('p99: inconclusive because');
  });

  it('tolerates failures up to the failure limit, and rolls back on one more', () => {
    const two = play([
      ['fail', 'pass'],
      ['pass', 'pass'],
      ['pass', 'fail'],
    ]);
    expect(decide(spec, two, at(3)).action).toBe('continue');
    const three = play([
      ['fail', 'pass'],
      ['pass', 'pass'],
      ['pass', 'fail'],
      ['fail', 'pass'],
    ]);
    const decision = decide(spec, three, at(4));
    expect(decision.action).toBe('rollback');
    expect(decision.reason).toBe(
      '3 failed analysis rounds, more than failureLimit 2; latest round: success: fail because',
    );
  });

  it('counts a round once however many checks failed in it', () => {
    expect(play([['fail', 'fail']]).failedRounds).toBe(1);
  });

  it('rolls back on the first failure when the failure limit is 0', () => {
    const strict = { ...spec, failureLimit: 0 };
    expect(decide(strict, play([['fail', 'pass']]), at(1)).action).toBe('rollback');
  });

  it('rolls back on the first failure of a critical check, whatever the limit', () => {
    const counters = play([['pass', 'fail']], true);
    expect(counters.criticalFailure).toEqual({ check: 'p99', at: t0.toISOString(), reason: 'fail because' });
    expect(decide({ ...spec, failureLimit: 10 }, counters, at(1))).toEqual({
      action: 'rollback',
      reason: 'critical check p99 failed: fail because',
    });
  });

  it('remembers a critical failure after later rounds pass', () => {
    const counters = play(
      [
        ['pass', 'fail'],
        ['pass', 'pass'],
      ],
      true,
    );
    expect(decide({ ...spec, failureLimit: 10 }, counters, at(2)).action).toBe('rollback');
  });

  it('pauses after more consecutive inconclusive rounds than the limit', () => {
    const rounds: [Verdict, Verdict][] = [
      ['inconclusive', 'pass'],
      ['inconclusive', 'pass'],
      ['pass', 'inconclusive'],
    ];
    expect(decide(spec, play(rounds), at(3)).action).toBe('continue');
    const decision = decide(spec, play([...rounds, ['inconclusive', 'inconclusive']]), at(4));
    expect(decision.action).toBe('pause');
    expect(decision.reason).toContain('4 inconclusive analysis rounds in a row, more than inconclusiveLimit 3');
  });

  it('rolls back instead of pausing when the policy says so', () => {
    const rounds = Array.from({ length: 4 }, () => ['inconclusive', 'pass'] as [Verdict, Verdict]);
    expect(decide({ ...spec, onInconclusive: 'rollback' }, play(rounds), at(4)).action).toBe('rollback');
  });

  it('forgets inconclusive rounds once a round is conclusive', () => {
    const counters = play([
      ['inconclusive', 'pass'],
      ['inconclusive', 'pass'],
      ['inconclusive', 'pass'],
      ['pass', 'pass'],
      ['inconclusive', 'pass'],
    ]);
    expect(counters.consecutiveInconclusiveRounds).toBe(1);
    expect(decide(spec, counters, at(5)).action).toBe('continue');
  });

  it('gives a resumed release a fresh inconclusive allowance, but keeps its failures', () => {
    const counters = play([
      ['fail', 'pass'],
      ['inconclusive', 'pass'],
      ['inconclusive', 'pass'],
      ['inconclusive', 'pass'],
      ['inconclusive', 'pass'],
    ]);
    expect(decide(spec, counters, at(5)).action).toBe('pause');
    const resumed = resumeCounters(counters);
    expect(decide(spec, resumed, at(5)).action).toBe('continue');
    expect(resumed.failedRounds).toBe(1);
  });

  it('prefers rollback over pause when both limits are passed', () => {
    const counters: AnalysisCounters = {
      ...play([['fail', 'pass']]),
      failedRounds: 3,
      consecutiveInconclusiveRounds: 9,
    };
    expect(decide(spec, counters, at(1)).action).toBe('rollback');
  });

  it('does not advance a step on a round measured before the step began', () => {
    const counters = play([['pass', 'pass']]);
    const decision = decide(spec, counters, { now: later(10), stepStartedAt: later(5) });
    expect(decision).toEqual({ action: 'continue', reason: 'no analysis round at this step yet' });
  });

  it('does not advance on a stale round (older than two intervals)', () => {
    const counters = play([['pass', 'pass']]);
    expect(decide(spec, counters, { now: later(60), stepStartedAt: t0 }).action).toBe('advance-allowed');
    const stale = decide(spec, counters, { now: later(61), stepStartedAt: t0 });
    expect(stale.action).toBe('continue');
    expect(stale.reason).toContain('older than 2 intervals');
  });

  it('lets a policy without checks advance on its hold alone', () => {
    const none = { ...spec, checks: [] };
    expect(decide(none, INITIAL_COUNTERS, { now: t0, stepStartedAt: t0 }).action).toBe('advance-allowed');
  });

  it('keeps counters as plain JSON the engine can persist', () => {
    const counters = play([
      ['fail', 'pass'],
      ['pass', 'inconclusive'],
    ]);
    expect(JSON.parse(JSON.stringify(counters))).toEqual(counters);
    expect(counters).toEqual({
      rounds: 2,
      failedRounds: 1,
      consecutiveInconclusiveRounds: 1,
      lastRound: { at: later(30).toISOString(), verdict: 'inconclusive', problems: ['p99: inconclusive because'] },
      criticalFailure: null,
    });
  });
});
