// progressing and paused: starting a step, holding it, gating it, advancing it.
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/engine/index.ts';
import type { Observed } from '../../src/engine/observed.ts';
import { planSteps } from '../../src/engine/plan.ts';
import type { CurrentRelease, ReleaseState } from '../../src/engine/types.ts';
import {
  at,
  CHECKS,
  canaryObserved,
  deployment,
  effects,
  iso,
  MIN,
  observed,
  policy,
  releaseState,
  SEC,
  types,
} from './fixtures.ts';

const analysed = policy({ analysis: CHECKS });
const round = (n: number, atMs: number, decision: 'advance-allowed' | 'continue' | 'pause' | 'rollback') => ({
  round: n,
  at: iso(atMs),
  decision,
  reason: `round ${n}`,
});

interface Row {
  name: string;
  phase?: ReleaseState['phase'];
  current?: Partial<CurrentRelease>;
  observed: Observed;
  nowMs: number;
  analysis?: boolean;
  expect: { phase: ReleaseState['phase']; stepIndex?: number; weight?: number; actions?: string[]; reason?: string };
}

const entering = {
  stepStartedAt: undefined,
  weight: 0,
  deadlines: { canaryReady: iso(10 * MIN), release: iso(24 * 60 * MIN) },
};
const notReadyCanary = canaryObserved(0, {
  canary: { templateHash: 'v2', replicas: 1, readyReplicas: 0, servingReplicas: 0 },
});

const unroutedCanary = canaryObserved(0, {
  canary: { templateHash: 'v2', replicas: 1, readyReplicas: 0, readyInDeployment: 1, servingReplicas: 1 },
});

