// Hooks and approval gates in the engine: when a hook is asked (callHook), how its answer is
// read back (by callId), and what a yes, a no (block or rollback), an inconclusive answer and a
// lost call do. Table-driven over decide(), the pure engine.
import { describe, expect, it } from 'vitest';
import type { HookAnswer, HookAsk } from '../../src/engine/hook-calls.ts';
import { decide } from '../../src/engine/index.ts';
import type { Observed } from '../../src/engine/observed.ts';
import type { CurrentRelease, ReleaseState } from '../../src/engine/types.ts';
import { canaryObserved, iso, MIN, operation, policy, releaseState, SEC, types } from './fixtures.ts';

const URL = 'http://127.0.0.1:9/hook';
const hooked = policy({
  hooks: {
    preRollout: { url: URL, onNo: 'rollback' },
    confirmStep: { url: URL, interval: '15s', timeout: '2s', retries: 1 },
    confirmPromotion: { url: URL },
    during: { url: URL, onNo: 'rollback' },
    onRollback: { url: URL },
    postRollout: { url: URL },
  },
  strategy: {
    steps: [
      { weight: 1, hold: '1m' },
      { weight: 5, hold: '1m', approval: true },
    ],
  },
  analysis: { interval: '30s', inconclusiveLimit: 1, onInconclusive: 'pause' },
});

const entering: Partial<CurrentRelease> = { stepStartedAt: undefined, weight: 0 };
const asked = (hook: HookAsk['hook'], stepIndex: number, extra: Partial<HookAsk> = {}): HookAsk => ({
  hook,
  stepIndex,
  callId: `2/${hook}/${stepIndex + 1}/1`,
  seq: 1,
  askedAt: iso(0),
  inconclusive: 0,
  ...extra,
});
const answer = (callId: string, result: HookAnswer['result'], atMs = SEC, message = ''): HookAnswer => ({
  callId,
  at: iso(atMs),
  result,
  message,
  latencyMs: 10,
  attempts: 1,
});
const withAnswers = (hooks: Observed['hooks'], weight = 0): Observed => ({ ...canaryObserved(weight), hooks });
const preApproved = {
  preRollout: asked('preRollout', 0, { answered: { result: 'approved' as const, at: iso(SEC), message: '' } }),
};

interface Row {
  name: string;
  phase?: ReleaseState['phase'];
  current: Partial<CurrentRelease>;
  observed: Observed;
  nowMs: number;
  expect: { phase: ReleaseState['phase']; calls?: string[]; weight?: number; reason?: string; started?: boolean };
}

