// Gates with a router whose share is the canary's ready pods (replica-ratio): a canary made ready
// for a step would carry the step's share before preRollout, confirmStep or an approval said
// yes. The engine holds the canary at the size of the weight in force (0 before the first step)
// until the step's gates open, then grows it and starts the step once it is ready.
import { describe, expect, it } from 'vitest';
import type { Action } from '../../src/engine/actions.ts';
import type { HookAnswer, HookAsk } from '../../src/engine/hook-calls.ts';
import { decide } from '../../src/engine/index.ts';
import type { Observed } from '../../src/engine/observed.ts';
import type { CurrentRelease } from '../../src/engine/types.ts';
import { canaryObserved, iso, MIN, policy, releaseState, SEC } from './fixtures.ts';

const URL = 'http://127.0.0.1:9/hook';
const steps = [
  { weight: 20, hold: '1m' },
  { weight: 50, hold: '1m' },
];
const withPre = policy({
  hooks: { preRollout: { url: URL, onNo: 'block', interval: '10s' } },
  strategy: { steps, allowLargeFirstStep: true },
  timeouts: { canaryReady: '1m' },
  analysis: { inconclusiveLimit: 1, onInconclusive: 'pause' },
});
const withConfirm = policy({
  hooks: { confirmStep: { url: URL } },
  strategy: { steps, allowLargeFirstStep: true },
  analysis: { inconclusiveLimit: 1, onInconclusive: 'pause' },
});
const plain = policy({ strategy: { steps, allowLargeFirstStep: true } });

const asked = (hook: HookAsk['hook'], stepIndex: number, extra: Partial<HookAsk> = {}): HookAsk => ({
  hook,
  stepIndex,
  callId: `2/${hook}/${stepIndex + 1}/1`,
  seq: 1,
  askedAt: iso(0),
  inconclusive: 0,
  ...extra,
});
const answer = (callId: string, result: HookAnswer['result'], atMs = SEC): HookAnswer => ({
  callId,
  at: iso(atMs),
  result,
  message: result === 'refused' ? 'change freeze' : '',
  latencyMs: 5,
  attempts: 1,
});

/** replica-ratio as the reconciler reports it: 1 canary pod for 20 %, 4 for 50 %. */
function podsCarry(canaryReplicas: number, ready: number, extra: Partial<Observed> = {}): Observed {
  return canaryObserved(0, {
    canary: { templateHash: 'v2', replicas: canaryReplicas, readyReplicas: ready, servingReplicas: ready },
    canaryReplicasPerStep: [1, 4],
    canaryPodsCarryTraffic: true,
    ...extra,
  });
}

const entering: Partial<CurrentRelease> = { stepStartedAt: undefined, weight: 0 };
const sized = (actions: Action[]) =>
  actions.flatMap((a) => (a.type === 'createCanary' || a.type === 'scaleCanary' ? [a.replicas] : []));
const calls = (actions: Action[]) => actions.flatMap((a) => (a.type === 'callHook' ? [a.hook] : []));
const at = (ms: number) => new Date(Date.parse(iso(0)) + ms);

