// A new policy is adopted in one pass: its finalizer is added and the reconcile goes on with the
// answer, instead of queueing the policy again behind every other one (1,000 policies adopted at
// once each waited for all the others twice). The pause carries the adoption's record (the
// adopted template's hash) and goes first; the adoption is persisted once, complete, when the
// pause is seen. A template changed before the pause, or after it while the adoption was not
// recorded, is never paused halfway: Kubernetes rolls it and canaryd adopts it once rolled.
import { describe, expect, it } from 'vitest';
import type { PolicyObject } from '../../src/controller/deps.ts';
import { ADOPTED_TEMPLATE_ANNOTATION, FINALIZER, MANAGED_LABEL } from '../../src/controller/names.ts';
import { reconcile } from '../../src/controller/reconciler.ts';
import type { PolicyStatus } from '../../src/controller/status.ts';
import { templateHash } from '../../src/controller/template.ts';
import type { Deployment, KubeObject, ObjectRef } from '../../src/kube/objects.ts';
import { OWNER_POLICY, OWNER_POLICY_UID } from '../../src/traffic/labels.ts';
import { ReplicaRatioRouter } from '../../src/traffic/replica-ratio.ts';
import { NS, stableService } from '../traffic/world.ts';
import { quietDeps, rolledOut, StatusKube, unadoptedDeployment } from './reconcile-fixtures.ts';

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
const deploymentOf = (kube: StatusKube) => kube.peek<Deployment>(deploymentRef);
const eventReasons = (kube: StatusKube) =>
  kube.calls
    .filter((c) => c.verb === 'create' && c.kind === 'Event')
    .map((c) => (c.body as { reason?: string }).reason);

/** `kubectl set image` landing right before the adoption's pause, after its decision. */
class RacingKube extends StatusKube {
  #raced = false;
  override async mergePatch<T extends KubeObject>(ref: ObjectRef, patch: object): Promise<T> {
    if (ref.kind === 'Deployment' && !this.#raced) {
      this.#raced = true;
      this.mutate<Deployment>(deploymentRef, (d) => {
        d.spec.template.spec.containers[0]!.image = 'shop/web:3.0.0';
        d.metadata.generation = 2;
      });
    }
    return super.mergePatch<T>(ref, patch);
  }
}

/** canaryd stopped after its adoption's pause, before the status write that records it. */
class StopsAfterThePause extends StatusKube {
  stopped = false;
  override async replaceStatus<T extends KubeObject>(object: T): Promise<T> {
    if (!this.stopped && deploymentOf(this)?.spec.paused === true) {
      this.stopped = true;
      throw new Error('canaryd stopped before recording the adoption');
    }
    return super.replaceStatus(object);
  }
}

/** An API server slow to answer the finalizer's patch: it is applied when the test says so. */
class SlowFinalizerKube extends StatusKube {
  #holding = true;
  #answer: (() => void) | undefined;
  override async mergePatch<T extends KubeObject>(ref: ObjectRef, patch: object): Promise<T> {
    if (ref.kind !== 'CanaryPolicy' || !this.#holding) return super.mergePatch<T>(ref, patch);
    this.#holding = false;
    await new Promise<void>((resolve) => {
      this.#answer = resolve;
    });
    return super.mergePatch<T>(ref, patch);
  }
  answerFinalizer(): void {
    this.#answer?.();
  }
  /** The next patch of the policy waits for answerFinalizer() too. */
  holdNext(): void {
    this.#holding = true;
  }
}

/** Resolves once `done` holds, looking after each turn of the event loop (bounded). */
async function waitUntil(done: () => boolean): Promise<void> {
  for (let turn = 0; turn < 1000 && !done(); turn++) await new Promise((resolve) => setImmediate(resolve));
  expect(done()).toBe(true);
}

/** The Deployment controller rolls the Deployment's template to every pod. */
const rolled = (kube: StatusKube) => rolledOut(kube, deploymentRef);

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

