// The drain: after the canary's weight is 0 (rollback, abort, promotion), the canary is kept for
// spec.traffic.drainDelay so the data plane stops sending to it before it goes; the route
// objects go only once the canary is gone. Rollback itself still begins with weight 0 at once.
import { describe, expect, it } from 'vitest';
import { decide, initialState, nextWakeAt } from '../../src/engine/index.ts';
import type { Observed } from '../../src/engine/observed.ts';
import type { ReleaseState } from '../../src/engine/types.ts';
import {
  at,
  CHECKS,
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
  SEC,
  T0,
  types,
} from './fixtures.ts';
import { Cluster, type Driver, drive } from './sim.ts';

const rollingBack = (extra: Partial<ReleaseState> = {}): ReleaseState => ({
  ...releaseState('rollingBack', {
    weight: 50,
    rollback: { reason: 'analysis: errors', outcome: 'rolledBack' },
    deadlines: { rollback: iso(15 * MIN) },
  }),
  ...extra,
});

/** The cluster after weight 0 and the stable template were written: only the canary is left. */
const idleCanary = (extra: Partial<Observed['route']> = {}): Observed =>
  observed({
    deployment: deployment('v1'),
    canary: { templateHash: 'v2', replicas: 2, readyReplicas: 2, servingReplicas: 2 },
    route: { prepared: true, weight: 0, achievedWeight: 0, testersRouting: false, ...extra },
  });

