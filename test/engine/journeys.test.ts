// Whole releases played against the simulated cluster: what an SRE watching would see.
import { describe, expect, it } from 'vitest';
import { initialState } from '../../src/engine/index.ts';
import { CHECKS, MIN, policy, T0 } from './fixtures.ts';
import { Cluster, type Driver, drive } from './sim.ts';

const start = (cluster = new Cluster()): Driver => ({ cluster, state: initialState(), now: T0, phases: [] });
const resting = (d: Driver) => d.state.phase === 'succeeded' || d.state.phase === 'failed';

describe('journeys', () => {
  it('adopts, releases v2 step by step and promotes it', () => {
    const p = policy();
    const d = start();
    drive(d, p, (x) => x.state.stable !== undefined && x.cluster.deployment.paused);
    d.cluster.setTemplate('v2');
    const startedAt = d.now.getTime();
    drive(d, p, resting);
    drive(d, p, (x) => x.cluster.canary === undefined && !x.cluster.route.prepared);
    expect(d.state.phase).toBe('succeeded');
    expect(d.state.stable?.templateHash).toBe('v2');
    expect(d.cluster.podHistory).toEqual(['v1', 'v2']);
    expect(d.cluster.deployment.paused).toBe(true);
    expect(d.cluster.violations).toEqual([]);
    const weights = d.cluster.log.flatMap((a) => (a.type === 'setWeight' ? [a.weight] : []));
    expect(weights).toEqual([1, 5, 25, 0]);
    expect(d.now.getTime() - startedAt).toBeGreaterThanOrEqual(15 * MIN);
    expect(d.state.history.map((h) => [h.revision, h.outcome])).toEqual([
      [1, 'adopted'],
      [2, 'succeeded'],
    ]);
  });

  it('rolls back on a failing analysis round and does not retry the revision', () => {
    const p = policy({ analysis: CHECKS });
    const d = start(new Cluster({ analyst: (request) => (request.stepIndex === 1 ? 'rollback' : 'advance-allowed') }));
    drive(d, p, (x) => x.state.stable !== undefined);
    d.cluster.setTemplate('v2');
    drive(d, p, resting);
    drive(d, p, (x) => x.cluster.canary === undefined, { maxCalls: 5 });
    expect(d.state.phase).toBe('failed');
    expect(d.state.failedRevisions).toEqual(['v2']);
    expect(d.cluster.deployment.hash).toBe('v1');
    expect(d.cluster.podHistory).toEqual(['v1']);
    expect(d.cluster.violations).toEqual([]);
    drive(d, p, () => false, { maxCalls: 20 });
    expect(d.state.phase).toBe('failed');
  });

  it('rolls back when the canary never becomes ready', () => {
    const p = policy();
    const d = start(new Cluster({ canaryHealthy: false }));
    drive(d, p, (x) => x.state.stable !== undefined);
    d.cluster.setTemplate('v2');
    drive(d, p, resting);
    expect(d.state.phase).toBe('failed');
    expect(d.state.history.at(-1)?.reason).toMatch(
      /^the canary was not ready within timeouts\.canaryReady \(\w+\): 0 of \d+ canary pod\(s\) ready$/,
    );
    expect(d.cluster.violations).toEqual([]);
  });

  it('runs a blueGreen release: preview for testers, one switch, promotion', () => {
    const p = policy({ strategy: { type: 'blueGreen', blueGreen: { previewHold: '5m', switchBackHold: '10m' } } });
    const d = start();
    drive(d, p, (x) => x.state.stable !== undefined);
    d.cluster.setTemplate('v2');
    drive(d, p, resting);
    drive(d, p, (x) => x.cluster.canary === undefined);
    expect(d.state.phase).toBe('succeeded');
    const writes = d.cluster.log.filter((a) => ['setWeight', 'setTesterRouting', 'createCanary'].includes(a.type));
    expect(writes).toEqual([
      expect.objectContaining({ type: 'createCanary', replicas: 4 }),
      { type: 'setTesterRouting', enabled: true },
      { type: 'setWeight', weight: 100 },
      { type: 'setWeight', weight: 0 },
      // testers too stop reaching the canary before it is drained and removed
      { type: 'setTesterRouting', enabled: false },
    ]);
    expect(d.cluster.violations).toEqual([]);
  });

  it('a promotion whose roll never completes rolls back at timeouts.promotion and ends paused at v1', () => {
    const p = policy();
    const d = start(new Cluster({ stableRolls: false }));
    drive(d, p, (x) => x.state.stable !== undefined && x.cluster.deployment.paused);
    d.cluster.setTemplate('v2');
    drive(d, p, resting);
    drive(d, p, (x) => x.cluster.deployment.paused && x.cluster.canary === undefined, { maxCalls: 10 });
    expect(d.phases).toContain('promoting');
    expect(d.state.phase).toBe('failed');
    expect(d.state.history.at(-1)?.reason).toContain('timeouts.promotion');
    expect(d.cluster.deployment).toMatchObject({ hash: 'v1', podsHash: 'v1', paused: true });
    expect(d.cluster.violations).toEqual([]);
  });

  it('deleting the policy mid-release hands the Deployment back unpaused at its stable revision', () => {
    const p = policy();
    const d = start();
    drive(d, p, (x) => x.state.stable !== undefined);
    d.cluster.setTemplate('v2');
    drive(d, p, (x) => x.state.current?.weight === 5);
    d.cluster.policyDeleted = true;
    let calls = 0;
    drive(d, p, (x) => x.state.reason === 'policy deleted: Deployment released' || ++calls > 5);
    expect(d.cluster.deployment).toMatchObject({ hash: 'v1', paused: false, podsHash: 'v1' });
    expect(d.cluster.canary).toBeUndefined();
    expect(d.cluster.route.prepared).toBe(false);
    expect(d.state.history.at(-1)?.outcome).toBe('cancelled');
    expect(d.cluster.violations).toEqual([]);
  });
});