  it('pauses first, with the adopted template on the Deployment, and persists the adoption once, complete', async () => {
    const kube = new StatusKube(policyObject(), unadoptedDeployment(2), stableService());
    const hash = templateHash(unadoptedDeployment(2).spec.template);
    const result = await reconcileOn(kube);
    // One status write: the adoption as it is once the pause is seen.
    expect(kube.statusWrites).toHaveLength(1);
    expect(kube.statusWrites[0]?.message).toBe('stable at revision 1');
    expect(kube.statusWrites[0]?.release.adopting).toBeUndefined();
    expect(readyOf(kube)).toMatchObject({ status: 'True', reason: 'Idle' });
    // The pause went before it and carries the record.
    const writes = kube.calls.filter((c) => c.verb !== 'get' && c.verb !== 'list' && c.kind !== 'Event');
    expect(writes.map((c) => `${c.verb} ${c.kind}`)).toEqual([
      'mergePatch CanaryPolicy', // the finalizer
      'mergePatch Deployment', // the pause
      'replace CanaryPolicy', // the status
    ]);
    expect(deploymentOf(kube)?.metadata.annotations?.[ADOPTED_TEMPLATE_ANNOTATION]).toBe(hash);
    expect(statusOf(kube)?.release.stable?.templateHash).toBe(hash);
    expect(eventReasons(kube)).toContain('Adopted');
    expect(result.requeueAfterMs).not.toBe(0);
  });

  it('writes the pause while the finalizer is on its way, and the status only once the finalizer is written', async () => {
    const kube = new SlowFinalizerKube(policyObject(), unadoptedDeployment(2), stableService());
    const adoption = reconcileOn(kube);
    await waitUntil(() => deploymentOf(kube)?.spec.paused === true);
    // The pause is written, the finalizer not answered yet: nothing of the policy written so far.
    expect(kube.peek<PolicyObject>(policyRef)?.metadata.finalizers).toBeUndefined();
    expect(kube.statusWrites).toEqual([]);
    kube.answerFinalizer();
    await adoption;
    expect(kube.peek<PolicyObject>(policyRef)?.metadata.finalizers).toEqual([FINALIZER]);
    expect(kube.statusWrites.map((s) => s.message)).toEqual(['stable at revision 1']);
  });

  it('a policy adopted before, its finalizer removed by hand: nothing else is written before the finalizer is back', async () => {
    const kube = new SlowFinalizerKube(policyObject(), unadoptedDeployment(2), stableService());
    const adoption = reconcileOn(kube);
    await waitUntil(() => deploymentOf(kube)?.spec.paused === true);
    kube.answerFinalizer();
    await adoption;
    kube.mutate<PolicyObject>(policyRef, (p) => {
      p.metadata.finalizers = undefined;
    });
    kube.mutate<Deployment>(deploymentRef, (d) => {
      delete d.metadata.labels?.[MANAGED_LABEL]; // adopted before the mark existed: canaryd adds it
    });
    kube.holdNext();
    const again = reconcileOn(kube);
    for (let turn = 0; turn < 50; turn++) await new Promise((resolve) => setImmediate(resolve));
    expect(deploymentOf(kube)?.metadata.labels?.[MANAGED_LABEL]).toBeUndefined();
    kube.answerFinalizer();
    await again;
    expect(kube.peek<PolicyObject>(policyRef)?.metadata.finalizers).toEqual([FINALIZER]);
    expect(deploymentOf(kube)?.metadata.labels?.[MANAGED_LABEL]).toBe('true');
  });

