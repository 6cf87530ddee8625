// promoting and rollingBack: the order of writes is part of the contract (invariants 1 and 2).
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/engine/index.ts';
import {
  at,
  canaryObserved,
  deployment,
  effects,
  iso,
  MIN,
  observed,
  policy,
  releaseState,
  types,
} from './fixtures.ts';

const promoting = (extra = {}) =>
  releaseState('promoting', { stepIndex: 2, weight: 25, deadlines: { promotion: iso(15 * MIN) }, ...extra });
const rollingBack = (extra = {}) =>
  releaseState('rollingBack', {
    weight: 5,
    rollback: { reason: 'analysis: errors', outcome: 'rolledBack' },
    deadlines: { rollback: iso(15 * MIN) },
    ...extra,
  });

describe('promotion', () => {
  it('unpauses the stable Deployment and keeps the canary weight while it rolls', () => {
    const { next, actions } = decide(policy(), promoting(), canaryObserved(25), at(MIN));
    expect(next.phase).toBe('promoting');
    expect(effects(actions)).toEqual([{ type: 'promoteStable', templateHash: 'v2' }]);
  });

  it('waits, weight unchanged, while the roll is in progress', () => {
    const rolling = canaryObserved(25, { deployment: deployment('v2', { paused: false, rolloutComplete: false }) });
    const { next, actions } = decide(policy(), promoting(), rolling, at(2 * MIN));
    expect(next.phase).toBe('promoting');
    expect(effects(actions)).toEqual([]);
  });

  it('when the roll is complete: weight 0 first, then re-pause, then (drained) the canary objects go', () => {
    const rolledDeployment = deployment('v2', { paused: false, rolloutComplete: true });
    const rolled = canaryObserved(25, { deployment: rolledDeployment });
    const { next, actions } = decide(policy(), promoting(), rolled, at(3 * MIN));
    expect(next.phase).toBe('succeeded');
    expect(next.stable).toMatchObject({ revision: 2, templateHash: 'v2' });
    expect(next.current).toBeUndefined();
    expect(next.history.at(-1)).toMatchObject({ revision: 2, outcome: 'succeeded' });
    expect(types(effects(actions))).toEqual(['setWeight', 'repauseStable']);
    expect(effects(actions)[0]).toEqual({ type: 'setWeight', weight: 0 });
    // weight 0 seen: the drain (default 5s) starts; then the canary, then (once gone) the route
    const idle = canaryObserved(0, { deployment: { ...rolledDeployment, paused: true } });
    const draining = decide(policy(), next, idle, at(3 * MIN + 1_000));
    expect(effects(draining.actions)).toEqual([]);
    const drained = decide(policy(), draining.next, idle, at(3 * MIN + 6_000));
    expect(effects(drained.actions)).toEqual([{ type: 'deleteCanary' }]);
    const gone = decide(
      policy(),
      drained.next,
      observed({ deployment: { ...rolledDeployment, paused: true }, route: idle.route }),
      at(3 * MIN + 7_000),
    );
    expect(effects(gone.actions)).toEqual([{ type: 'cleanupRoute' }]);
  });

  it('the canary losing its pods during promotion sends all traffic to the stable side', () => {
    const o = canaryObserved(25, {
      deployment: deployment('v2', { paused: false, rolloutComplete: false }),
      canary: { templateHash: 'v2', replicas: 1, readyReplicas: 0, servingReplicas: 0 },
    });
    const { next, actions } = decide(policy(), promoting(), o, at(MIN));
    expect(next.phase).toBe('promoting');
    expect(effects(actions)).toEqual([{ type: 'setWeight', weight: 0 }]);
  });

  it('a roll stuck past timeouts.promotion is rolled back to the stable template, unpaused', () => {
    const stuck = canaryObserved(25, { deployment: deployment('v2', { paused: false, rolloutComplete: false }) });
    const { next, actions } = decide(policy(), promoting(), stuck, at(15 * MIN));
    expect(next.phase).toBe('rollingBack');
    expect(next.reason).toContain('timeouts.promotion');
    expect(next.failedRevisions).toEqual(['v2']);
    expect(types(effects(actions))).toEqual(['setWeight', 'restoreStableTemplate']); // canary removed once drained
    // once the template is back, the still-unpaused Deployment converges, then is paused again
    const converging = observed({ deployment: deployment('v1', { paused: false, rolloutComplete: false }) });
    const second = decide(policy(), next, converging, at(16 * MIN));
    expect(second.next.phase).toBe('rollingBack');
    expect(effects(second.actions)).toEqual([]);
    const converged = observed({ deployment: deployment('v1', { paused: false, rolloutComplete: true }) });
    const third = decide(policy(), second.next, converged, at(17 * MIN));
    expect(effects(third.actions)).toEqual([{ type: 'repauseStable' }]);
    const done = decide(policy(), third.next, observed(), at(18 * MIN));
    expect(done.next.phase).toBe('failed');
  });

  it('a newer template during promotion pauses the Deployment at once and restarts the release', () => {
    const o = canaryObserved(25, { deployment: deployment('v3', { paused: false, rolloutComplete: false }) });
    const { next, actions } = decide(policy(), promoting(), o, at(MIN));
    expect(next.phase).toBe('progressing');
    expect(next.current?.templateHash).toBe('v3');
    expect(next.stable?.templateHash).toBe('v1');
    expect(next.history.at(-1)).toMatchObject({ revision: 2, outcome: 'superseded' });
    expect(types(effects(actions)).slice(0, 3)).toEqual(['repauseStable', 'setWeight', 'createCanary']);
  });

  it('the template set back to stable during promotion cancels and converges back', () => {
    const o = canaryObserved(25, { deployment: deployment('v1', { paused: false, rolloutComplete: false }) });
    const { next, actions } = decide(policy(), promoting(), o, at(MIN));
    expect(next.phase).toBe('rollingBack');
    expect(next.failedRevisions).toEqual([]);
    expect(types(effects(actions))).toEqual(['setWeight']); // canary removed once drained
  });
});