describe('drain after weight 0', () => {
  const cases: {
    name: string;
    state: ReleaseState;
    observed: Observed;
    nowMs: number;
    drainDelay?: string;
    actions: string[];
    drainSince?: string | null;
  }[] = [
    {
      name: 'rollback begins: weight 0 first, and the drain with it (one status write); nothing removed',
      state: rollingBack(),
      observed: canaryObserved(50),
      nowMs: MIN,
      actions: ['setWeight', 'restoreStableTemplate'],
      drainSince: iso(MIN),
    },
    {
      name: 'weight 0 seen: the drain starts now, the canary stays (weight 0 not written again during it)',
      state: rollingBack(),
      observed: idleCanary(),
      nowMs: MIN,
      actions: ['setWeight'],
      drainSince: iso(MIN),
    },
    {
      name: 'during the drain: nothing removed (a restart keeps the drain start)',
      state: rollingBack({ drain: { since: iso(MIN) } }),
      observed: idleCanary(),
      nowMs: MIN + 5 * SEC - 1,
      actions: [],
      drainSince: iso(MIN),
    },
    {
      name: 'drain over: the canary is deleted; the route stays until it is gone',
      state: rollingBack({ drain: { since: iso(MIN) } }),
      observed: idleCanary(),
      nowMs: MIN + 5 * SEC,
      actions: ['deleteCanary'],
      drainSince: iso(MIN),
    },
    {
      name: 'a longer drainDelay is honoured',
      state: rollingBack({ drain: { since: iso(MIN) } }),
      observed: idleCanary(),
      nowMs: MIN + 10 * SEC,
      drainDelay: '30s',
      actions: [],
      drainSince: iso(MIN),
    },
    {
      name: 'canary gone: the route objects are removed; the drain’s record stays (no status write of its own)',
      state: rollingBack({ drain: { since: iso(MIN) } }),
      observed: observed({
        deployment: deployment('v1'),
        route: { prepared: true, weight: 0, achievedWeight: 0, testersRouting: false },
      }),
      nowMs: MIN + 6 * SEC,
      actions: ['cleanupRoute'],
      drainSince: iso(MIN),
    },
    {
      name: 'testers still routed: weight 0 and their routing off in one batch; the drain starts with it',
      state: rollingBack(),
      observed: idleCanary({ testersRouting: true }),
      nowMs: MIN,
      actions: ['setWeight', 'setTesterRouting'],
      drainSince: iso(MIN),
    },
    {
      name: 'someone raised the weight again during the drain: weight 0 again, the drain starts over with it',
      state: rollingBack({ drain: { since: iso(MIN) } }),
      observed: idleCanary({ weight: 10, achievedWeight: 10 }),
      nowMs: MIN + 6 * SEC,
      actions: ['setWeight'],
      drainSince: iso(MIN + 6 * SEC),
    },
    {
      name: 'nothing routes to the canary (no route objects): removed at once',
      state: rollingBack(),
      observed: observed({
        deployment: deployment('v1'),
        canary: { templateHash: 'v2', replicas: 1, readyReplicas: 0, servingReplicas: 0 },
      }),
      nowMs: MIN,
      actions: ['deleteCanary'],
      drainSince: null,
    },
    {
      name: 'drainDelay 0s: removed in the same batch, after the weight-0 write',
      state: rollingBack(),
      observed: canaryObserved(50),
      nowMs: MIN,
      drainDelay: '0s',
      actions: ['setWeight', 'restoreStableTemplate', 'deleteCanary'],
      drainSince: null,
    },
    {
      name: 'after promotion (succeeded), the canary still weighted: weight 0 and the drain start in one decision',
      state: { ...initialStateAdopted(), phase: 'succeeded' },
      observed: idleCanary({ weight: 50, achievedWeight: 50 }),
      nowMs: MIN,
      actions: ['setWeight'],
      drainSince: iso(MIN),
    },
    {
      name: 'restarted with a drain on record but the weight-0 write never went out: written now, the drain starts over',
      state: { ...initialStateAdopted(), phase: 'succeeded', drain: { since: iso(MIN) } },
      observed: idleCanary({ weight: 50, achievedWeight: 50 }),
      nowMs: MIN + 2 * SEC,
      actions: ['setWeight'],
      drainSince: iso(MIN + 2 * SEC),
    },
    {
      name: 'after promotion (succeeded): the leftover canary waits for its drain too',
      state: { ...initialStateAdopted(), phase: 'succeeded', drain: { since: iso(MIN) } },
      observed: idleCanary(),
      nowMs: MIN + 2 * SEC,
      actions: [],
      drainSince: iso(MIN),
    },
  ];

  it.each(cases)('$name', (c) => {
    const p = policy(c.drainDelay === undefined ? {} : { traffic: { drainDelay: c.drainDelay } });
    const { next, actions } = decide(p, c.state, c.observed, at(c.nowMs));
    expect(types(effects(actions))).toEqual(c.actions);
    if (c.drainSince !== undefined) expect(next.drain?.since ?? null).toBe(c.drainSince);
  });

  it('says so once, in an Event, when the drain starts', () => {
    const first = decide(policy(), rollingBack(), idleCanary(), at(MIN));
    expect(eventsOf(first.actions)).toEqual([
      {
        type: 'recordEvent',
        eventType: 'Normal',
        reason: 'Draining',
        message: 'the canary receives no new requests; it is removed after spec.traffic.drainDelay (5s)',
      },
    ]);
    const again = decide(policy(), first.next, idleCanary(), at(MIN + SEC));
    expect(eventsOf(again.actions)).toEqual([]);
  });

  it('wakes the controller when the drain ends, in a release and after it', () => {
    const p = policy();
    const rolling = decide(p, rollingBack(), idleCanary(), at(MIN)).next;
    expect(nextWakeAt(rolling, p, at(MIN))).toEqual(at(MIN + 5 * SEC));
    const rested: ReleaseState = { ...initialStateAdopted(), phase: 'succeeded', drain: { since: iso(MIN) } };
    expect(nextWakeAt(rested, p, at(MIN + SEC))).toEqual(at(MIN + 5 * SEC));
    expect(nextWakeAt(rested, p, at(MIN + 5 * SEC))).toBeNull();
  });

  it('an abort still writes weight 0 first, in the same call (invariant 2)', () => {
    const state = releaseState('progressing', { stepIndex: 2, weight: 25 });
    const { next, actions } = decide(policy(), state, canaryObserved(25, { operation: operation('abort') }), at(MIN));
    expect(next.phase).toBe('rollingBack');
    expect(effects(actions)[0]).toEqual({ type: 'setWeight', weight: 0 });
    expect(types(effects(actions))).not.toContain('deleteCanary');
  });
});