const rows: Row[] = [
  {
    name: 'step entry: canary not ready yet -> waits, nothing re-created',
    current: entering,
    observed: notReadyCanary,
    nowMs: MIN,
    expect: { phase: 'progressing', stepIndex: 0, weight: 0, actions: [], reason: 'waiting for 1 ready canary pod' },
  },
  {
    name: 'step entry: canary ready and route prepared -> weight set, step starts',
    current: entering,
    observed: canaryObserved(0),
    nowMs: MIN,
    expect: { phase: 'progressing', stepIndex: 0, weight: 1, actions: ['setWeight'] },
  },
  {
    name: 'step entry: route not prepared yet -> prepareRoute, no weight',
    current: entering,
    observed: canaryObserved(0, { route: { prepared: false, weight: 0, achievedWeight: 0, testersRouting: false } }),
    nowMs: MIN,
    expect: { phase: 'progressing', weight: 0, actions: ['prepareRoute'] },
  },
  {
    name: 'step entry: canary of an older template -> createCanary updates it',
    current: entering,
    observed: canaryObserved(0, { canary: { templateHash: 'v0', replicas: 1, readyReplicas: 1, servingReplicas: 1 } }),
    nowMs: MIN,
    expect: { phase: 'progressing', weight: 0, actions: ['createCanary'] },
  },
  {
    name: 'step entry: canary not ready by timeouts.canaryReady -> rollback',
    current: entering,
    observed: notReadyCanary,
    nowMs: 10 * MIN,
    expect: { phase: 'rollingBack', reason: 'timeouts.canaryReady (10m): 0 of 1 canary pod(s) ready' },
  },
  {
    name: 'step entry: the pod ready in the Deployment, not yet an endpoint behind the route -> waits, says so',
    current: entering,
    observed: unroutedCanary,
    nowMs: MIN,
    expect: {
      phase: 'progressing',
      weight: 0,
      actions: [],
      reason:
        "waiting for 1 ready canary pod(s) (1 of 1 canary pod(s) ready, 0 of them ready endpoints behind the route; check the Service's selector and its EndpointSlices)",
    },
  },
  {
    name: 'step entry: ready pods that never became endpoints by timeouts.canaryReady -> rollback naming the route',
    current: entering,
    observed: unroutedCanary,
    nowMs: 10 * MIN,
    expect: {
      phase: 'rollingBack',
      reason:
        "timeouts.canaryReady (10m): 1 of 1 canary pod(s) ready, 0 of them ready endpoints behind the route; check the Service's selector and its EndpointSlices",
    },
  },
  {
    name: 'step entry of step 3: bigger canary first (scale), weight unchanged',
    current: { stepIndex: 2, stepStartedAt: undefined, weight: 5, deadlines: { canaryReady: iso(20 * MIN) } },
    observed: canaryObserved(5, { deployment: deployment('v2', { replicas: 10 }) }),
    nowMs: 11 * MIN,
    expect: { phase: 'progressing', stepIndex: 2, weight: 5, actions: ['scaleCanary'] },
  },
  {
    name: 'hold not elapsed -> holds, no actions',
    observed: canaryObserved(1),
    nowMs: 5 * MIN - 1,
    expect: { phase: 'progressing', stepIndex: 0, weight: 1, actions: [], reason: 'holding until' },
  },
  {
    name: 'hold elapsed, no checks, canary already big enough -> next step starts at once',
    observed: canaryObserved(1),
    nowMs: 5 * MIN,
    expect: { phase: 'progressing', stepIndex: 1, weight: 5, actions: ['setWeight'] },
  },
  {
    name: 'hold elapsed, canary too small for the next step -> entered, scaled, weight not yet raised',
    observed: canaryObserved(1, { deployment: deployment('v2', { replicas: 40 }) }),
    nowMs: 5 * MIN,
    expect: { phase: 'progressing', stepIndex: 1, weight: 1, actions: ['scaleCanary'] },
  },
  {
    name: 'hold elapsed on the last step -> promoting',
    current: { stepIndex: 2, weight: 25 },
    observed: canaryObserved(25, { canary: { templateHash: 'v2', replicas: 1, readyReplicas: 1, servingReplicas: 1 } }),
    nowMs: 5 * MIN,
    expect: { phase: 'promoting', actions: ['promoteStable'] },
  },
  {
    name: 'analysis: no round yet -> waits and asks for one when the interval has passed',
    analysis: true,
    observed: canaryObserved(1),
    nowMs: 5 * MIN,
    expect: { phase: 'progressing', stepIndex: 0, actions: ['analyse'], reason: 'waiting for an analysis round' },
  },
  {
    name: 'analysis: not due within the first interval of the step',
    analysis: true,
    observed: canaryObserved(1),
    nowMs: 29 * SEC,
    expect: { phase: 'progressing', actions: [] },
  },
  {
    name: 'analysis: advance-allowed round since the step started, hold elapsed -> advances',
    analysis: true,
    current: { analysis: { lastRound: 9 } },
    observed: canaryObserved(1, { analysis: round(9, 5 * MIN - 10 * SEC, 'advance-allowed') }),
    nowMs: 5 * MIN,
    expect: { phase: 'progressing', stepIndex: 1 },
  },
  {
    name: 'analysis: advance-allowed round older than the step start -> never advances on it',
    analysis: true,
    current: { stepStartedAt: iso(MIN) },
    observed: canaryObserved(1, { analysis: round(9, MIN - SEC, 'advance-allowed') }),
    nowMs: 6 * MIN,
    expect: { phase: 'progressing', stepIndex: 0, reason: 'waiting for an analysis round of this step' },
  },
  {
    name: 'analysis: stale round (older than two intervals) -> holds',
    analysis: true,
    observed: canaryObserved(1, { analysis: round(9, 4 * MIN - SEC, 'advance-allowed') }),
    nowMs: 5 * MIN,
    expect: { phase: 'progressing', stepIndex: 0, reason: 'older than 1m' },
  },
  {
    name: "analysis: 'continue' -> holds",
    analysis: true,
    observed: canaryObserved(1, { analysis: round(9, 5 * MIN - SEC, 'continue') }),
    nowMs: 5 * MIN,
    expect: { phase: 'progressing', stepIndex: 0, reason: 'analysis: continue' },
  },
  {
    name: "analysis: new 'pause' round -> paused (inconclusive)",
    analysis: true,
    observed: canaryObserved(1, { analysis: round(9, 2 * MIN, 'pause') }),
    nowMs: 2 * MIN,
    expect: { phase: 'paused', reason: 'inconclusive' },
  },
  {
    name: "analysis: 'pause' round already seen (before a resume) -> does not pause again",
    analysis: true,
    current: { analysis: { lastRound: 9 } },
    observed: canaryObserved(1, { analysis: round(9, 2 * MIN, 'pause') }),
    nowMs: 2 * MIN + SEC,
    expect: { phase: 'progressing' },
  },
  {
    name: "analysis: new 'rollback' round -> rollback at once, weight 0 first",
    analysis: true,
    observed: canaryObserved(1, { analysis: round(9, 2 * MIN, 'rollback') }),
    nowMs: 2 * MIN,
    expect: {
      phase: 'rollingBack',
      actions: ['setWeight', 'restoreStableTemplate'],
      reason: 'analysis: round 9',
    },
  },
  {
    name: "analysis: 'rollback' round while paused -> rollback",
    phase: 'paused',
    analysis: true,
    current: { pausedBy: { cause: 'manual', by: 'alice', at: iso(0), reason: 'x' } },
    observed: canaryObserved(1, { analysis: round(9, 2 * MIN, 'rollback') }),
    nowMs: 2 * MIN,
    expect: { phase: 'rollingBack' },
  },
  {
    name: "analysis: 'rollback' round from before this release -> ignored",
    analysis: true,
    current: { startedAt: iso(MIN), stepStartedAt: iso(MIN) },
    observed: canaryObserved(1, { analysis: round(9, 30 * SEC, 'rollback') }),
    nowMs: 2 * MIN,
    expect: { phase: 'progressing' },
  },
  {
    name: 'paused by analysis: a later round that passes lifts the pause (Prometheus is back)',
    phase: 'paused',
    analysis: true,
    current: { pausedBy: { cause: 'analysis', by: 'analysis', at: iso(3 * MIN), reason: 'inconclusive' } },
    observed: canaryObserved(1, { analysis: round(12, 4 * MIN, 'advance-allowed') }),
    nowMs: 4 * MIN,
    expect: { phase: 'progressing' },
  },
  {
    name: 'paused by analysis: a passing round from before the pause does not lift it',
    phase: 'paused',
    analysis: true,
    current: { pausedBy: { cause: 'analysis', by: 'analysis', at: iso(3 * MIN), reason: 'inconclusive' } },
    observed: canaryObserved(1, { analysis: round(12, 2 * MIN, 'advance-allowed') }),
    nowMs: 4 * MIN,
    expect: { phase: 'paused' },
  },
  {
    name: 'paused by a person: a passing round does not lift it',
    phase: 'paused',
    analysis: true,
    current: { pausedBy: { cause: 'manual', by: 'alice', at: iso(3 * MIN), reason: 'x' } },
    observed: canaryObserved(1, { analysis: round(12, 4 * MIN, 'advance-allowed') }),
    nowMs: 4 * MIN,
    expect: { phase: 'paused' },
  },
  {
    name: 'paused: never advances, even with everything passed',
    phase: 'paused',
    current: { pausedBy: { cause: 'manual', by: 'alice', at: iso(0), reason: 'x' } },
    observed: canaryObserved(1),
    nowMs: 60 * MIN,
    expect: { phase: 'paused', stepIndex: 0, actions: [] },
  },
  {
    name: 'paused: keeps analysing',
    phase: 'paused',
    analysis: true,
    current: { pausedBy: { cause: 'analysis', by: 'analysis', at: iso(0), reason: 'x' } },
    observed: canaryObserved(1),
    nowMs: 60 * MIN,
    expect: { phase: 'paused', actions: ['analyse'] },
  },
  {
    name: 'paused before a step started: the weight is not raised',
    phase: 'paused',
    current: { ...entering, pausedBy: { cause: 'manual', by: 'alice', at: iso(0), reason: 'x' } },
    observed: canaryObserved(0),
    nowMs: MIN,
    expect: { phase: 'paused', weight: 0, actions: [] },
  },
  {
    name: 'release deadline -> rollback',
    observed: canaryObserved(1),
    nowMs: 24 * 60 * MIN,
    expect: { phase: 'rollingBack', reason: 'timeouts.release' },
  },
  {
    name: 'release deadline applies while paused too',
    phase: 'paused',
    current: { pausedBy: { cause: 'manual', by: 'alice', at: iso(0), reason: 'x' } },
    observed: canaryObserved(1),
    nowMs: 24 * 60 * MIN,
    expect: { phase: 'rollingBack', reason: 'timeouts.release' },
  },
  {
    name: 'canary lost every ready pod while carrying weight -> rollback (invariant 1)',
    observed: canaryObserved(1, { canary: { templateHash: 'v2', replicas: 1, readyReplicas: 0, servingReplicas: 0 } }),
    nowMs: MIN,
    expect: { phase: 'rollingBack', actions: ['setWeight', 'restoreStableTemplate'] },
  },
  {
    // After a scale (or an apiserver outage) the Deployment controller has not yet observed the
    // new generation: readiness of the new size is unknown, the pods behind the route still serve.
    name: 'canary status not yet caught up with a scale while carrying weight -> waits, no rollback',
    current: { stepIndex: 1, weight: 1, stepStartedAt: undefined },
    observed: canaryObserved(1, { canary: { templateHash: 'v2', replicas: 2, readyReplicas: 0, servingReplicas: 1 } }),
    nowMs: 2 * MIN,
    expect: { phase: 'progressing', stepIndex: 1, reason: 'waiting for' },
  },
  {
    name: 'canary deleted behind our back while carrying weight -> rollback',
    observed: canaryObserved(1, { canary: undefined }),
    nowMs: MIN,
    expect: { phase: 'rollingBack' },
  },
  {
    name: 'the route lost its weight (crash after persisting a step) -> setWeight again',
    current: { stepIndex: 1, weight: 5, stepStartedAt: iso(MIN) },
    observed: canaryObserved(1),
    nowMs: 2 * MIN,
    expect: { phase: 'progressing', stepIndex: 1, actions: ['setWeight'] },
  },
  {
    name: 'the stable Deployment was unpaused by someone -> re-paused first',
    observed: canaryObserved(1, { deployment: deployment('v2', { paused: false }) }),
    nowMs: MIN,
    expect: { phase: 'progressing', actions: ['repauseStable'] },
  },
];

