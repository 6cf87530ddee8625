// The two gates sequential analysis opens: advance before the hold on proven evidence, and
// timeouts.release reached while the evidence is undecided (onInconclusive decides).
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/engine/index.ts';
import type { AnalysisDecision } from '../../src/engine/observed.ts';
import type { CurrentRelease, ReleaseState } from '../../src/engine/types.ts';
import { at, canaryObserved, HOUR, iso, MIN, policy, releaseState, SEC } from './fixtures.ts';

const sequential = (onInconclusive: 'pause' | 'rollback' = 'pause') =>
  policy({
    analysis: {
      interval: '30s',
      onInconclusive,
      checks: [{ name: 'errors', type: 'sequential', advanceOnEvidence: true }],
    },
  });
const round = (n: number, atMs: number, decision: AnalysisDecision) => ({
  round: n,
  at: iso(atMs),
  decision,
  reason: `round ${n}`,
});

interface Row {
  name: string;
  onInconclusive?: 'pause' | 'rollback';
  current?: Partial<CurrentRelease>;
  decision: AnalysisDecision;
  roundAtMs: number;
  nowMs: number;
  expect: { phase: ReleaseState['phase']; stepIndex?: number; reason: string; deadlineKept?: boolean };
}

const rows: Row[] = [
  {
    name: 'advance-now from a fresh round of this step, hold not over -> advances at once',
    decision: 'advance-now',
    roundAtMs: 2 * MIN - 5 * SEC,
    nowMs: 2 * MIN,
    expect: { phase: 'progressing', stepIndex: 1, reason: 'step 2' },
  },
  {
    name: 'advance-allowed before the hold ends -> holds (only proven evidence skips the hold)',
    decision: 'advance-allowed',
    roundAtMs: 2 * MIN - 5 * SEC,
    nowMs: 2 * MIN,
    expect: { phase: 'progressing', stepIndex: 0, reason: 'holding until' },
  },
  {
    name: 'advance-now from before this step started -> holds',
    current: { stepStartedAt: iso(MIN) },
    decision: 'advance-now',
    roundAtMs: MIN - SEC,
    nowMs: 2 * MIN,
    expect: { phase: 'progressing', stepIndex: 0, reason: 'holding until' },
  },
  {
    name: 'advance-now older than two intervals -> holds',
    decision: 'advance-now',
    roundAtMs: MIN,
    nowMs: 3 * MIN,
    expect: { phase: 'progressing', stepIndex: 0, reason: 'holding until' },
  },
  {
    name: 'undecided after the hold -> holds and says so',
    decision: 'undecided',
    roundAtMs: 6 * MIN - 5 * SEC,
    nowMs: 6 * MIN,
    expect: { phase: 'progressing', stepIndex: 0, reason: 'analysis: undecided' },
  },
  {
    name: 'undecided at timeouts.release with onInconclusive pause -> paused for a person, deadline spent',
    current: { deadlines: { release: iso(HOUR) } },
    decision: 'undecided',
    roundAtMs: HOUR - 5 * SEC,
    nowMs: HOUR,
    expect: { phase: 'paused', reason: 'sequential analysis undecided', deadlineKept: false },
  },
  {
    name: 'undecided at timeouts.release with onInconclusive rollback -> rolls back',
    onInconclusive: 'rollback',
    current: { deadlines: { release: iso(HOUR) } },
    decision: 'undecided',
    roundAtMs: HOUR - 5 * SEC,
    nowMs: HOUR,
    expect: { phase: 'rollingBack', reason: 'timeouts.release' },
  },
  {
    name: 'continue (missing data) at timeouts.release -> rolls back as any release past its deadline',
    current: { deadlines: { release: iso(HOUR) } },
    decision: 'continue',
    roundAtMs: HOUR - 5 * SEC,
    nowMs: HOUR,
    expect: { phase: 'rollingBack', reason: 'timeouts.release' },
  },
];

describe('sequential gates', () => {
  it.each(rows)('$name', (row) => {
    const state = releaseState('progressing', { analysis: { lastRound: 8 }, ...row.current });
    const observed = canaryObserved(1, { analysis: round(9, row.roundAtMs, row.decision) });
    const { next } = decide(sequential(row.onInconclusive), state, observed, at(row.nowMs));
    expect(next.phase).toBe(row.expect.phase);
    if (row.expect.stepIndex !== undefined) expect(next.current?.stepIndex).toBe(row.expect.stepIndex);
    expect(next.reason).toContain(row.expect.reason);
    if (row.expect.deadlineKept === false) expect(next.current?.deadlines.release).toBeUndefined();
  });
});
