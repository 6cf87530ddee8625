// Adoption persists its decision (the stable revision) before it pauses the Deployment. A canaryd
// killed between the two, while someone changes the template, must not pause that rollout
// halfway, nor take the user's own rollout for a release: the restarted canaryd lets Kubernetes
// finish it and adopts the new revision. The first pass runs in this process against the real
// API server and dies at the pause (a write that throws); the second is the real canaryd.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reconcile } from '../src/controller/reconciler.ts';
import { ClientKubeApi } from '../src/kube/client.ts';
import { KubeEventRecorder } from '../src/kube/events.ts';
import type { KubeObject, ObjectRef } from '../src/kube/objects.ts';
import { ReplicaRatioRouter } from '../src/traffic/replica-ratio.ts';
import { waitFor } from './cluster/wait.ts';
import { deployStable } from './support/analysis.ts';
import { type CanarydProcess, createPolicy, installCrd, startCanaryd } from './support/canaryd.ts';
import { useTestEnv } from './support/env.ts';
import { APP, setTemplate } from './support/managed-app.ts';
import { imageOf, readRelease, readStatus } from './support/release-status.ts';
import { watchDeployments } from './support/watch-records.ts';

/** The API server as canaryd sees it, until canaryd dies at its first write to the Deployment. */
class DiesAtThePause extends ClientKubeApi {
  override mergePatch<T extends KubeObject>(ref: ObjectRef, patch: object): Promise<T> {
    if (ref.kind === 'Deployment') return Promise.reject(new Error('canaryd killed before the pause'));
    return super.mergePatch<T>(ref, patch);
  }
}

describe('adoption interrupted by a crash and a template change', () => {
  const env = useTestEnv('adopt');
  let canaryd: CanarydProcess | undefined;

  beforeAll(async () => {
    await installCrd(env.kc);
  });
  afterAll(async () => {
    await canaryd?.stop();
  });

  it('lets Kubernetes finish the rollout, then adopts the new revision (no half-paused roll, no release)', async () => {
    const { apps, core, kc, namespace } = env;
    await deployStable(env);
    await createPolicy(kc, namespace, {
      apiVersion: 'canaryd.dev/v1alpha1',
      kind: 'CanaryPolicy',
      metadata: { name: APP, namespace },
      spec: {
        target: { deployment: APP, service: APP, router: 'replica-ratio' },
        strategy: { steps: [{ weight: 25, hold: '3s' }], allowLargeFirstStep: true },
      },
    });

    // The first pass: the decision is persisted, and the process dies at the pause.
    const kube = new DiesAtThePause(kc);
    const deps = {
      kube,
      events: new KubeEventRecorder(kube),
      router: () => new ReplicaRatioRouter(kube),
      analysis: {} as never,
      now: () => new Date(),
      log: { info() {}, warn() {}, error() {} },
    };
    await expect(reconcile(deps, namespace, APP)).rejects.toThrow('killed before the pause');
    const persisted = await readRelease(env);
    expect(persisted?.adopting).toBe(true);
    expect(persisted?.stable?.changeCause).toContain('canaryd-demo:v1');
    expect((await readStatus(env))?.message).toBe('adopting revision 1: pausing the Deployment');
    expect((await apps.readNamespacedDeployment({ name: APP, namespace })).spec?.paused).not.toBe(true);

    // Meanwhile someone releases v2 the plain Kubernetes way; canaryd comes back.
    const deployments = watchDeployments(env);
    await deployments.ready;
    try {
      await setTemplate(env, 'v2');
      canaryd = startCanaryd(env.kubeconfig, ['--namespace', namespace]);
      await waitFor(
        async () => {
          const release = await readRelease(env);
          const deployment = await apps.readNamespacedDeployment({ name: APP, namespace });
          return release?.adopting === undefined && release?.stable !== undefined && deployment.spec?.paused === true;
        },
        { timeoutMs: 90_000, description: 'the restarted canaryd adopted the Deployment (paused)' },
      );

      const release = await readRelease(env);
      expect(release?.phase).toBe('idle');
      expect(release?.current).toBeUndefined(); // the user's rollout was not taken for a release
      expect(release?.stable).toMatchObject({ revision: 1 });
      expect(release?.stable?.changeCause).toContain('canaryd-demo:v2');
      expect(release?.history.map((h) => [h.revision, h.outcome])).toEqual([[1, 'adopted']]);
      expect((await readStatus(env))?.message).toBe('stable at revision 1');

      // Kubernetes rolled v2 to the end: every stable pod runs it, no canary was made.
      const names = (await apps.listNamespacedDeployment({ namespace })).items.map((d) => d.metadata?.name);
      expect(names).toEqual([APP]);
      const pods = (await core.listNamespacedPod({ namespace, labelSelector: `app=${APP}` })).items.filter(
        (p) => p.metadata?.deletionTimestamp === undefined,
      );
      expect(pods.map((p) => p.spec?.containers[0]?.image)).toEqual(Array(4).fill('canaryd-demo:v2'));
      // The pause came only once the rollout was done: never on a Deployment mid-roll.
      const pausedMidRoll = deployments.events.filter(
        (e) =>
          e.object.spec?.paused === true &&
          (imageOf(e.object) !== 'canaryd-demo:v2' || (e.object.status?.updatedReplicas ?? 0) < 4),
      );
      expect(pausedMidRoll).toEqual([]);
      expect(deployments.errors).toEqual([]);

      const events = await core.listNamespacedEvent({ namespace });
      const reasons = events.items.filter((e) => e.involvedObject.kind === 'CanaryPolicy').map((e) => e.reason);
      expect(reasons).toContain('AdoptionRestarted');
      expect(reasons).toContain('Adopted');
    } finally {
      deployments.stop();
    }
  });
});
