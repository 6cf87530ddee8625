// Manual operations in every phase: each is applied or refused, acked, and recorded with who and when.
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/engine/index.ts';
import type { Observed } from '../../src/engine/observed.ts';
import type { ManualOperation, OperationKind, Phase, ReleaseState } from '../../src/engine/types.ts';
import {
  adoptedState,
  at,
  canaryObserved,
  deployment,
  effects,
  eventsOf,
  iso,
  MIN,
  observed,
  operation,
  policy,
  releaseState,
  template,
  types,
} from './fixtures.ts';

// A start window that is closed at T0 (10:00 UTC), so `waiting` stays waiting.
const p = policy({ schedule: { startWindows: [{ cron: '0 2 * * *', duration: '1h' }] } });

function succeededState(): ReleaseState {
  const base = adoptedState();
  return {
    ...base,
    phase: 'succeeded',
    nextRevision: 3,
    stable: { revision: 2, templateHash: 'v2', changeCause: 'image app:v2', template: template('app:v2') },
    history: [
      ...base.history,
      {
        revision: 2,
        templateHash: 'v2',
        changeCause: 'image app:v2',
        startedAt: iso(-HOUR_MS),
        endedAt: iso(-1),
        outcome: 'succeeded',
        reason: 'promoted',
        operations: [],
        template: template('app:v2'),
      },
    ],
  };
}
const HOUR_MS = 3_600_000;

function failedState(): ReleaseState {
  const base = adoptedState();
  return {
    ...base,
    phase: 'failed',
    nextRevision: 3,
    failedRevisions: ['v2'],
    history: [
      ...base.history,
      {
        revision: 2,
        templateHash: 'v2',
        changeCause: 'image app:v2',
        startedAt: iso(-HOUR_MS),
        endedAt: iso(-1),
        outcome: 'rolledBack',
        reason: 'analysis: errors',
        operations: [],
        template: template('app:v2'),
      },
    ],
  };
}

const scenes: Record<Phase, () => { state: ReleaseState; observed: Observed }> = {
  idle: () => ({ state: adoptedState(), observed: observed() }),
  succeeded: () => ({
    state: succeededState(),
    observed: observed({ deployment: deployment('v2', { rolloutComplete: true }) }),
  }),
  failed: () => ({ state: failedState(), observed: observed() }),
  waiting: () => ({
    state: releaseState('waiting', { startedAt: undefined, stepStartedAt: undefined, weight: 0, deadlines: {} }),
    observed: observed({ deployment: deployment('v2') }),
  }),
  progressing: () => ({ state: releaseState('progressing'), observed: canaryObserved(1) }),
  paused: () => ({
    state: releaseState('paused', { pausedBy: { cause: 'manual', by: 'bob', at: iso(0), reason: 'paused by bob' } }),
    observed: canaryObserved(1),
  }),
  promoting: () => ({
    state: releaseState('promoting', { stepIndex: 2, weight: 25, deadlines: { promotion: iso(15 * MIN) } }),
    observed: canaryObserved(25, { deployment: deployment('v2', { paused: false, rolloutComplete: false }) }),
  }),
  rollingBack: () => ({
    state: releaseState('rollingBack', {
      rollback: { reason: 'analysis: errors', outcome: 'rolledBack' },
      deadlines: { rollback: iso(15 * MIN) },
    }),
    observed: canaryObserved(1),
  }),
};

type Expectation = Phase | 'refused';
const PHASES: Phase[] = ['idle', 'waiting', 'progressing', 'paused', 'promoting', 'succeeded', 'rollingBack', 'failed'];