describe('step table', () => {
  it.each(rows)('$name', (row) => {
    const p = row.analysis ? analysed : policy();
    const state = releaseState(row.phase ?? 'progressing', row.current);
    const { next, actions } = decide(p, state, row.observed, at(row.nowMs));
    expect(next.phase).toBe(row.expect.phase);
    if (row.expect.stepIndex !== undefined) expect(next.current?.stepIndex).toBe(row.expect.stepIndex);
    if (row.expect.weight !== undefined) expect(next.current?.weight).toBe(row.expect.weight);
    if (row.expect.actions !== undefined) expect(types(effects(actions))).toEqual(row.expect.actions);
    if (row.expect.reason !== undefined) expect(next.reason).toContain(row.expect.reason);
  });
});

describe('steps', () => {
  it('a step with pause: true pauses as soon as its weight is set, and resume lifts only that gate', () => {
    const p = policy({ strategy: { steps: [{ weight: 1, hold: '5m', pause: true }, { weight: 5 }] } });
    const first = decide(p, releaseState('progressing', entering), canaryObserved(0), at(MIN));
    expect(first.next.phase).toBe('paused');
    expect(first.next.current?.pausedBy?.cause).toBe('step');
    expect(types(effects(first.actions))).toEqual(['setWeight']);
    const resumed = decide(
      p,
      first.next,
      canaryObserved(1, { operation: { id: 'r1', op: 'resume', by: 'bob', at: iso(MIN) } }),
      at(2 * MIN),
    );
    expect(resumed.next.phase).toBe('progressing');
    expect(resumed.next.current?.stepIndex).toBe(0); // the hold still applies
    const later = decide(p, resumed.next, canaryObserved(1), at(6 * MIN));
    expect(later.next.current?.stepIndex).toBe(1);
  });

  it('sizes the canary for the step share of the stable replicas', () => {
    const p = policy({ strategy: { steps: [{ weight: 1 }, { weight: 30 }] } });
    const o = canaryObserved(1, { deployment: deployment('v2', { replicas: 10 }) });
    const { next, actions } = decide(p, releaseState('progressing'), o, at(5 * MIN));
    expect(next.current?.stepIndex).toBe(1);
    expect(effects(actions)).toEqual([{ type: 'scaleCanary', replicas: 3 }]);
  });

  it('takes the canary size from the router when the controller passes canaryReplicasPerStep', () => {
    const o = canaryObserved(1, { canaryReplicasPerStep: [1, 2, 5] });
    const { next, actions } = decide(policy(), releaseState('progressing'), o, at(5 * MIN));
    expect(next.current).toMatchObject({ stepIndex: 1, weight: 1 });
    expect(effects(actions)).toEqual([{ type: 'scaleCanary', replicas: 2 }]);
  });

  it('testersFirst: a testers-only step at weight 0 comes before the weighted steps', () => {
    const p = policy({ routing: { header: { name: 'x-canary', value: 'yes' }, testersFirst: '10m' } });
    const o = canaryObserved(0);
    const entered = decide(p, releaseState('progressing', entering), o, at(MIN));
    expect(types(effects(entered.actions))).toEqual(['setTesterRouting']);
    expect(entered.next.current?.stepStartedAt).toBeUndefined();
    const routed = canaryObserved(0, { route: { prepared: true, weight: 0, achievedWeight: 0, testersRouting: true } });
    const started = decide(p, entered.next, routed, at(2 * MIN));
    expect(started.next.current).toMatchObject({ stepIndex: 0, weight: 0, testersOnly: true });
    const held = decide(p, started.next, routed, at(11 * MIN));
    expect(held.next.current?.stepIndex).toBe(0);
    const advanced = decide(p, started.next, routed, at(12 * MIN));
    expect(advanced.next.current?.stepIndex).toBe(1);
  });

  it('a policy edited to fewer steps mid-release continues at its last step', () => {
    const p = policy({ strategy: { steps: [{ weight: 1, hold: '5m' }] } });
    const { next } = decide(p, releaseState('progressing', { stepIndex: 2, weight: 25 }), canaryObserved(25), at(MIN));
    expect(next.current?.stepIndex).toBe(0);
    expect(next.phase).toBe('progressing');
  });
});