describe('rollback', () => {
  it('weight 0 first, then the stable template; the canary objects wait for the drain', () => {
    const { next, actions } = decide(policy(), rollingBack(), canaryObserved(5), at(MIN));
    expect(next.phase).toBe('rollingBack');
    expect(effects(actions)).toEqual([
      { type: 'setWeight', weight: 0 },
      { type: 'restoreStableTemplate', templateHash: 'v1', template: deployment('v1').template },
    ]);
    // The drain starts with the weight-0 write, persisted with this decision (no second write).
    expect(next.drain).toEqual({ since: iso(MIN) });
  });

  it('with drainDelay 0s the canary goes in the same batch, after weight 0; the route once it is gone', () => {
    const p = policy({ traffic: { drainDelay: '0s' } });
    const { actions } = decide(p, rollingBack(), canaryObserved(5), at(MIN));
    expect(types(effects(actions))).toEqual(['setWeight', 'restoreStableTemplate', 'deleteCanary']);
  });

  it('after a crash half way, asks only for what is not done yet (weight 0 still first)', () => {
    const half = observed({
      deployment: deployment('v1'),
      canary: { templateHash: 'v2', replicas: 1, readyReplicas: 1, servingReplicas: 1 },
      route: { prepared: true, weight: 0, achievedWeight: 0, testersRouting: false },
    });
    const draining = rollingBack();
    draining.drain = { since: iso(MIN) };
    // Weight 0 is on the route already: not written again.
    expect(types(effects(decide(policy(), draining, half, at(MIN + 5_000)).actions))).toEqual(['deleteCanary']);
  });

  it('does not unpause (nor unpin the Service) before the Deployment controller has seen the stable template written back', () => {
    const written = canaryObserved(0, { deployment: deployment('v1', { rolloutComplete: false }) });
    written.deployment = { ...written.deployment!, statusObserved: false };
    const waiting = decide(policy(), rollingBack(), written, at(MIN));
    expect(types(effects(waiting.actions))).not.toContain('promoteStable');
    // Seen, and really incomplete (a rollback during promotion): the roll back goes on.
    written.deployment = { ...written.deployment!, statusObserved: true };
    expect(types(effects(decide(policy(), rollingBack(), written, at(MIN)).actions))).toContain('promoteStable');
  });

  it('ends in failed with a history entry once the cluster is clean', () => {
    const { next, actions } = decide(policy(), rollingBack(), observed(), at(MIN));
    expect(next.phase).toBe('failed');
    expect(next.current).toBeUndefined();
    expect(next.history.at(-1)).toMatchObject({ revision: 2, outcome: 'rolledBack', reason: 'analysis: errors' });
    expect(effects(actions)).toEqual([]);
  });

  it('a cancellation ends in idle with outcome cancelled', () => {
    const state = rollingBack({ rollback: { reason: 'template reverted', outcome: 'cancelled' } });
    const { next } = decide(policy(), state, observed(), at(MIN));
    expect(next.phase).toBe('idle');
    expect(next.history.at(-1)?.outcome).toBe('cancelled');
  });

  it('a newer template during rollback is not overwritten; it is released after the rollback', () => {
    const o = observed({ deployment: deployment('v3') });
    const first = decide(policy(), rollingBack(), o, at(MIN));
    expect(first.next.phase).toBe('progressing');
    expect(first.next.current?.templateHash).toBe('v3');
    expect(first.next.history.at(-1)?.outcome).toBe('rolledBack');
    expect(types(first.actions)).not.toContain('restoreStableTemplate');
  });

  it('a rollback that cannot converge gives up at its deadline and says a person is needed', () => {
    const stuck = observed({ deployment: deployment('v1', { paused: false, rolloutComplete: false }) });
    const { next } = decide(policy(), rollingBack(), stuck, at(15 * MIN));
    expect(next.phase).toBe('failed');
    expect(next.reason).toContain('needs a person');
  });
});