const rows: Row[] = [
  {
    name: 'canary ready for step 1: preRollout is asked first, no weight yet',
    current: entering,
    observed: withAnswers({}),
    nowMs: 0,
    expect: {
      phase: 'progressing',
      calls: ['preRollout'],
      weight: 0,
      reason: 'asking hook preRollout',
      started: false,
    },
  },
  {
    name: 'preRollout asked, no answer yet: waits, asks nothing again',
    current: { ...entering, gates: { preRollout: asked('preRollout', 0) } },
    observed: withAnswers({}),
    nowMs: SEC,
    expect: { phase: 'progressing', calls: [], weight: 0, reason: 'waiting for hook preRollout' },
  },
  {
    name: 'preRollout says no (onNo rollback): rolls back before any traffic',
    current: { ...entering, gates: { preRollout: asked('preRollout', 0) } },
    observed: withAnswers({ preRollout: answer('2/preRollout/1/1', 'refused', SEC, 'freeze') }),
    nowMs: 2 * SEC,
    expect: { phase: 'rollingBack', calls: ['onRollback'], weight: 0, reason: 'hook: preRollout said no: freeze' },
  },
  {
    name: "an answer to an older call is not this call's answer",
    current: { ...entering, gates: { preRollout: asked('preRollout', 0) } },
    observed: withAnswers({ preRollout: answer('1/preRollout/1/1', 'approved') }),
    nowMs: 2 * SEC,
    expect: { phase: 'progressing', calls: [], weight: 0 },
  },
  {
    name: 'preRollout says yes: confirmStep is asked next',
    current: { ...entering, gates: { preRollout: asked('preRollout', 0) } },
    observed: withAnswers({ preRollout: answer('2/preRollout/1/1', 'approved') }),
    nowMs: 2 * SEC,
    expect: { phase: 'progressing', calls: ['confirmStep'], weight: 0 },
  },
  {
    name: 'confirmStep says yes: the step starts at its weight',
    current: { ...entering, gates: { ...preApproved, confirmStep: asked('confirmStep', 0) } },
    observed: withAnswers({ confirmStep: answer('2/confirmStep/1/1', 'approved') }),
    nowMs: 2 * SEC,
    expect: { phase: 'progressing', calls: [], weight: 1, started: true },
  },
  {
    name: 'confirmStep says no (block): holds at weight 0 until its interval passes',
    current: { ...entering, gates: { ...preApproved, confirmStep: asked('confirmStep', 0) } },
    observed: withAnswers({ confirmStep: answer('2/confirmStep/1/1', 'refused', SEC, 'load test') }),
    nowMs: 2 * SEC,
    expect: { phase: 'progressing', calls: [], weight: 0, reason: 'confirmStep said no: load test; asking again at' },
  },
  {
    name: 'confirmStep said no, interval passed: asked again (a new callId)',
    current: {
      ...entering,
      gates: {
        ...preApproved,
        confirmStep: asked('confirmStep', 0, { answered: { result: 'refused', at: iso(SEC), message: '' } }),
      },
    },
    observed: withAnswers({}),
    nowMs: 16 * SEC,
    expect: { phase: 'progressing', calls: ['confirmStep'], weight: 0 },
  },
  {
    name: 'a call with no answer past its budget (2 x 2s + 1s backoff + grace) is inconclusive, never a pass',
    current: { ...entering, gates: { ...preApproved, confirmStep: asked('confirmStep', 0) } },
    observed: withAnswers({}),
    nowMs: 11 * SEC,
    expect: { phase: 'progressing', calls: [], weight: 0, reason: 'confirmStep was inconclusive: no answer came back' },
  },
  {
    name: 'inconclusive past inconclusiveLimit 1: pauses (onInconclusive pause) at weight 0',
    current: {
      ...entering,
      gates: {
        ...preApproved,
        confirmStep: asked('confirmStep', 0, { seq: 2, callId: '2/confirmStep/1/2', inconclusive: 1 }),
      },
    },
    observed: withAnswers({
      confirmStep: answer('2/confirmStep/1/2', 'inconclusive', SEC, 'no answer within the timeout'),
    }),
    nowMs: 2 * SEC,
    expect: { phase: 'paused', calls: [], weight: 0, reason: '2 inconclusive answers of hook confirmStep in a row' },
  },
  {
    name: 'step 2 needs approval: after confirmStep says yes it waits for kubectl canary approve',
    current: {
      ...entering,
      stepIndex: 1,
      weight: 1,
      gates: { ...preApproved, confirmStep: asked('confirmStep', 1) },
    },
    observed: withAnswers({ confirmStep: answer('2/confirmStep/2/1', 'approved') }, 1),
    nowMs: 2 * SEC,
    expect: {
      phase: 'progressing',
      calls: [],
      weight: 1,
      reason: 'waiting for `kubectl canary approve web`',
      started: false,
    },
  },
  {
    name: 'step 2 approved: it starts',
    current: {
      ...entering,
      stepIndex: 1,
      weight: 1,
      gates: { ...preApproved, confirmStep: asked('confirmStep', 1) },
      approvals: [{ stepIndex: 1, by: 'carol', at: iso(0) }],
    },
    observed: withAnswers({ confirmStep: answer('2/confirmStep/2/1', 'approved') }, 1),
    nowMs: 2 * SEC,
    expect: { phase: 'progressing', calls: [], weight: 5, started: true },
  },
  {
    name: 'a step holding: the during hook is asked one analysis interval after the step started',
    current: { stepStartedAt: iso(0), weight: 1 },
    observed: withAnswers({}, 1),
    nowMs: 30 * SEC,
    expect: { phase: 'progressing', calls: ['during'], weight: 1 },
  },
  {
    name: 'during says no (onNo rollback): rolls back at once',
    current: { stepStartedAt: iso(0), weight: 1, during: asked('during', 0, { askedAt: iso(30 * SEC) }) },
    observed: withAnswers({ during: answer('2/during/1/1', 'refused', 31 * SEC, '3 of 10 failed') }, 1),
    nowMs: 31 * SEC,
    expect: { phase: 'rollingBack', calls: ['onRollback'], reason: 'hook: during said no: 3 of 10 failed' },
  },
  {
    name: 'hold over but the during hook has not said yes in this step: no advance',
    current: { stepStartedAt: iso(0), weight: 1 },
    observed: withAnswers({}, 1),
    nowMs: MIN + SEC,
    expect: { phase: 'progressing', calls: ['during'], weight: 1, reason: 'waiting for an answer of hook during' },
  },
  {
    name: 'hold over and during said yes: step 2 begins, and its confirmStep is asked before its weight',
    current: {
      stepStartedAt: iso(0),
      weight: 1,
      during: asked('during', 0, { askedAt: iso(MIN), last: { result: 'approved', at: iso(MIN), message: '' } }),
    },
    observed: withAnswers({}, 1),
    nowMs: MIN + SEC,
    expect: { phase: 'progressing', calls: ['confirmStep'], weight: 1, reason: 'step 2: asking hook confirmStep' },
  },
];