describe('a newer template mid-release', () => {
  it.each(['progressing', 'paused', 'waiting'] as const)(
    '%s: restarts with the newer template, weight 0 first',
    (phase) => {
      const o = canaryObserved(5, { deployment: deployment('v3') });
      const { next, actions } = decide(policy(), releaseState(phase, { stepIndex: 1, weight: 5 }), o, at(MIN));
      expect(next.phase).toBe('progressing');
      expect(next.current).toMatchObject({ revision: 3, templateHash: 'v3', stepIndex: 0, weight: 0 });
      expect(next.history.at(-1)).toMatchObject({ revision: 2, outcome: 'superseded' });
      expect(next.failedRevisions).toEqual([]);
      const order = types(effects(actions));
      expect(order[0]).toBe('setWeight');
      expect(effects(actions)[0]).toEqual({ type: 'setWeight', weight: 0 });
      expect(order).toContain('createCanary');
    },
  );

  it('template set back to the stable revision cancels the release without marking it failed', () => {
    const o = canaryObserved(5, { deployment: deployment('v1') });
    const { next, actions } = decide(policy(), releaseState('progressing', { weight: 5 }), o, at(MIN));
    expect(next.phase).toBe('rollingBack');
    expect(types(effects(actions))).toEqual(['setWeight']); // the canary goes once drained (drain.test.ts)
    expect(next.failedRevisions).toEqual([]);
  });

  it('template changed to a revision that failed before cancels the release and does not start it', () => {
    const state = { ...releaseState('progressing', { weight: 5 }), failedRevisions: ['v0'] };
    const o = canaryObserved(5, { deployment: deployment('v0') });
    const first = decide(policy(), state, o, at(MIN));
    expect(first.next.phase).toBe('rollingBack');
    const gone = observed({ deployment: deployment('v0') });
    const second = decide(policy(), first.next, gone, at(2 * MIN));
    expect(second.next.phase).toBe('idle');
    expect(second.next.current).toBeUndefined();
    expect(second.next.history.at(-1)?.outcome).toBe('cancelled');
  });
});