// op -> phase -> phase after the call, or 'refused' (phase unchanged, Warning event).
const MATRIX: Record<OperationKind, Record<Phase, Expectation>> = {
  pause: {
    idle: 'refused',
    waiting: 'refused',
    progressing: 'paused',
    paused: 'refused',
    promoting: 'refused',
    succeeded: 'refused',
    rollingBack: 'refused',
    failed: 'refused',
  },
  resume: {
    idle: 'refused',
    waiting: 'refused',
    progressing: 'refused',
    paused: 'progressing',
    promoting: 'refused',
    succeeded: 'refused',
    rollingBack: 'refused',
    failed: 'refused',
  },
  promote: {
    idle: 'refused',
    waiting: 'progressing', // starts now, outside its window, at step 1
    progressing: 'progressing', // one step on: step 2 of 3 (no checks: nothing to wait for)
    paused: 'progressing',
    promoting: 'refused',
    succeeded: 'refused',
    rollingBack: 'refused',
    failed: 'refused',
  },
  promoteFull: {
    idle: 'refused',
    waiting: 'promoting',
    progressing: 'promoting',
    paused: 'promoting',
    promoting: 'refused',
    succeeded: 'refused',
    rollingBack: 'refused',
    failed: 'refused',
  },
  abort: {
    idle: 'refused',
    waiting: 'rollingBack',
    progressing: 'rollingBack',
    paused: 'rollingBack',
    promoting: 'rollingBack',
    succeeded: 'refused',
    rollingBack: 'refused',
    failed: 'refused',
  },
  // No step of this policy waits for approval: refused everywhere (test/engine/hooks.test.ts opens one).
  approve: {
    idle: 'refused',
    waiting: 'refused',
    progressing: 'refused',
    paused: 'refused',
    promoting: 'refused',
    succeeded: 'refused',
    rollingBack: 'refused',
    failed: 'refused',
  },
  retry: {
    idle: 'refused',
    waiting: 'refused',
    progressing: 'refused',
    paused: 'refused',
    promoting: 'refused',
    succeeded: 'refused',
    rollingBack: 'refused',
    failed: 'progressing',
  },
  undo: {
    idle: 'refused', // revision 1 is the stable one
    waiting: 'refused',
    progressing: 'refused',
    paused: 'refused',
    promoting: 'refused',
    succeeded: 'progressing',
    rollingBack: 'refused',
    failed: 'refused',
  },
};

const cases = (Object.keys(MATRIX) as OperationKind[]).flatMap((op) =>
  PHASES.map((phase) => ({ op, phase, expected: MATRIX[op][phase] })),
);