describe('decide with hooks', () => {
  it.each(rows)('$name', (row) => {
    const state = releaseState(row.phase ?? 'progressing', row.current);
    const { next, actions } = decide(hooked, state, row.observed, new Date(Date.parse(iso(0)) + row.nowMs));
    expect(next.phase).toBe(row.expect.phase);
    if (row.expect.calls !== undefined) {
      expect(actions.flatMap((a) => (a.type === 'callHook' ? [a.hook] : []))).toEqual(row.expect.calls);
    }
    if (row.expect.weight !== undefined) expect(next.current?.weight).toBe(row.expect.weight);
    if (row.expect.reason !== undefined) expect(next.reason).toContain(row.expect.reason);
    if (row.expect.started !== undefined) expect(next.current?.stepStartedAt !== undefined).toBe(row.expect.started);
  });

  it('a hook request carries the release context: revision, step, weights, phase', () => {
    const state = releaseState('progressing', entering);
    const { actions } = decide(hooked, state, withAnswers({}), new Date(iso(0)));
    expect(actions.find((a) => a.type === 'callHook')).toMatchObject({
      hook: 'preRollout',
      callId: '2/preRollout/1/1',
      release: { revision: 2, step: 0, steps: 2, weight: 0, nextWeight: 1, phase: 'progressing' },
    });
  });

  it('promotion waits for confirmPromotion after the last step', () => {
    const state = releaseState('progressing', {
      stepIndex: 1,
      stepStartedAt: iso(0),
      weight: 5,
      during: asked('during', 1, { askedAt: iso(MIN), last: { result: 'approved', at: iso(MIN), message: '' } }),
    });
    const first = decide(hooked, state, withAnswers({}, 5), new Date(Date.parse(iso(0)) + MIN + SEC));
    expect(first.next.phase).toBe('progressing');
    expect(types(first.actions)).toContain('callHook');
    const callId = first.next.current?.gates?.confirmPromotion?.callId ?? '';
    const second = decide(
      hooked,
      first.next,
      withAnswers({ confirmPromotion: answer(callId, 'approved', MIN + 2 * SEC) }, 5),
      new Date(Date.parse(iso(0)) + MIN + 3 * SEC),
    );
    expect(second.next.phase).toBe('promoting');
  });
});

describe('approve', () => {
  const waiting = () =>
    releaseState('progressing', { ...entering, stepIndex: 1, weight: 1, gates: { ...preApproved } });

  it('a verified approver opens the gate of the step that waits for it, recorded with who and when', () => {
    const op = operation('approve', { by: 'carol', verified: true });
    const { next } = decide(hooked, waiting(), { ...canaryObserved(1), operation: op }, new Date(iso(SEC)));
    expect(next.current?.approvals).toEqual([{ stepIndex: 1, by: 'carol', at: iso(0) }]);
    expect(next.recentOperations?.at(-1)).toMatchObject({ op: 'approve', by: 'carol', result: 'applied' });
  });

  it('an approver Kubernetes did not verify is refused (the approve right was not checked)', () => {
    const op = operation('approve', { by: 'unverified: mallory', verified: false });
    const { next } = decide(hooked, waiting(), { ...canaryObserved(1), operation: op }, new Date(iso(SEC)));
    expect(next.current?.approvals).toBeUndefined();
    expect(next.recentOperations?.at(-1)?.result).toContain(
      'refused: the approver unverified: mallory is not verified',
    );
  });

  it('a step without an approval gate refuses it', () => {
    const op = operation('approve', { verified: true });
    const state = releaseState('progressing', { ...entering, gates: { ...preApproved } });
    const { next } = decide(hooked, state, { ...canaryObserved(0), operation: op }, new Date(iso(SEC)));
    expect(next.recentOperations?.at(-1)?.result).toBe(
      'refused: step 1 does not wait for approval now (a step waits for it before its weight is set)',
    );
  });
});