describe('a canary whose ready pods are its share, behind gates', () => {
  it('a new release creates the canary with 0 pods and asks preRollout before any pod is ready', () => {
    const state = releaseState('progressing', entering);
    const { next, actions } = decide(withPre, state, podsCarry(0, 0, { canary: undefined }), at(0));
    expect(actions.find((a) => a.type === 'createCanary')).toMatchObject({ replicas: 0 });
    expect(calls(actions)).toEqual(['preRollout']);
    expect(next.current?.stepStartedAt).toBeUndefined();
    expect(next.reason).toContain('canary held at 0%');
  });

  it('while preRollout says no, the canary stays at 0 pods (a canary someone scaled up is scaled back)', () => {
    const state = releaseState('progressing', { ...entering, gates: { preRollout: asked('preRollout', 0) } });
    const observed = podsCarry(1, 1, { hooks: { preRollout: answer('2/preRollout/1/1', 'refused') } });
    const { next, actions } = decide(withPre, state, observed, at(2 * SEC));
    expect(sized(actions)).toEqual([0]);
    expect(next.current?.weight).toBe(0);
    expect(next.reason).toContain('preRollout said no: change freeze');
  });

  it('a preRollout that says no for longer than timeouts.canaryReady is not a canary that failed to get ready', () => {
    const state = releaseState('progressing', {
      ...entering,
      deadlines: { canaryReady: iso(MIN), release: iso(60 * MIN) },
      gates: {
        preRollout: asked('preRollout', 0, {
          seq: 9,
          callId: '2/preRollout/1/9',
          askedAt: iso(2 * MIN),
          answered: { result: 'refused', at: iso(2 * MIN), message: 'change freeze' },
        }),
      },
    });
    const { next, actions } = decide(withPre, state, podsCarry(0, 0), at(2 * MIN + SEC));
    expect(next.phase).toBe('progressing');
    expect(sized(actions)).toEqual([]);
  });

  it('once preRollout says yes, the canary grows to the step size with a fresh canaryReady deadline, and the step starts when it is ready', () => {
    const state = releaseState('progressing', {
      ...entering,
      deadlines: { canaryReady: iso(MIN), release: iso(60 * MIN) },
      gates: { preRollout: asked('preRollout', 0, { askedAt: iso(2 * MIN) }) },
    });
    const yes = { hooks: { preRollout: answer('2/preRollout/1/1', 'approved', 2 * MIN) } };
    const opened = decide(withPre, state, podsCarry(0, 0, yes), at(2 * MIN + SEC));
    expect(sized(opened.actions)).toEqual([1]);
    expect(opened.next.current?.gatesOpened).toBe(0);
    expect(opened.next.current?.deadlines.canaryReady).toBe(iso(3 * MIN + SEC));
    expect(opened.next.current?.stepStartedAt).toBeUndefined();

    const growing = decide(withPre, opened.next, podsCarry(1, 0, yes), at(2 * MIN + 2 * SEC));
    expect(growing.next.current?.stepStartedAt).toBeUndefined();
    expect(growing.next.phase).toBe('progressing');

    const ready = decide(withPre, growing.next, podsCarry(1, 1, yes), at(2 * MIN + 3 * SEC));
    expect(ready.next.current?.stepStartedAt).toBe(iso(2 * MIN + 3 * SEC));
    expect(ready.next.current?.weight).toBe(20);
    expect(ready.actions).toContainEqual({ type: 'setWeight', weight: 20 });
  });

  it('confirmStep before step 2: the canary stays at step 1 size (1 pod) until it says yes', () => {
    const state = releaseState('progressing', {
      stepIndex: 1,
      stepStartedAt: undefined,
      weight: 20,
      gates: { confirmStep: asked('confirmStep', 1) },
    });
    const no = podsCarry(1, 1, { hooks: { confirmStep: answer('2/confirmStep/2/1', 'refused') } });
    const held = decide(withConfirm, state, no, at(2 * SEC));
    expect(sized(held.actions)).toEqual([]);
    expect(held.next.current?.weight).toBe(20);
    const yes = podsCarry(1, 1, { hooks: { confirmStep: answer('2/confirmStep/2/1', 'approved') } });
    expect(sized(decide(withConfirm, state, yes, at(2 * SEC)).actions)).toEqual([4]);
  });

  it('without gates, or with a router whose weight is a route weight, the canary is made ready ahead as before', () => {
    const state = releaseState('progressing', entering);
    expect(sized(decide(plain, state, podsCarry(0, 0, { canary: undefined }), at(0)).actions)).toEqual([1]);
    const routed = podsCarry(0, 0, { canary: undefined, canaryPodsCarryTraffic: undefined });
    expect(sized(decide(withPre, state, routed, at(0)).actions)).toEqual([1]);
  });
});
