// blueGreen: a full-size canary previewed by testers, one switch to 100 %, the old version kept
// for switchBackHold (abort within it switches back at once), then promotion.
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/engine/index.ts';
import { at, canaryObserved, deployment, effects, MIN, operation, policy, releaseState, types } from './fixtures.ts';

const bg = policy({ strategy: { type: 'blueGreen', blueGreen: { previewHold: '5m', switchBackHold: '10m' } } });
const fullCanary = { templateHash: 'v2', replicas: 4, readyReplicas: 4, servingReplicas: 4 };
const testers = { prepared: true, weight: 0, achievedWeight: 0, testersRouting: true };

describe('blueGreen', () => {
  it('creates a canary as large as the stable Deployment and turns on tester routing once it serves', () => {
    const entering = releaseState('progressing', { stepStartedAt: undefined, weight: 0 });
    const o = canaryObserved(0, { canary: undefined, route: { ...testers, prepared: false, testersRouting: false } });
    const { actions } = decide(bg, entering, o, at(MIN));
    expect(effects(actions)).toEqual([
      expect.objectContaining({ type: 'createCanary', replicas: 4 }),
      { type: 'prepareRoute' },
    ]);
    const serving = canaryObserved(0, { canary: fullCanary, route: { ...testers, testersRouting: false } });
    expect(effects(decide(bg, entering, serving, at(MIN)).actions)).toEqual([
      { type: 'setTesterRouting', enabled: true },
    ]);
  });

  it('does not switch before the full-size canary is ready', () => {
    const preview = releaseState('progressing', { weight: 0, testersOnly: true });
    const o = canaryObserved(0, { canary: { ...fullCanary, readyReplicas: 3, servingReplicas: 3 }, route: testers });
    const { next } = decide(bg, preview, o, at(5 * MIN));
    expect(next.current).toMatchObject({ stepIndex: 1, weight: 0 });
    expect(next.current?.stepStartedAt).toBeUndefined();
  });

  it('switches all traffic in one write after the preview', () => {
    const preview = releaseState('progressing', { weight: 0, testersOnly: true });
    const o = canaryObserved(0, { canary: fullCanary, route: testers });
    const { next, actions } = decide(bg, preview, o, at(5 * MIN));
    expect(next.current).toMatchObject({ stepIndex: 1, weight: 100 });
    expect(effects(actions)).toEqual([{ type: 'setWeight', weight: 100 }]);
  });

  it('abort within switchBackHold switches back at once: weight 0 is the first write', () => {
    const switched = releaseState('progressing', {
      stepIndex: 1,
      weight: 100,
      stepStartedAt: at(5 * MIN).toISOString(),
    });
    const o = canaryObserved(100, { canary: fullCanary, operation: operation('abort') });
    const { next, actions } = decide(bg, switched, o, at(7 * MIN));
    expect(next.phase).toBe('rollingBack');
    expect(effects(actions)[0]).toEqual({ type: 'setWeight', weight: 0 });
    expect(types(effects(actions))).toEqual(['setWeight', 'restoreStableTemplate']); // canary removed once drained
  });

  it('keeps the old version for switchBackHold, then promotes with the canary still at 100 % until the roll is done', () => {
    const switched = releaseState('progressing', {
      stepIndex: 1,
      weight: 100,
      stepStartedAt: at(5 * MIN).toISOString(),
    });
    const o = canaryObserved(100, { canary: fullCanary });
    expect(decide(bg, switched, o, at(15 * MIN - 1)).next.phase).toBe('progressing');
    const promoting = decide(bg, switched, o, at(15 * MIN));
    expect(promoting.next.phase).toBe('promoting');
    expect(effects(promoting.actions)).toEqual([{ type: 'promoteStable', templateHash: 'v2' }]);
    const rolled = canaryObserved(100, {
      canary: fullCanary,
      deployment: deployment('v2', { paused: false, rolloutComplete: true }),
    });
    const done = decide(bg, promoting.next, rolled, at(16 * MIN));
    expect(types(effects(done.actions))).toEqual(['setWeight', 'repauseStable']); // canary removed once drained
  });
});