  it('a finalizer write that fails after the pause fails the reconcile; the next one adopts the paused Deployment', async () => {
    const kube = new StatusKube(policyObject(), unadoptedDeployment(2), stableService());
    kube.failNext('mergePatch', 'Unavailable', (ref) => ref.kind === 'CanaryPolicy');
    await expect(reconcileOn(kube)).rejects.toThrow();
    expect(deploymentOf(kube)?.spec.paused).toBe(true);
    expect(kube.statusWrites).toEqual([]);
    await reconcileOn(kube);
    expect(kube.peek<PolicyObject>(policyRef)?.metadata.finalizers).toEqual([FINALIZER]);
    expect(statusOf(kube)?.message).toBe('stable at revision 1');
  });

  it('does not pause a Deployment whose template changed before the pause; adopts it once rolled', async () => {
    const kube = new RacingKube(policyObject(), unadoptedDeployment(2), stableService());
    await reconcileOn(kube);
    const deployment = deploymentOf(kube);
    expect(deployment?.spec.paused).toBe(false); // the user's rollout goes on, as Kubernetes does it
    expect(deployment?.metadata.labels?.[MANAGED_LABEL]).toBeUndefined();
    // Seen in the same reconcile, mid-rollout: nothing is adopted or marked until it is done.
    expect(statusOf(kube)?.release.stable).toBeUndefined();
    expect(statusOf(kube)?.release.adopting).toBeUndefined();
    expect(statusOf(kube)?.message).toContain('rollout to complete');
    await reconcileOn(kube);
    expect(deploymentOf(kube)?.metadata.labels?.[MANAGED_LABEL]).toBeUndefined();
    expect(deploymentOf(kube)?.spec.paused).toBe(false);

    rolled(kube);
    await reconcileOn(kube);
    expect(deploymentOf(kube)?.spec.paused).toBe(true);
    expect(statusOf(kube)?.release.stable).toMatchObject({ revision: 1 });
    expect(statusOf(kube)?.message).toBe('stable at revision 1');
    expect(statusOf(kube)?.release.history.map((h) => h.changeCause)).toEqual([
      expect.stringContaining('shop/web:3.0.0'),
    ]);
  });

  it('stopped between the pause and its record: adopts the paused template from the Deployment', async () => {
    const kube = new StopsAfterThePause(policyObject(), unadoptedDeployment(2), stableService());
    await expect(reconcileOn(kube)).rejects.toThrow('before recording the adoption');
    expect(statusOf(kube)?.release?.stable).toBeUndefined();
    expect(deploymentOf(kube)?.spec.paused).toBe(true);

    await reconcileOn(kube);
    expect(statusOf(kube)?.release.stable).toMatchObject({
      revision: 1,
      templateHash: templateHash(unadoptedDeployment(2).spec.template),
    });
    expect(statusOf(kube)?.message).toBe('stable at revision 1');
    expect(deploymentOf(kube)?.spec.paused).toBe(true);
  });

  it('stopped between the pause and its record while the template changed: unpauses it for its rollout, then adopts it', async () => {
    const kube = new StopsAfterThePause(policyObject(), unadoptedDeployment(2), stableService());
    await expect(reconcileOn(kube)).rejects.toThrow('before recording the adoption');
    // Meanwhile someone sets a new image on the paused Deployment: nobody rolled it.
    kube.mutate<Deployment>(deploymentRef, (d) => {
      d.spec.template.spec.containers[0]!.image = 'shop/web:3.0.0';
      d.metadata.generation = 2;
    });

    await reconcileOn(kube);
    const handedBack = deploymentOf(kube);
    expect(handedBack?.spec.paused).toBe(false); // Kubernetes rolls it
    expect(handedBack?.metadata.labels?.[MANAGED_LABEL]).toBeUndefined();
    expect(handedBack?.metadata.annotations?.[ADOPTED_TEMPLATE_ANNOTATION]).toBeUndefined();
    expect(statusOf(kube)?.release.stable).toBeUndefined(); // the new template is not called stable unrolled
    expect(statusOf(kube)?.message).toContain('rollout to complete');
    expect(eventReasons(kube)).toContain('AdoptionRestarted');

    await reconcileOn(kube); // mid-rollout: still nothing paused or adopted
    expect(deploymentOf(kube)?.spec.paused).toBe(false);
    rolled(kube);
    await reconcileOn(kube);
    expect(deploymentOf(kube)?.spec.paused).toBe(true);
    expect(statusOf(kube)?.release.stable?.changeCause).toContain('shop/web:3.0.0');
    expect(statusOf(kube)?.release.history.map((h) => [h.revision, h.outcome])).toEqual([[1, 'adopted']]);
  });

