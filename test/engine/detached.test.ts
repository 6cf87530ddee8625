// Stopping a policy (deleting it) and losing the Deployment: everything is handed back.
import { describe, expect, it } from 'vitest';
import { decide, initialState } from '../../src/engine/index.ts';
import type { Phase } from '../../src/engine/types.ts';
import {
  adoptedState,
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

describe('policy deleted', () => {
  it.each(['progressing', 'paused', 'waiting', 'rollingBack'] as Phase[])(
    'in %s: weight 0, stable template back, canary removed, Deployment unpaused',
    (phase) => {
      const { next, actions } = decide(
        policy(),
        releaseState(phase),
        canaryObserved(1, { policyDeleted: true }),
        at(MIN),
      );
      expect(types(effects(actions))).toEqual([
        'setWeight',
        'restoreStableTemplate',
        'deleteCanary',
        'releaseDeployment',
      ]);
      expect(next.phase).toBe(phase); // not finished until the cluster shows it
    },
  );

  it('cleans the route up only once the canary is gone with its pods (the stable selector would pick them up)', () => {
    const going = canaryObserved(0, { policyDeleted: true });
    going.canary = { ...going.canary!, removing: true };
    const whileGoing = decide(policy(), releaseState('progressing'), going, at(MIN));
    // deleteCanary comes back (the execution sends no second delete): the finalizer stays.
    expect(types(effects(whileGoing.actions))).toEqual(['restoreStableTemplate', 'deleteCanary', 'releaseDeployment']);
    const gone = { ...going, canary: undefined };
    expect(types(effects(decide(policy(), whileGoing.next, gone, at(MIN)).actions))).toContain('cleanupRoute');
  });

  it('during promotion the roll to the new template is let finish', () => {
    const state = releaseState('promoting', { weight: 25, deadlines: { promotion: iso(15 * MIN) } });
    const o = canaryObserved(25, {
      policyDeleted: true,
      deployment: deployment('v2', { paused: false, rolloutComplete: false }),
    });
    expect(types(effects(decide(policy(), state, o, at(MIN)).actions))).toEqual(['setWeight', 'deleteCanary']);
  });

  it('idle: only unpauses', () => {
    expect(
      types(effects(decide(policy(), adoptedState(), observed({ policyDeleted: true }), at(MIN)).actions)),
    ).toEqual(['releaseDeployment']);
  });

  it('before it adopted anything: a pause it did not make stays (an earlier policy’s release, or the user’s own)', () => {
    const earlier = deployment('v3', { adoptedTemplate: 'v1', marked: true, markedByEarlierPolicy: true });
    const route = { prepared: true, weight: 50, achievedWeight: 50, testersRouting: false };
    const leftByEarlier = observed({ policyDeleted: true, deployment: earlier, route });
    // What the earlier policy left is the orphan sweep's: nothing is written, the finalizer may go.
    const afterEarlier = decide(policy(), initialState(), leftByEarlier, at(MIN));
    expect(afterEarlier.actions).toEqual([]);
    expect(afterEarlier.next.reason).toBe('policy deleted before it adopted the Deployment: nothing to hand back');
    // Paused by the user, never adopted: left paused, and no Event claims it was unpaused.
    const pausedByUser = observed({ policyDeleted: true, deployment: deployment('v2', { updatedReplicas: 0 }) });
    expect(decide(policy(), initialState(), pausedByUser, at(MIN)).actions).toEqual([]);
    // Its own adoption's pause, not yet recorded: released, and then reported released.
    const ownPause = observed({
      policyDeleted: true,
      deployment: deployment('v1', { adoptedTemplate: 'v1', marked: true }),
    });
    const releasing = decide(policy(), initialState(), ownPause, at(MIN));
    expect(types(effects(releasing.actions))).toEqual(['releaseDeployment']);
    const released = observed({ policyDeleted: true, deployment: deployment('v1', { paused: false }) });
    const after = decide(policy(), releasing.next, released, at(2 * MIN));
    expect(effects(after.actions)).toEqual([]);
    expect(after.actions.map((a) => (a.type === 'recordEvent' ? a.reason : a.type))).toEqual(['Released']);
  });

  it('an empty action list means done: the release is closed in the history and the finalizer may go', () => {
    const clean = observed({ policyDeleted: true, deployment: deployment('v1', { paused: false }) });
    const { next, actions } = decide(policy(), releaseState('progressing'), clean, at(MIN));
    expect(effects(actions)).toEqual([]);
    expect(next.phase).toBe('idle');
    expect(next.history.at(-1)).toMatchObject({ revision: 2, outcome: 'cancelled' });
    expect(decide(policy(), next, clean, at(2 * MIN)).actions).toEqual([]);
  });
});

describe('Deployment missing', () => {
  it('removes canary objects and forgets the stable revision; adopts again when it returns', () => {
    const gone = canaryObserved(5, { deployment: undefined });
    const { next, actions } = decide(policy(), releaseState('progressing', { weight: 5 }), gone, at(MIN));
    expect(types(effects(actions))).toEqual(['setWeight', 'deleteCanary']);
    expect(next.stable).toBeUndefined();
    expect(next.current).toBeUndefined();
    const back = decide(
      policy(),
      next,
      observed({ deployment: deployment('v7', { rolloutComplete: true }) }),
      at(2 * MIN),
    );
    expect(back.next.stable?.templateHash).toBe('v7');
  });
});