describe('manual operations in every phase', () => {
  it.each(cases)('$op in $phase -> $expected', ({ op, phase, expected }) => {
    const scene = scenes[phase]();
    const extra: Partial<ManualOperation> = op === 'undo' ? { toRevision: 1 } : {};
    const manual = operation(op, { ...extra, by: 'carol', at: iso(MIN) });
    const { next, actions } = decide(p, scene.state, { ...scene.observed, operation: manual }, at(MIN));
    expect(next.lastOperationId).toBe(manual.id);
    expect(actions.at(-1)).toEqual({ type: 'ackOperation', id: manual.id });
    const events = eventsOf(actions).filter((e) => e.reason === 'Operation' || e.reason === 'OperationRefused');
    expect(events).toHaveLength(1);
    expect(events[0]?.message).toContain('by carol');
    if (expected === 'refused') {
      expect(events[0]?.eventType).toBe('Warning');
      expect(next.phase).toBe(phase);
    } else {
      expect(events[0]?.eventType).toBe('Normal');
      expect(next.phase).toBe(expected);
    }
    const record = next.current?.operations.find((o) => o.id === manual.id);
    if (next.current !== undefined && expected !== 'refused') {
      expect(record).toMatchObject({ op, by: 'carol', at: iso(MIN), result: 'applied' });
    }
  });

  it('an operation already processed is only acked again, never re-applied', () => {
    const scene = scenes.progressing();
    const manual = operation('pause');
    const first = decide(p, scene.state, { ...scene.observed, operation: manual }, at(MIN));
    const resumed = decide(
      p,
      first.next,
      { ...scene.observed, operation: operation('resume', { id: 'r' }) },
      at(2 * MIN),
    );
    const again = decide(p, resumed.next, { ...scene.observed, operation: manual }, at(3 * MIN));
    expect(again.next.phase).toBe('progressing');
    expect(types(again.actions)).toEqual(['ackOperation']);
  });

  it('abort records who aborted in the history and marks the revision failed', () => {
    const scene = scenes.progressing();
    const aborted = decide(
      p,
      scene.state,
      { ...scene.observed, operation: operation('abort', { by: 'dave' }) },
      at(MIN),
    );
    const done = decide(p, aborted.next, observed(), at(2 * MIN));
    expect(done.next.phase).toBe('failed');
    expect(done.next.failedRevisions).toEqual(['v2']);
    expect(done.next.history.at(-1)).toMatchObject({ outcome: 'rolledBack', reason: 'aborted by dave' });
    expect(done.next.history.at(-1)?.operations).toEqual([expect.objectContaining({ op: 'abort', by: 'dave' })]);
  });

  it('promote advances one step but still waits for a passing analysis round of the current step', () => {
    const analysed = policy({ analysis: { interval: '30s', checks: [{ name: 'errors', type: 'successRate' }] } });
    const scene = scenes.progressing();
    const { next } = decide(analysed, scene.state, { ...scene.observed, operation: operation('promote') }, at(MIN));
    expect(next.phase).toBe('progressing');
    expect(next.reason).toContain('waiting for an analysis round');
    const round = { round: 1, at: iso(MIN + 1), decision: 'advance-allowed' as const, reason: 'ok' };
    const passed = decide(analysed, next, { ...scene.observed, analysis: round }, at(MIN + 2));
    expect(passed.next.phase).toBe('progressing'); // the 5m hold is skipped, and only that one
    expect(passed.next.current?.stepIndex).toBe(1);
  });

  it('promote --full skips analysis too', () => {
    const analysed = policy({ analysis: { interval: '30s', checks: [{ name: 'errors', type: 'successRate' }] } });
    const scene = scenes.progressing();
    const { next } = decide(analysed, scene.state, { ...scene.observed, operation: operation('promoteFull') }, at(MIN));
    expect(next.phase).toBe('promoting');
  });

  it('retry releases the failed revision again through the canary process', () => {
    const scene = scenes.failed();
    const { next, actions } = decide(p, scene.state, { ...scene.observed, operation: operation('retry') }, at(MIN));
    expect(next.failedRevisions).toEqual([]);
    expect(next.current).toMatchObject({
      templateHash: 'v2',
      origin: 'retry',
      pendingTemplate: { replacedHash: 'v1' },
    });
    expect(types(effects(actions)).slice(0, 2)).toEqual(['applyTemplate', 'createCanary']);
  });

  it('retry when the Deployment still holds the failed template needs no template write', () => {
    const scene = scenes.failed();
    const o = observed({ deployment: deployment('v2'), operation: operation('retry') });
    const { next, actions } = decide(p, scene.state, o, at(MIN));
    expect(next.current?.pendingTemplate).toBeUndefined();
    expect(types(effects(actions))).not.toContain('applyTemplate');
    expect(next.phase).toBe('progressing');
  });

  it('undo --to-revision writes the old template and releases it as a canary', () => {
    const scene = scenes.succeeded();
    const o = { ...scene.observed, operation: operation('undo', { toRevision: 1 }) };
    const { next, actions } = decide(p, scene.state, o, at(MIN));
    expect(next.current).toMatchObject({ revision: 3, templateHash: 'v1', origin: 'undo' });
    expect(next.current?.changeCause).toBe(
      'undo --to-revision=1: revision 2 → revision 1 (revision 1 was: image app:v1)',
    );
    expect(effects(actions)[0]).toEqual({ type: 'applyTemplate', templateHash: 'v1', template: template('app:v1') });
    // the controller wrote it: the release continues with the template now in the Deployment
    const written = observed({
      deployment: deployment('v1'),
      route: { prepared: true, weight: 0, achievedWeight: 0, testersRouting: false },
    });
    const later = decide(p, next, written, at(2 * MIN));
    expect(later.next.current?.pendingTemplate).toBeUndefined();
    expect(types(effects(later.actions))).toEqual(['createCanary']);
  });

  it('undo --skip-canary rolls the stable Deployment directly', () => {
    const scene = scenes.succeeded();
    const o = { ...scene.observed, operation: operation('undo', { toRevision: 1, skipCanary: true }) };
    const { next, actions } = decide(p, scene.state, o, at(MIN));
    expect(next.phase).toBe('promoting');
    expect(types(effects(actions))).toEqual(['applyTemplate', 'promoteStable']);
  });

  it('undo to a revision whose template is no longer kept is refused with the reason', () => {
    const scene = scenes.succeeded();
    const o = { ...scene.observed, operation: operation('undo', { toRevision: 9 }) };
    const { next, actions } = decide(p, scene.state, o, at(MIN));
    expect(next.current).toBeUndefined();
    expect(eventsOf(actions).at(-1)?.message).toContain('revision 9 is not in the history');
  });
});

describe('every operation result is kept in the status, with or without a release', () => {
  it('a promote refused after the release ended is recorded for the person who asked', () => {
    const scene = scenes.succeeded();
    const manual = operation('promote', { by: 'carol', at: iso(MIN) });
    const { next } = decide(p, scene.state, { ...scene.observed, operation: manual }, at(MIN));
    expect(next.current).toBeUndefined();
    expect(next.recentOperations).toEqual([
      {
        id: manual.id,
        op: 'promote',
        by: 'carol',
        at: iso(MIN),
        result: 'refused: nothing to promote in phase succeeded',
      },
    ]);
  });

  it('keeps the last ten', () => {
    let state = scenes.idle().state;
    for (let i = 0; i < 12; i++) {
      state = decide(p, state, observed({ operation: operation('pause', { id: `op-${i}` }) }), at(i * MIN)).next;
    }
    expect(state.recentOperations?.map((record) => record.id)).toEqual(
      Array.from({ length: 10 }, (_, i) => `op-${i + 2}`),
    );
  });
});
