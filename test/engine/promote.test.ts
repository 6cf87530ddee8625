// `promote` advances exactly one step; `promote --full` goes straight to promotion. Table-driven
// over where a release can be when a person asks (policy of 3 steps: 1 %, 5 %, 25 %, 5m holds).
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/engine/index.ts';
import type { Observed } from '../../src/engine/observed.ts';
import type { ReleaseState } from '../../src/engine/types.ts';
import { at, canaryObserved, deployment, iso, MIN, observed, operation, policy, releaseState } from './fixtures.ts';

const p = policy({ schedule: { startWindows: [{ cron: '0 2 * * *', duration: '1h' }] } }); // closed at 10:00 UTC
const STEP_WEIGHTS = [1, 5, 25];

interface Scene {
  state: () => ReleaseState;
  observed: Observed;
}

const scenes: Record<string, Scene> = {
  'waiting for a start window': {
    state: () => releaseState('waiting', { startedAt: undefined, stepStartedAt: undefined, weight: 0, deadlines: {} }),
    observed: observed({ deployment: deployment('v2') }),
  },
  'holding step 1': { state: () => releaseState('progressing'), observed: canaryObserved(1) },
  'making the canary ready for step 2': {
    state: () => releaseState('progressing', { stepIndex: 1, stepStartedAt: undefined, weight: 1 }),
    observed: canaryObserved(1),
  },
  'holding step 2': {
    state: () => releaseState('progressing', { stepIndex: 1, weight: 5 }),
    observed: canaryObserved(5),
  },
  'paused by a person at step 2': {
    state: () =>
      releaseState('paused', {
        stepIndex: 1,
        weight: 5,
        pausedBy: { cause: 'manual', by: 'bob', at: iso(0), reason: 'paused by bob' },
      }),
    observed: canaryObserved(5),
  },
  'holding the last step': {
    state: () => releaseState('progressing', { stepIndex: 2, weight: 25 }),
    observed: canaryObserved(25),
  },
};

// Where the release is after the operation (and after the canary got ready for a step started by it).
const TABLE: Array<{ scene: string; op: 'promote' | 'promoteFull'; phase: string; step?: number }> = [
  { scene: 'waiting for a start window', op: 'promote', phase: 'progressing', step: 1 },
  { scene: 'holding step 1', op: 'promote', phase: 'progressing', step: 2 },
  { scene: 'making the canary ready for step 2', op: 'promote', phase: 'progressing', step: 3 },
  { scene: 'holding step 2', op: 'promote', phase: 'progressing', step: 3 },
  { scene: 'paused by a person at step 2', op: 'promote', phase: 'progressing', step: 3 },
  { scene: 'holding the last step', op: 'promote', phase: 'promoting' },
  { scene: 'waiting for a start window', op: 'promoteFull', phase: 'promoting' },
  { scene: 'holding step 1', op: 'promoteFull', phase: 'promoting' },
  { scene: 'making the canary ready for step 2', op: 'promoteFull', phase: 'promoting' },
  { scene: 'holding step 2', op: 'promoteFull', phase: 'promoting' },
  { scene: 'paused by a person at step 2', op: 'promoteFull', phase: 'promoting' },
  { scene: 'holding the last step', op: 'promoteFull', phase: 'promoting' },
];

/** Lets the engine run on a cluster that does what it asks, without time passing, until it rests. */
function settle(state: ReleaseState, first: Observed, now: Date): ReleaseState {
  let next = state;
  let seen = first;
  for (let pass = 0; pass < 5; pass++) {
    const decided = decide(p, next, seen, now);
    next = decided.next;
    const current = next.current;
    if (current === undefined || next.phase !== 'progressing') break;
    // The cluster follows: the canary is ready for the step and the route carries its weight.
    seen = canaryObserved(current.weight, { operation: seen.operation });
  }
  return next;
}

describe('promote advances one step; promote --full promotes', () => {
  it.each(TABLE)('$op while $scene -> $phase $step', ({ scene, op, phase, step }) => {
    const { state, observed: seen } = scenes[scene]!;
    const manual = operation(op, { by: 'carol', at: iso(MIN) });
    const next = settle(state(), { ...seen, operation: manual }, at(MIN));
    expect(next.phase).toBe(phase);
    expect(next.current?.operations.find((record) => record.id === manual.id)?.result).toBe('applied');
    if (step !== undefined) {
      expect(next.current?.stepIndex).toBe(step - 1);
      // The step it reached holds as usual: its weight is set, its hold starts now, nothing more is skipped.
      expect(next.current?.weight).toBe(STEP_WEIGHTS[step - 1]);
      expect(next.current?.stepStartedAt).toBe(iso(MIN));
      expect(next.current?.promote).toBeUndefined();
      expect(next.reason).not.toContain('skipped');
    }
  });

  it('after one promote the next step waits its full hold before advancing', () => {
    const manual = operation('promote', { at: iso(MIN) });
    const promoted = settle(releaseState('progressing'), { ...canaryObserved(1), operation: manual }, at(MIN));
    expect(promoted.current?.stepIndex).toBe(1);
    const early = decide(p, promoted, { ...canaryObserved(5), operation: manual }, at(MIN + 4 * MIN));
    expect(early.next.current?.stepIndex).toBe(1);
    expect(early.next.reason).toContain('holding until');
    const later = decide(p, early.next, { ...canaryObserved(5), operation: manual }, at(MIN + 5 * MIN));
    expect(later.next.current?.stepIndex).toBe(2);
  });
});
