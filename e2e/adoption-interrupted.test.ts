// Adoption pauses the Deployment first (the pause carries the adopted template's hash) and then
// persists the adoption, complete. A canaryd killed at either point, while someone changes the
// template, must not pause that rollout halfway, nor call an unrolled template stable, nor take
// the user's own rollout for a release: the restarted canaryd lets Kubernetes finish it and adopts
// the new revision. The first pass runs in this process against the real API server and dies at
// the chosen write (one that throws); the second is the real canaryd.
import { beforeAll, describe, expect, it } from 'vitest';
import { ADOPTED_TEMPLATE_ANNOTATION, MANAGED_LABEL } from '../src/controller/names.ts';
import { reconcile } from '../src/controller/reconciler.ts';
import { ClientKubeApi } from '../src/kube/client.ts';
import { KubeEventRecorder } from '../src/kube/events.ts';
import type { KubeObject, ObjectRef } from '../src/kube/objects.ts';
import { ReplicaRatioRouter } from '../src/traffic/replica-ratio.ts';
import { waitFor } from './cluster/wait.ts';
import { deployStable } from './support/analysis.ts';
import { createPolicy, installCrd, startCanaryd } from './support/canaryd.ts';
import { type TestEnv, useTestEnv } from './support/env.ts';
import { APP, setTemplate } from './support/managed-app.ts';
import { imageOf, readRelease, readStatus } from './support/release-status.ts';
import { watchDeployments } from './support/watch-records.ts';

/** The API server as canaryd sees it, until canaryd dies at its first write to the Deployment. */
class DiesAtThePause extends ClientKubeApi {
  override mergePatch<T extends KubeObject>(ref: ObjectRef, patch: object): Promise<T> {
    if (ref.kind === 'Deployment') return Promise.reject(new Error('canaryd killed at the pause'));
    return super.mergePatch<T>(ref, patch);
  }
}

/** The API server as canaryd sees it, until canaryd dies after the pause, before its status write. */
class DiesAfterThePause extends ClientKubeApi {
  override replaceStatus<T extends KubeObject>(_object: T): Promise<T> {
    return Promise.reject(new Error('canaryd killed after the pause'));
  }
}

async function firstPassDies(env: TestEnv, kube: ClientKubeApi, message: string): Promise<void> {
  await deployStable(env);
  await createPolicy(env.kc, env.namespace, {
    apiVersion: 'canaryd.dev/v1alpha1',
    kind: 'CanaryPolicy',
    metadata: { name: APP, namespace: env.namespace },
    spec: {
      target: { deployment: APP, service: APP, router: 'replica-ratio' },
      strategy: { steps: [{ weight: 25, hold: '3s' }], allowLargeFirstStep: true },
    },
  });
  const deps = {
    kube,
    events: new KubeEventRecorder(kube),
    router: () => new ReplicaRatioRouter(kube),
    analysis: {} as never,
    now: () => new Date(),
    log: { info() {}, warn() {}, error() {} },
  };
  await expect(reconcile(deps, env.namespace, APP)).rejects.toThrow(message);
  // Nothing is recorded in the status: the adoption is persisted only once its pause is seen.
  expect((await readRelease(env))?.stable).toBeUndefined();
}

/**
 * Someone releases v2 the plain Kubernetes way while canaryd is down; canaryd comes back. It
 * lets Kubernetes roll v2 to every pod and adopts it as revision 1: no release, no canary, and
 * no pause of its own on a Deployment in the middle of that roll.
 */
async function restartedCanarydAdoptsTheRolledTemplate(env: TestEnv, expectedReasons: string[]) {
  const { apps, core, namespace } = env;
  const deployments = watchDeployments(env);
  await deployments.ready;
  try {
    await setTemplate(env, 'v2');
    const restartedAt = deployments.events.length;
    const canaryd = startCanaryd(env.kubeconfig, ['--namespace', namespace]);
    try {
      await waitFor(
        async () => {
          const release = await readRelease(env);
          const deployment = await apps.readNamespacedDeployment({ name: APP, namespace });
          return release?.stable !== undefined && release.adopting === undefined && deployment.spec?.paused === true;
        },
        { timeoutMs: 90_000, description: 'the restarted canaryd adopted the Deployment (paused)' },
      );
    } finally {
      await canaryd.stop();
    }

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
    // Once canaryd was back, it paused the Deployment only with v2 rolled to every pod.
    const afterRestart = deployments.events.slice(restartedAt);
    const unpausedAt = afterRestart.findIndex((e) => e.object.spec?.paused !== true);
    expect(unpausedAt).toBeGreaterThanOrEqual(0); // v2 rolled unpaused
    const pausedMidRoll = afterRestart
      .slice(unpausedAt)
      .filter(
        (e) =>
          e.object.spec?.paused === true &&
          (imageOf(e.object) !== 'canaryd-demo:v2' || (e.object.status?.updatedReplicas ?? 0) < 4),
      );
    expect(pausedMidRoll).toEqual([]);
    expect(deployments.errors).toEqual([]);
    const adopted = await apps.readNamespacedDeployment({ name: APP, namespace });
    expect(adopted.metadata?.labels?.[MANAGED_LABEL]).toBe('true');
    expect(adopted.metadata?.annotations?.[ADOPTED_TEMPLATE_ANNOTATION]).toBe(release?.stable?.templateHash);

    const events = await core.listNamespacedEvent({ namespace });
    const reasons = events.items.filter((e) => e.involvedObject.kind === 'CanaryPolicy').map((e) => e.reason);
    for (const reason of expectedReasons) expect(reasons).toContain(reason);
  } finally {
    deployments.stop();
  }
}

describe('adoption interrupted at the pause, and a template change', () => {
  const env = useTestEnv('adopt');
  beforeAll(async () => {
    await installCrd(env.kc);
  });

  it('lets Kubernetes finish the rollout, then adopts the new revision (no half-paused roll, no release)', async () => {
    await firstPassDies(env, new DiesAtThePause(env.kc), 'killed at the pause');
    const deployment = await env.apps.readNamespacedDeployment({ name: APP, namespace: env.namespace });
    expect(deployment.spec?.paused).not.toBe(true);
    await restartedCanarydAdoptsTheRolledTemplate(env, ['Adopted']);
  });
});

describe('adoption interrupted after the pause, before its record, and a template change', () => {
  const env = useTestEnv('adopt2');
  beforeAll(async () => {
    await installCrd(env.kc);
  });

  it('unpauses the Deployment it paused for the old template, lets Kubernetes roll the new one, then adopts it', async () => {
    await firstPassDies(env, new DiesAfterThePause(env.kc), 'killed after the pause');
    // Paused by canaryd, with the template it meant to adopt on the Deployment.
    const paused = await env.apps.readNamespacedDeployment({ name: APP, namespace: env.namespace });
    expect(paused.spec?.paused).toBe(true);
    expect(paused.metadata?.annotations?.[ADOPTED_TEMPLATE_ANNOTATION]).toMatch(/^[0-9a-f]{12}$/);
    await restartedCanarydAdoptsTheRolledTemplate(env, ['AdoptionRestarted', 'Adopted']);
  });
});
