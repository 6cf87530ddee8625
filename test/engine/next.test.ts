// "Next step" is when the release may leave its step (hold end, window opening); "Next analysis"
// is when analysis measures again. Never the one for the other.
import { describe, expect, it } from 'vitest';
import { nextAnalysisTime, nextStepTime } from '../../src/engine/index.ts';
import { at, CHECKS, HOUR, iso, MIN, policy, releaseState, SEC } from './fixtures.ts';

const analysed = policy({ analysis: CHECKS }); // 30s rounds, 5m holds
// Steps may advance only 12:00–13:00 UTC; it is 10:00 at T0.
// Holds of 10 s, rounds every 30 s: a step can leave only on its first round.
const shortHolds = policy({
  analysis: CHECKS,
  strategy: {
    steps: [
      { weight: 1, hold: '10s' },
      { weight: 5, hold: '10s' },
    ],
  },
});
const windowed = policy({ analysis: CHECKS, schedule: { advanceWindows: [{ cron: '0 12 * * *', duration: '1h' }] } });

describe('next step', () => {
  it.each([
    ['the hold ends (not the next analysis round)', analysed, releaseState('progressing'), at(MIN), iso(5 * MIN)],
    [
      'due since the hold ended: only analysis is left',
      analysed,
      releaseState('progressing'),
      at(6 * MIN),
      iso(5 * MIN),
    ],
    ['the advance window opens after the hold', windowed, releaseState('progressing'), at(MIN), iso(2 * HOUR)],
    [
      'a manual promote: due since it was asked',
      analysed,
      releaseState('progressing', { promote: { full: false, by: 'a', at: iso(30 * SEC) } }),
      at(MIN),
      iso(30 * SEC),
    ],
    [
      "a hold shorter than the analysis interval: the step's first round",
      shortHolds,
      releaseState('progressing'),
      at(5 * SEC),
      iso(30 * SEC),
    ],
    [
      'a hold shorter than the analysis interval, its first round asked for: the hold',
      shortHolds,
      releaseState('progressing', { analysis: { requestedAt: iso(30 * SEC) } }),
      at(31 * SEC),
      iso(10 * SEC),
    ],
    ['none while paused', analysed, releaseState('paused'), at(MIN), undefined],
    [
      'none while the canary gets ready',
      analysed,
      releaseState('progressing', { stepStartedAt: undefined }),
      at(MIN),
      undefined,
    ],
    ['none while promoting', analysed, releaseState('promoting'), at(MIN), undefined],
  ])('%s', (_, p, state, now, expected) => {
    expect(nextStepTime(state, p, now)?.toISOString()).toBe(expected);
  });
});

describe('next analysis', () => {
  it('one interval after the step started, then after each request', () => {
    expect(nextAnalysisTime(releaseState('progressing'), analysed)?.toISOString()).toBe(iso(30 * SEC));
    const requested = releaseState('progressing', { analysis: { requestedAt: iso(2 * MIN) } });
    expect(nextAnalysisTime(requested, analysed)?.toISOString()).toBe(iso(2 * MIN + 30 * SEC));
  });

  it('none without checks, after promote --full, or outside a step', () => {
    expect(nextAnalysisTime(releaseState('progressing'), policy())).toBeUndefined();
    const full = releaseState('progressing', { promote: { full: true, by: 'a', at: iso(0) } });
    expect(nextAnalysisTime(full, analysed)).toBeUndefined();
    expect(nextAnalysisTime(releaseState('promoting'), analysed)).toBeUndefined();
  });
});