describe('header and cookie routing without testersFirst', () => {
  const p = policy({ routing: { header: { name: 'x-canary', value: 'always' } } });

  it('plans tester routing on every weighted step, and no testers-only step', () => {
    const steps = planSteps(p);
    expect(steps.map((s) => [s.weight, s.testersOnly, s.testerRouting])).toEqual(
      planSteps(policy()).map((s) => [s.weight, false, true]),
    );
  });

  it('turns the routing on once the canary serves, and starts the first step only when it is on', () => {
    const unready = canaryObserved(0, {
      canary: { templateHash: 'v2', replicas: 1, readyReplicas: 0, servingReplicas: 0 },
    });
    const waiting = decide(p, releaseState('progressing', entering), unready, at(MIN));
    expect(types(effects(waiting.actions))).not.toContain('setTesterRouting');
    const ready = canaryObserved(0);
    const entered = decide(p, releaseState('progressing', entering), ready, at(MIN));
    expect(types(effects(entered.actions))).toEqual(['setTesterRouting']);
    expect(entered.next.current?.stepStartedAt).toBeUndefined();
    const routed = canaryObserved(0, { route: { prepared: true, weight: 0, achievedWeight: 0, testersRouting: true } });
    const started = decide(p, entered.next, routed, at(2 * MIN));
    expect(started.next.current).toMatchObject({ stepIndex: 0, weight: 1, testersOnly: false });
    expect(effects(started.actions)).toContainEqual({ type: 'setWeight', weight: 1 });
  });

  it('waits for pods of this release’s template: a previous canary’s pods still serving do not count', () => {
    // Issue 11: the canary Deployment taken over from the release before, its old pod not yet replaced.
    const previousPodsOnly = canaryObserved(0, {
      canary: { templateHash: 'v2', replicas: 1, readyReplicas: 0, servingReplicas: 1 },
    });
    const { next, actions } = decide(p, releaseState('progressing', entering), previousPodsOnly, at(MIN));
    expect(types(effects(actions))).not.toContain('setTesterRouting');
    expect(types(effects(actions))).not.toContain('setWeight');
    expect(next.current?.stepStartedAt).toBeUndefined();
  });

  it('a policy without header or cookie never asks for tester routing', () => {
    const { actions } = decide(policy(), releaseState('progressing', entering), canaryObserved(0), at(MIN));
    expect(types(effects(actions))).not.toContain('setTesterRouting');
  });
});

