// One policy per Deployment: a second CanaryPolicy for a Deployment another one manages is
// refused, says so, and touches nothing; it takes over once the first is gone.
import { describe, expect, it } from 'vitest';
import type { AnalysisRunner } from '../../src/controller/analysis-runner.ts';
import { claimant, claimOf } from '../../src/controller/claim.ts';
import type { PolicyObject } from '../../src/controller/deps.ts';
import { FINALIZER } from '../../src/controller/names.ts';
import { reconcile } from '../../src/controller/reconciler.ts';
import type { StatusWriter } from '../../src/kube/api.ts';
import { KubeEventRecorder } from '../../src/kube/events.ts';
import type { Deployment, KubeObject } from '../../src/kube/objects.ts';
import { OWNER_POLICY } from '../../src/traffic/labels.ts';
import { ReplicaRatioRouter } from '../../src/traffic/replica-ratio.ts';
import { FakeKube } from '../traffic/fake-kube.ts';
import { NS, stableDeployment, stableService } from '../traffic/world.ts';

class Kube extends FakeKube implements StatusWriter {
  async replaceStatus<T extends KubeObject>(object: T): Promise<T> {
    return this.replace(object);
  }
}

const policy = (name: string, createdAt: string, deployment = 'web', extra: Partial<PolicyObject['metadata']> = {}) =>
  ({
    apiVersion: 'canaryd.dev/v1alpha1',
    kind: 'CanaryPolicy',
    metadata: { name, namespace: NS, uid: `uid-${name}`, creationTimestamp: createdAt, ...extra },
    spec: { target: { deployment, service: 'web', router: 'replica-ratio' } },
  }) as PolicyObject;

const refOf = (name: string) => ({ apiVersion: 'canaryd.dev/v1alpha1', kind: 'CanaryPolicy', namespace: NS, name });
const deploymentRef = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: 'web' };

function world(...policies: PolicyObject[]) {
  const deployment = stableDeployment(2);
  deployment.spec.paused = false;
  deployment.metadata.generation = 1;
  deployment.status = {
    observedGeneration: 1,
    replicas: 2,
    updatedReplicas: 2,
    readyReplicas: 2,
    availableReplicas: 2,
  };
  const kube = new Kube(...policies, deployment, stableService());
  const deps = {
    kube,
    events: new KubeEventRecorder(kube),
    router: () => new ReplicaRatioRouter(kube),
    analysis: {} as AnalysisRunner,
    now: () => new Date('2026-12-02T06:00:00Z'),
    log: { info() {}, warn() {}, error() {} },
  };
  const statusOf = (name: string) =>
    kube.peek<PolicyObject>(refOf(name))?.status as
      | { phase?: string; message?: string; conditions?: Array<{ type: string; status: string; reason: string }> }
      | undefined;
  return { kube, run: (name: string) => reconcile(deps, NS, name), statusOf };
}

describe('claimant', () => {
  const a = claimOf(policy('a', '2026-12-02T05:00:00Z'));
  const b = claimOf(policy('b', '2026-12-02T05:10:00Z'));
  it('is the first created of the policies targeting the Deployment, then the first by name', () => {
    expect(claimant(b, 'web', [a, b], undefined).name).toBe('a');
    expect(claimant(a, 'web', [a, b], undefined).name).toBe('a');
    const twin = claimOf(policy('aa', '2026-12-02T05:00:00Z'));
    expect(claimant(twin, 'web', [twin, a], undefined).name).toBe('a');
  });

  it('is the one the Deployment is marked for (it already manages it), even when created later', () => {
    expect(claimant(a, 'web', [a, b], `${NS}/b`).name).toBe('b');
  });

  it('ignores policies of other Deployments, and a mark naming one that moved on', () => {
    const other = claimOf(policy('c', '2026-12-02T04:00:00Z', 'api'));
    expect(claimant(b, 'web', [other, b], `${NS}/c`).name).toBe('b');
  });
});

describe('two CanaryPolicies for one Deployment', () => {
  it('refuses the later one: no finalizer, nothing paused, Ready=False naming the other, a Warning Event', async () => {
    const { kube, run, statusOf } = world(policy('a', '2026-12-02T05:00:00Z'), policy('b', '2026-12-02T05:10:00Z'));
    const result = await run('b');
    expect(result.requeueAfterMs).toBeGreaterThan(0);
    expect(kube.peek<PolicyObject>(refOf('b'))?.metadata.finalizers).toBeUndefined();
    expect(kube.peek<Deployment>(deploymentRef)?.spec.paused).toBe(false);
    const status = statusOf('b');
    expect(status?.message).toContain(`Deployment ${NS}/web is already managed by CanaryPolicy ${NS}/a`);
    expect(status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'TargetClaimed',
    });
    const events = kube.all().filter((o) => o.kind === 'Event') as Array<KubeObject & { reason?: string }>;
    expect(events.map((e) => e.reason)).toEqual(['TargetClaimed']);

    // The first one adopts the Deployment; the refused one still does nothing, and says it once.
    await run('a');
    expect(kube.peek<Deployment>(deploymentRef)?.metadata.annotations?.[OWNER_POLICY]).toBe(`${NS}/a`);
    await run('b');
    expect(statusOf('b')?.message).toContain('already managed by CanaryPolicy');
    expect(
      kube.all().filter((o) => o.kind === 'Event' && (o as { reason?: string }).reason === 'TargetClaimed'),
    ).toHaveLength(1);
  });

  it('lets the later one take over once the first is gone', async () => {
    const { kube, run, statusOf } = world(policy('a', '2026-12-02T05:00:00Z'), policy('b', '2026-12-02T05:10:00Z'));
    await run('a');
    await run('b');
    kube.remove(refOf('a'));
    await run('b');
    expect(kube.peek<PolicyObject>(refOf('b'))?.metadata.finalizers).toEqual([FINALIZER]);
    expect(statusOf('b')?.phase).toBe('idle');
    expect(statusOf('b')?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
  });

  it('keeps the one that manages the Deployment when an older policy is pointed at it later', async () => {
    const { kube, run, statusOf } = world(policy('b', '2026-12-02T05:10:00Z'));
    await run('b');
    kube.seed(policy('a', '2026-12-02T05:00:00Z'));
    await run('a');
    await run('b');
    expect(statusOf('a')?.message).toContain(`already managed by CanaryPolicy ${NS}/b`);
    expect(statusOf('b')?.phase).toBe('idle');
  });

  it('lets a refused policy that is deleted go at once (it took nothing to hand back)', async () => {
    const { kube, run } = world(
      policy('a', '2026-12-02T05:00:00Z'),
      policy('b', '2026-12-02T05:10:00Z', 'web', {
        deletionTimestamp: '2026-12-02T06:00:00Z',
        finalizers: [FINALIZER],
      }),
    );
    const result = await run('b');
    expect(result.requeueAfterMs).toBeNull();
    expect(kube.peek<PolicyObject>(refOf('b'))?.metadata.finalizers ?? []).toEqual([]);
  });
});