  it('the mark records the policy’s uid; a mark without it, or under an earlier uid of this adopted policy, gets it', async () => {
    const kube = new StatusKube(policyObject(), unadoptedDeployment(2), stableService());
    await reconcileOn(kube);
    expect(deploymentOf(kube)?.metadata.annotations).toMatchObject({
      [OWNER_POLICY]: `${NS}/web`,
      [OWNER_POLICY_UID]: 'uid-policy',
    });
    kube.mutate<Deployment>(deploymentRef, (d) => {
      delete d.metadata.annotations?.[OWNER_POLICY_UID]; // marked by a canaryd before 2026-12-05
    });
    await reconcileOn(kube);
    expect(deploymentOf(kube)?.metadata.annotations?.[OWNER_POLICY_UID]).toBe('uid-policy');
    // Marked under another uid, the adoption in this policy's status (restored with it by a
    // backup tool under a new uid): it is this policy's, and gets its uid.
    kube.mutate<Deployment>(deploymentRef, (d) => {
      d.metadata.annotations = { ...d.metadata.annotations, [OWNER_POLICY_UID]: 'uid-before-restore' };
    });
    await reconcileOn(kube);
    expect(deploymentOf(kube)?.metadata.annotations?.[OWNER_POLICY_UID]).toBe('uid-policy');
    expect(deploymentOf(kube)?.spec.paused).toBe(true);
    const writes = kube.calls.length;
    await reconcileOn(kube); // marked as it should be: nothing more to write
    expect(kube.calls.slice(writes).filter((c) => c.verb === 'mergePatch' && c.kind === 'Deployment')).toEqual([]);
  });

  it('marked by an earlier policy of this name mid-release (another uid): not taken for its own adoption, nothing written', async () => {
    const kube = new StatusKube(policyObject(), unadoptedDeployment(2), stableService());
    kube.mutate<Deployment>(deploymentRef, (d) => {
      d.metadata.labels = { ...d.metadata.labels, [MANAGED_LABEL]: 'true' };
      d.metadata.annotations = {
        ...d.metadata.annotations,
        [OWNER_POLICY]: `${NS}/web`,
        [OWNER_POLICY_UID]: 'uid-earlier',
        [ADOPTED_TEMPLATE_ANNOTATION]: templateHash(d.spec.template),
      };
      d.spec.paused = true;
      d.spec.template.spec.containers[0]!.image = 'shop/web:3.0.0'; // the earlier release's canary template
      d.metadata.generation = 2;
      d.status = { ...d.status, observedGeneration: 2, updatedReplicas: 0 };
    });
    await reconcileOn(kube);
    const deployment = deploymentOf(kube);
    expect(deployment?.spec.paused).toBe(true); // not unpaused: 3.0.0 passed no check
    expect(deployment?.metadata.annotations?.[OWNER_POLICY_UID]).toBe('uid-earlier'); // the orphan sweep's to remove
    expect(kube.calls.filter((c) => c.verb === 'mergePatch' && c.kind === 'Deployment')).toEqual([]);
    expect(statusOf(kube)?.release.stable).toBeUndefined();
    expect(readyOf(kube)).toMatchObject({ status: 'False', reason: 'Adopting' });
    expect(readyOf(kube)?.message).toContain('an earlier CanaryPolicy of this name');
    expect(eventReasons(kube)).not.toContain('AdoptionRestarted');
  });
});
