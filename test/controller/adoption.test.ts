// A new policy is adopted in one pass: its finalizer is added and the reconcile goes on with the
// answer, instead of queueing the policy again behind every other one (1,000 policies adopted at
// once each waited for all the others twice). Adoption is reported once the pause is seen, and a
// template changed between the decision and the pause is never paused halfway.
import { describe, expect, it } from 'vitest';
import type { PolicyObject } from '../../src/controller/deps.ts';
import { FINALIZER, MANAGED_LABEL } from '../../src/controller/names.ts';
import { reconcile } from '../../src/controller/reconciler.ts';
import type { PolicyStatus } from '../../src/controller/status.ts';
import type { Deployment, KubeObject } from '../../src/kube/objects.ts';
import { ReplicaRatioRouter } from '../../src/traffic/replica-ratio.ts';
import { NS, stableService } from '../traffic/world.ts';
import { quietDeps, StatusKube, unadoptedDeployment } from './reconcile-fixtures.ts';

const policyRef = { apiVersion: 'canaryd.dev/v1alpha1', kind: 'CanaryPolicy', namespace: NS, name: 'web' };

const deploymentRef = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: 'web' };
const policyObject = (): PolicyObject => ({
  apiVersion: policyRef.apiVersion,
  kind: policyRef.kind,
  metadata: { name: 'web', namespace: NS, uid: 'uid-policy' },
  spec: { target: { deployment: 'web', service: 'web', router: 'replica-ratio' } },
});
const reconcileOn = (kube: StatusKube) =>
  reconcile(
    quietDeps(
      kube,
      () => new ReplicaRatioRouter(kube),
      () => new Date('2026-12-02T06:00:00Z'),
    ),
    NS,
    'web',
  );
const statusOf = (kube: StatusKube) => kube.peek<PolicyObject>(policyRef)?.status as PolicyStatus | undefined;
const readyOf = (kube: StatusKube) => statusOf(kube)?.conditions.find((c) => c.type === 'Ready');

/** `kubectl set image` landing right after the adoption's status write, before its pause. */
class RacingKube extends StatusKube {
  override async replaceStatus<T extends KubeObject>(object: T): Promise<T> {
    const written = await super.replaceStatus(object);
    if (this.statusWrites.length === 1) {
      this.mutate<Deployment>(deploymentRef, (d) => {
        d.spec.template.spec.containers[0]!.image = 'shop/web:3.0.0';
        d.metadata.generation = 2;
      });
    }
    return written;
  }
}

describe('adoption', () => {
  it('adds the finalizer and adopts the Deployment in the same reconcile', async () => {
    const kube = new StatusKube(policyObject(), unadoptedDeployment(2), stableService());
    const result = await reconcileOn(kube);
    const adopted = kube.peek<PolicyObject>(policyRef);
    expect(adopted?.metadata.finalizers).toEqual([FINALIZER]);
    expect((adopted?.status as { phase?: string } | undefined)?.phase).toBe('idle');
    expect(kube.peek<Deployment>(deploymentRef)?.spec.paused).toBe(true);
    expect(result.requeueAfterMs).not.toBe(0);
  });

  it('reports the adoption (Ready, reason, Event) only once the pause is seen: the write that paused it', async () => {
    const kube = new StatusKube(policyObject(), unadoptedDeployment(2), stableService());
    const result = await reconcileOn(kube);
    const [decision, adopted, ...more] = kube.statusWrites;
    expect(more).toEqual([]);
    // Persisted before the pause: adopting, not Ready.
    expect(decision?.message).toBe('adopting revision 1: pausing the Deployment');
    expect(decision?.conditions.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'Adopting' });
    // Decided again on the Deployment the pause answered with, in the same reconcile.
    expect(adopted?.message).toBe('stable at revision 1');
    expect(readyOf(kube)).toMatchObject({ status: 'True', reason: 'Idle' });
    const events = kube.calls.filter((c) => c.verb === 'create' && c.kind === 'Event');
    expect(events.map((c) => (c.body as { reason?: string }).reason)).toContain('Adopted');
    expect(result.requeueAfterMs).not.toBe(0);
  });

  it('does not pause a Deployment whose template changed after the decision; adopts it once rolled', async () => {
    const kube = new RacingKube(policyObject(), unadoptedDeployment(2), stableService());
    await reconcileOn(kube);
    const deployment = kube.peek<Deployment>(deploymentRef);
    expect(deployment?.spec.paused).toBe(false); // the user's rollout goes on, as Kubernetes does it
    expect(deployment?.metadata.labels?.[MANAGED_LABEL]).toBeUndefined();
    // Seen in the same reconcile, mid-rollout: nothing is adopted or marked until it is done.
    expect(statusOf(kube)?.release.stable).toBeUndefined();
    expect(statusOf(kube)?.release.adopting).toBeUndefined();
    expect(statusOf(kube)?.message).toContain('rollout to complete');
    await reconcileOn(kube);
    expect(kube.peek<Deployment>(deploymentRef)?.metadata.labels?.[MANAGED_LABEL]).toBeUndefined();
    expect(kube.peek<Deployment>(deploymentRef)?.spec.paused).toBe(false);

    kube.mutate<Deployment>(deploymentRef, (d) => {
      d.status = { ...d.status, observedGeneration: 2, updatedReplicas: 2, availableReplicas: 2, replicas: 2 };
    });
    await reconcileOn(kube);
    expect(kube.peek<Deployment>(deploymentRef)?.spec.paused).toBe(true);
    expect(statusOf(kube)?.release.stable).toMatchObject({ revision: 1 });
    expect(statusOf(kube)?.message).toBe('stable at revision 1');
    expect(statusOf(kube)?.release.history.map((h) => h.changeCause)).toEqual([
      expect.stringContaining('shop/web:3.0.0'),
    ]);
  });
});