describe('drain in whole journeys (the simulated cluster checks the drain on every delete)', () => {
  const start = (cluster: Cluster): Driver => ({ cluster, state: initialState(), now: T0, phases: [] });

  it('a rolled-back canary goes drainDelay after its weight was 0, then its route', () => {
    const p = policy({ analysis: CHECKS, traffic: { drainDelay: '20s' } });
    const analyst = (request: { weight: number }) => (request.weight >= 5 ? 'rollback' : 'advance-allowed');
    const d = start(new Cluster({ drainDelayMs: 20 * SEC, analyst }));
    drive(d, p, (x) => x.state.stable !== undefined && x.cluster.deployment.paused);
    d.cluster.setTemplate('v2');
    drive(d, p, (x) => x.state.phase === 'failed' && x.cluster.canary === undefined && !x.cluster.route.prepared);
    expect(d.state.phase).toBe('failed');
    const log = d.cluster.log;
    const raised = log.findLastIndex((action) => action.type === 'setWeight' && action.weight > 0);
    const zero = log.findIndex((action, index) => index > raised && action.type === 'setWeight');
    const deleted = log.findIndex((action) => action.type === 'deleteCanary');
    expect(zero).toBeGreaterThan(raised);
    expect(deleted).toBeGreaterThan(zero);
    expect(log.findIndex((action) => action.type === 'cleanupRoute')).toBeGreaterThan(deleted);
    // the simulated cluster recorded a violation for any delete sooner than 20 s after weight 0
    expect(d.cluster.violations).toEqual([]);
  });

  it('a promoted release keeps the canary through the drain, then removes it', () => {
    const p = policy();
    const d = start(new Cluster());
    drive(d, p, (x) => x.state.stable !== undefined && x.cluster.deployment.paused);
    d.cluster.setTemplate('v2');
    drive(d, p, (x) => x.state.phase === 'succeeded');
    expect(d.cluster.canary).toBeDefined(); // weight 0 was just written: still draining
    drive(d, p, (x) => x.cluster.canary === undefined && !x.cluster.route.prepared, { maxCalls: 20 });
    expect(d.cluster.canary).toBeUndefined();
    expect(d.cluster.route.prepared).toBe(false);
    expect(d.cluster.violations).toEqual([]);
    // Nothing left to do, nothing to write: the pass that found the canary gone left the state
    // as the drain's start had written it (one status write less per release).
    const rested = d.state;
    const again = decide(p, rested, d.cluster.observe(), new Date(d.now.getTime() + 60 * SEC));
    expect(effects(again.actions)).toEqual([]);
    expect(again.next).toEqual(rested);
    expect(rested.drain).toBeDefined();
    expect(nextWakeAt(rested, p, d.now)).toBeNull();
  });

  it('a drain record left by the last release is not read by the next one', () => {
    const p = policy({ traffic: { drainDelay: '30s' } });
    const d = start(new Cluster({ drainDelayMs: 30 * SEC }));
    drive(d, p, (x) => x.state.stable !== undefined && x.cluster.deployment.paused);
    d.cluster.setTemplate('v2');
    drive(d, p, (x) => x.state.phase === 'succeeded' && x.cluster.canary === undefined && !x.cluster.route.prepared);
    expect(d.state.drain).toBeDefined();
    d.cluster.setTemplate('v3');
    const started = decide(p, d.state, d.cluster.observe(), d.now);
    expect(started.next.phase).toBe('progressing');
    expect(started.next.drain).toBeUndefined();
    // and v3 is rolled back by a person: its canary still waits its own 30 s after weight 0
    drive(d, p, (x) => x.state.current?.stepStartedAt !== undefined && x.state.current.revision === 3);
    d.cluster.operation = { id: 'abort-v3', op: 'abort', by: 'alice', at: d.now.toISOString() };
    drive(d, p, (x) => x.state.phase === 'idle' && x.cluster.canary === undefined && !x.cluster.route.prepared);
    expect(d.cluster.violations).toEqual([]);
  });

  it('a controller killed during the drain neither removes the canary early nor drains again', () => {
    const p = policy({ traffic: { drainDelay: '30s' } });
    const state = decide(p, rollingBack(), idleCanary(), at(MIN)).next;
    // "restart": the persisted state is read back (JSON) and decide runs again 10 s later
    const restored = JSON.parse(JSON.stringify(state)) as ReleaseState;
    const after = decide(p, restored, idleCanary(), at(MIN + 10 * SEC));
    expect(types(effects(after.actions))).not.toContain('deleteCanary');
    expect(after.next.drain).toEqual({ since: iso(MIN) });
    expect(types(effects(decide(p, after.next, idleCanary(), at(MIN + 30 * SEC)).actions))).toContain('deleteCanary');
  });
});

function initialStateAdopted(): ReleaseState {
  return decide(policy(), initialState(), observed(), T0).next;
}
