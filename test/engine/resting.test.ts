// idle / succeeded / failed and adoption: what happens before and between releases.
import { describe, expect, it } from 'vitest';
import { decide, initialState } from '../../src/engine/index.ts';
import { adoptedState, deployment, effects, HOUR, observed, policy, T0, types } from './fixtures.ts';

describe('adoption', () => {
  it('records the stable revision and pauses the Deployment without touching its pods', () => {
    const { next, actions } = decide(
      policy(),
      initialState(),
      observed({ deployment: deployment('v1', { paused: false }) }),
      T0,
    );
    expect(next.phase).toBe('idle');
    expect(next.stable).toMatchObject({ revision: 1, templateHash: 'v1', changeCause: 'image app:v1' });
    expect(next.history).toEqual([expect.objectContaining({ revision: 1, outcome: 'adopted' })]);
    expect(types(actions)).toEqual(['adoptDeployment']);
  });

  it('waits for a Deployment that is in the middle of its own roll', () => {
    const d = deployment('v1', { paused: false, rolloutComplete: false });
    const { next, actions } = decide(policy(), initialState(), observed({ deployment: d }), T0);
    expect(next.stable).toBeUndefined();
    expect(next.reason).toContain('rollout to complete');
    expect(actions).toEqual([]);
  });

  it('removes canary leftovers found at adoption, weight first', () => {
    const o = observed({
      canary: { templateHash: 'x', replicas: 1, readyReplicas: 1, servingReplicas: 1 },
      route: { prepared: true, weight: 5, achievedWeight: 5, testersRouting: false },
    });
    const first = decide(policy(), initialState(), o, T0);
    // The route is cleaned up once the canary is gone (pods included), not in the same batch.
    expect(types(first.actions)).toEqual(['setWeight', 'adoptDeployment', 'deleteCanary']);
    const gone = observed({ route: { prepared: true, weight: 0, achievedWeight: 0, testersRouting: false } });
    expect(types(decide(policy(), first.next, gone, T0).actions)).toEqual(['cleanupRoute']);
  });
});

describe('resting phases', () => {
  const phases = ['idle', 'succeeded', 'failed'] as const;

  it.each(phases)('%s: nothing to do when the Deployment is paused at its stable revision', (phase) => {
    const state = { ...adoptedState(), phase };
    const { next, actions } = decide(policy(), state, observed(), T0);
    expect(next.phase).toBe(phase);
    expect(actions).toEqual([]);
  });

  it.each(phases)('%s: a new template starts a release at step 1', (phase) => {
    const state = { ...adoptedState(), phase };
    const { next, actions } = decide(policy(), state, observed({ deployment: deployment('v2') }), T0);
    expect(next.phase).toBe('progressing');
    expect(next.current).toMatchObject({ revision: 2, templateHash: 'v2', stepIndex: 0, weight: 0 });
    expect(next.current?.stepStartedAt).toBeUndefined();
    expect(next.current?.deadlines.canaryReady).toBe(new Date(T0.getTime() + 10 * 60_000).toISOString());
    expect(next.current?.deadlines.release).toBe(new Date(T0.getTime() + 24 * HOUR).toISOString());
    expect(effects(actions)).toEqual([
      { type: 'createCanary', templateHash: 'v2', template: deployment('v2').template, replicas: 1 },
      { type: 'prepareRoute' },
    ]);
  });

  it.each(phases)('%s: a template that failed before is not released again', (phase) => {
    const state = { ...adoptedState(), phase, failedRevisions: ['v2'] };
    const { next, actions } = decide(policy(), state, observed({ deployment: deployment('v2') }), T0);
    expect(next.phase).toBe(phase);
    expect(next.current).toBeUndefined();
    expect(next.reason).toContain('kubectl canary retry');
    expect(actions).toEqual([]);
  });

  it.each(phases)('%s: leftovers of the last release go, weight 0 first, and the Deployment is re-paused', (phase) => {
    const state = { ...adoptedState(), phase };
    const o = observed({
      deployment: deployment('v1', { paused: false }),
      canary: { templateHash: 'v1', replicas: 1, readyReplicas: 1, servingReplicas: 1 },
      route: { prepared: true, weight: 3, achievedWeight: 3, testersRouting: false },
    });
    // the canary itself goes once drained (drain.test.ts)
    expect(types(decide(policy(), state, o, T0).actions)).toEqual(['setWeight', 'repauseStable']);
  });

  it('does not re-pause a Deployment that is still rolling by itself', () => {
    const o = observed({ deployment: deployment('v1', { paused: false, rolloutComplete: false }) });
    expect(decide(policy(), adoptedState(), o, T0).actions).toEqual([]);
  });

  it('a new template outside the start window waits for it', () => {
    const p = policy({ schedule: { startWindows: [{ cron: '0 2 * * *', duration: '2h' }] } });
    const { next, actions } = decide(p, adoptedState(), observed({ deployment: deployment('v2') }), T0);
    expect(next.phase).toBe('waiting');
    expect(next.reason).toContain('outside start windows');
    expect(next.current?.startedAt).toBeUndefined();
    expect(effects(actions)).toEqual([]);
  });
});