describe('a route the data plane refused', () => {
  const rejected = 'HTTPRoute shop/web: Gateway infra/public: ResolvedRefs is False (BackendNotFound)';
  const refusedRoute = (weight: number) => ({
    prepared: false,
    weight,
    achievedWeight: weight,
    testersRouting: false,
    rejected,
  });

  it('pauses the release with the Gateway’s reason and gives the canary no weight meanwhile', () => {
    const entered = decide(
      policy(),
      releaseState('progressing', entering),
      canaryObserved(0, { route: refusedRoute(0) }),
      at(MIN),
    );
    expect(entered.next.phase).toBe('paused');
    expect(entered.next.current?.pausedBy).toMatchObject({ cause: 'route', by: 'gateway' });
    expect(entered.next.reason).toBe(`the Gateway refused the route: ${rejected}`);
    expect(types(effects(entered.actions))).not.toContain('setWeight');
    const paused = decide(
      policy(),
      releaseState('paused', {
        stepStartedAt: iso(0),
        weight: 5,
        pausedBy: { cause: 'route', by: 'gateway', at: iso(0), reason: 'x' },
      }),
      canaryObserved(1, { route: refusedRoute(1) }),
      at(MIN),
    );
    expect(paused.next.phase).toBe('paused');
    expect(types(effects(paused.actions))).not.toContain('setWeight');
  });

  it('a refusal seen while a step gate holds the release is reported, not hidden; the gate stays', () => {
    const byStep = { cause: 'step' as const, by: 'policy', at: iso(0), reason: 'step 3 waits for resume' };
    const held = releaseState('paused', { stepStartedAt: iso(0), weight: 5, pausedBy: byStep });
    held.reason = byStep.reason;
    const refused = decide(policy(), held, canaryObserved(1, { route: refusedRoute(1) }), at(MIN));
    expect(refused.next.phase).toBe('paused');
    expect(refused.next.current?.pausedBy).toEqual(byStep);
    expect(refused.next.reason).toBe(`step 3 waits for resume; the Gateway refused the route: ${rejected}`);
    expect(types(effects(refused.actions))).not.toContain('setWeight');
    expect(refused.actions).toContainEqual(expect.objectContaining({ type: 'recordEvent', reason: 'RouteRefused' }));
    // Told once: the same refusal seen again records no second Event.
    const again = decide(policy(), refused.next, canaryObserved(1, { route: refusedRoute(1) }), at(2 * MIN));
    expect(again.actions).not.toContainEqual(expect.objectContaining({ reason: 'RouteRefused' }));
    // Accepted again: the gate's own reason is back, and the gate still holds.
    const accepted = decide(policy(), again.next, canaryObserved(1), at(3 * MIN));
    expect(accepted.next.phase).toBe('paused');
    expect(accepted.next.reason).toBe('step 3 waits for resume');
  });

  it('goes on once the Gateway accepts the route again; a person’s pause stays', () => {
    const byRoute = { cause: 'route' as const, by: 'gateway', at: iso(0), reason: 'x' };
    const resumed = decide(
      policy(),
      releaseState('paused', { stepStartedAt: iso(0), weight: 1, pausedBy: byRoute }),
      canaryObserved(1),
      at(MIN),
    );
    expect(resumed.next.phase).toBe('progressing');
    expect(resumed.next.current?.pausedBy).toBeUndefined();
    const byPerson = { cause: 'manual' as const, by: 'alice', at: iso(0), reason: 'x' };
    const stays = decide(
      policy(),
      releaseState('paused', { stepStartedAt: iso(0), weight: 1, pausedBy: byPerson }),
      canaryObserved(1),
      at(MIN),
    );
    expect(stays.next.phase).toBe('paused');
  });
});
