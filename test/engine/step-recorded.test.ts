// A step's start goes to the route first and to the status after it (step-recorded.ts): which
// decisions do so, and how a decision reads a route whose status write never happened.
import { describe, expect, it } from 'vitest';
import { decide, routeBeforeRecording } from '../../src/engine/index.ts';
import { at, CHECKS, canaryObserved, effects, iso, MIN, operation, policy, releaseState, types } from './fixtures.ts';

// Steps 1 %, 5 %, 25 %, each held 5 minutes; advancing only 03:00–04:00 UTC (T0 is 10:00).
const windowed = policy({ schedule: { advanceWindows: [{ cron: '0 3 * * *', duration: '1h' }] } });

describe('which decisions write the route before the status', () => {
  it('a step that starts with nothing but its weight: the route first', () => {
    const before = releaseState('progressing', { stepIndex: 0, stepStartedAt: iso(0), weight: 1 });
    const decision = decide(policy(), before, canaryObserved(1), at(6 * MIN));
    expect(decision.next.current).toMatchObject({ stepIndex: 1, stepStartedAt: iso(6 * MIN), weight: 5 });
    expect(effects(decision.actions)).toEqual([{ type: 'setWeight', weight: 5 }]);
    expect(routeBeforeRecording(before, decision.next, decision.actions)).toBe(true);
  });

  it('a step entered earlier that starts now: the route first', () => {
    const before = releaseState('progressing', { stepIndex: 1, stepStartedAt: undefined, weight: 1 });
    const decision = decide(policy(), before, canaryObserved(1), at(6 * MIN));
    expect(effects(decision.actions)).toEqual([{ type: 'setWeight', weight: 5 }]);
    expect(routeBeforeRecording(before, decision.next, decision.actions)).toBe(true);
  });

  it('anything else the decision asks for, or a pause, or an Event: the status first', () => {
    const before = releaseState('progressing', { stepIndex: 0, stepStartedAt: iso(0), weight: 1 });
    const oversized = { templateHash: 'v2', replicas: 2, readyReplicas: 2, servingReplicas: 2 };
    const scaled = decide(policy(), before, canaryObserved(1, { canary: oversized }), at(6 * MIN));
    expect(types(scaled.actions)).toContain('scaleCanary');
    expect(routeBeforeRecording(before, scaled.next, scaled.actions)).toBe(false);

    const pausing = policy({
      strategy: {
        steps: [
          { weight: 1, hold: '5m' },
          { weight: 5, pause: true },
        ],
      },
    });
    const paused = decide(pausing, before, canaryObserved(1), at(6 * MIN));
    expect(paused.next.phase).toBe('paused');
    expect(routeBeforeRecording(before, paused.next, paused.actions)).toBe(false);

    const promoted = releaseState('progressing', {
      stepIndex: 0,
      stepStartedAt: iso(0),
      weight: 1,
      promote: { full: false, by: 'alice', at: iso(0) },
    });
    const early = decide(policy(), promoted, canaryObserved(1), at(1 * MIN));
    expect(early.actions.some((a) => a.type === 'recordEvent')).toBe(true);
    expect(routeBeforeRecording(promoted, early.next, early.actions)).toBe(false);

    const last = releaseState('progressing', { stepIndex: 2, stepStartedAt: iso(0), weight: 25 });
    const promoting = decide(policy(), last, canaryObserved(25), at(6 * MIN));
    expect(promoting.next.phase).toBe('promoting');
    expect(routeBeforeRecording(last, promoting.next, promoting.actions)).toBe(false);
  });

  it('a weight that goes down is never written before its status', () => {
    const before = releaseState('progressing', { stepIndex: 0, stepStartedAt: iso(0), weight: 1 });
    const decision = decide(policy(), before, canaryObserved(25), at(1 * MIN));
    expect(effects(decision.actions)).toEqual([{ type: 'setWeight', weight: 1 }]);
    expect(routeBeforeRecording(before, decision.next, decision.actions)).toBe(false);
  });
});

describe('a route that carries a step the status does not', () => {
  // The pass that started step 2 wrote 5 % and stopped before its status; the restart comes
  // when the advance window has closed, so the gates would not let step 1 advance now.
  const stopped = () => releaseState('progressing', { stepIndex: 0, stepStartedAt: iso(0), weight: 1 });

  it('the step starts again from the route, its hold from now; the weight is not lowered and raised again', () => {
    const decision = decide(windowed, stopped(), canaryObserved(5), at(6 * MIN));
    expect(decision.next.current).toMatchObject({ stepIndex: 1, stepStartedAt: iso(6 * MIN), weight: 5 });
    expect(decision.next.phase).toBe('progressing');
    expect(effects(decision.actions)).toEqual([]);
  });

  it('without that record the same window holds step 1 at its own weight', () => {
    const decision = decide(windowed, stopped(), canaryObserved(1), at(6 * MIN));
    expect(decision.next.current).toMatchObject({ stepIndex: 0, weight: 1 });
    expect(decision.next.reason).toMatch(/holding its weight/);
  });

  it('a step that pauses pauses at the weight the route carries', () => {
    const pausing = policy({
      strategy: {
        steps: [
          { weight: 1, hold: '5m' },
          { weight: 5, pause: true },
        ],
      },
    });
    const decision = decide(pausing, stopped(), canaryObserved(5), at(6 * MIN));
    expect(decision.next.phase).toBe('paused');
    expect(decision.next.current).toMatchObject({ stepIndex: 1, weight: 5 });
    expect(effects(decision.actions)).toEqual([]);
  });

  it('a person’s pause that made the status write lose its race: paused at the step the route carries', () => {
    const decision = decide(windowed, stopped(), canaryObserved(5, { operation: operation('pause') }), at(6 * MIN));
    expect(decision.next.phase).toBe('paused');
    expect(decision.next.current).toMatchObject({ stepIndex: 1, stepStartedAt: iso(6 * MIN), weight: 5 });
    expect(effects(decision.actions)).toEqual([]);
  });

  it('a canary no longer ready for the step: the weight goes back to the status’s step (invariant 1 first)', () => {
    const observed = canaryObserved(5, {
      canary: { templateHash: 'v2', replicas: 1, readyReplicas: 0, servingReplicas: 1 },
    });
    const decision = decide(windowed, stopped(), observed, at(6 * MIN));
    expect(decision.next.current).toMatchObject({ stepIndex: 0, weight: 1 });
    expect(effects(decision.actions)).toContainEqual({ type: 'setWeight', weight: 1 });
  });

  it('a weight that is no step’s next one is not a record: it is put back', () => {
    const decision = decide(windowed, stopped(), canaryObserved(25), at(6 * MIN));
    expect(decision.next.current).toMatchObject({ stepIndex: 0, weight: 1 });
    expect(effects(decision.actions)).toContainEqual({ type: 'setWeight', weight: 1 });
  });

  it('before the release set any weight, a route at the first step’s weight is not read as its start', () => {
    // A superseded release left 1 % behind; the new one has not started its first step.
    const gated = policy({ hooks: { preRollout: { url: 'http://hooks.example/pre' } }, analysis: CHECKS });
    const fresh = releaseState('progressing', { stepIndex: 0, stepStartedAt: undefined, weight: 0 });
    const decision = decide(gated, fresh, canaryObserved(1), at(1 * MIN));
    expect(decision.next.current?.stepStartedAt).toBeUndefined();
    expect(types(decision.actions)).toContain('callHook');
  });
});
