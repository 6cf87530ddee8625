// An SRE deletes a CanaryPolicy while canaryd is down; the deletion hangs on canaryd's finalizer,
// so they remove the finalizer by hand. The policy goes without handing its Deployment back:
// paused, marked (deploy/'s admission policy refuses anyone else's unpause), and the next
// `kubectl set image` would never roll. The canaryd that comes back hands it back itself: at rest
// unpaused and unmarked, so the next template rolls; mid-release unmarked but left paused (its new
// template never ran a check), with a Warning that says how to go on. Real API server, real
// controller-manager (its garbage collector removes what canaryd created for the policy).
import * as k8s from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { MANAGED_LABEL } from '../src/controller/names.ts';
import { waitFor } from './cluster/wait.ts';
import { deployStable } from './support/analysis.ts';
import {
  adopted,
  createPolicy,
  deleteWithoutFinalizer,
  installCrd,
  readPolicy,
  startCanaryd,
} from './support/canaryd.ts';
import { type TestEnv, useTestEnv } from './support/env.ts';
import { APP, CANARY, setTemplate } from './support/managed-app.ts';
import { imageOf, readRelease } from './support/release-status.ts';

const policy = (namespace: string) => ({
  apiVersion: 'canaryd.dev/v1alpha1',
  kind: 'CanaryPolicy',
  metadata: { name: APP, namespace },
  spec: {
    target: { deployment: APP, service: APP, router: 'replica-ratio' },
    strategy: { steps: [{ weight: 25, hold: '10m' }], allowLargeFirstStep: true },
  },
});

/** canaryd runs until `until` holds, then stops (SIGTERM). */
async function withCanaryd(env: TestEnv, until: () => Promise<boolean>, description: string): Promise<void> {
  const canaryd = startCanaryd(env.kubeconfig, ['--namespace', env.namespace]);
  try {
    await waitFor(async () => ((await until()) ? true : undefined), { timeoutMs: 90_000, description });
  } finally {
    await canaryd.stop();
  }
}

const readDeployment = (env: TestEnv) => env.apps.readNamespacedDeployment({ name: APP, namespace: env.namespace });
const deploymentEvents = async (env: TestEnv, reason: string) =>
  (await env.core.listNamespacedEvent({ namespace: env.namespace })).items.filter(
    (e) => e.involvedObject.kind === 'Deployment' && e.involvedObject.name === APP && e.reason === reason,
  );

describe('a policy deleted without its finalizer while canaryd was down', () => {
  const env = useTestEnv('orphan');
  beforeAll(() => installCrd(env.kc));

  it('at rest: the restarted canaryd unpauses and unmarks the Deployment, and the next template rolls', async () => {
    await deployStable(env);
    await createPolicy(env.kc, env.namespace, policy(env.namespace));
    await withCanaryd(
      env,
      async () => adopted((await readPolicy(env.kc, env.namespace, APP))?.status),
      'the policy adopted',
    );
    const uid = (await readPolicy(env.kc, env.namespace, APP))?.metadata.uid;
    await deleteWithoutFinalizer(env.kc, env.namespace, APP);
    const left = await readDeployment(env);
    expect(left.spec?.paused).toBe(true);
    expect(left.metadata?.labels?.[MANAGED_LABEL]).toBe('true');
    expect(left.metadata?.annotations?.['canaryd.dev/policy-uid']).toBe(uid);

    await withCanaryd(
      env,
      async () => {
        const deployment = await readDeployment(env);
        return deployment.spec?.paused !== true && deployment.metadata?.labels?.[MANAGED_LABEL] === undefined;
      },
      'the Deployment handed back',
    );
    const [released] = await deploymentEvents(env, 'Released');
    expect(released?.type).toBe('Normal');
    expect(released?.message).toBe(
      `CanaryPolicy ${env.namespace}/${APP} (uid ${uid}) is gone without handing this Deployment back (its ` +
        'finalizer was removed): canaryd unpaused it and removed its mark',
    );
    const annotations = (await readDeployment(env)).metadata?.annotations ?? {};
    expect(Object.keys(annotations).filter((a) => a.startsWith('canaryd.dev/'))).toEqual([]);

    // The user's next release is the plain Kubernetes one, and it rolls.
    await setTemplate(env, 'v2');
    await waitFor(
      async () => {
        const deployment = await readDeployment(env);
        const { updatedReplicas, availableReplicas, replicas } = deployment.status ?? {};
        return imageOf(deployment) === 'canaryd-demo:v2' &&
          updatedReplicas === 4 &&
          availableReplicas === 4 &&
          replicas === 4
          ? true
          : undefined;
      },
      { timeoutMs: 90_000, description: 'v2 rolled to all 4 pods' },
    );
  });

  it('mid-release: unmarked, left paused so the unchecked template does not roll, a Warning says how to go on', async () => {
    await createPolicy(env.kc, env.namespace, policy(env.namespace));
    await withCanaryd(
      env,
      async () => adopted((await readPolicy(env.kc, env.namespace, APP))?.status),
      'the policy adopted again (v2)',
    );
    await setTemplate(env, 'v3');
    await withCanaryd(
      env,
      async () => {
        const release = await readRelease(env);
        return release?.phase === 'progressing' && release.current?.stepStartedAt !== undefined;
      },
      'the release of v3 in its step (canary ready, 25 %)',
    );
    await deleteWithoutFinalizer(env.kc, env.namespace, APP);

    await withCanaryd(
      env,
      async () => (await readDeployment(env)).metadata?.labels?.[MANAGED_LABEL] === undefined,
      'the Deployment unmarked',
    );
    const deployment = await readDeployment(env);
    expect(deployment.spec?.paused).toBe(true);
    expect(imageOf(deployment)).toBe('canaryd-demo:v3');
    // Its pods still run v2: nothing rolled the template no check has passed.
    const pods = (await env.core.listNamespacedPod({ namespace: env.namespace, labelSelector: `app=${APP}` })).items;
    const stablePods = pods.filter(
      (p) => p.metadata?.deletionTimestamp === undefined && !p.metadata?.name?.startsWith(CANARY),
    );
    expect(stablePods.map((p) => p.spec?.containers[0]?.image)).toEqual(Array(4).fill('canaryd-demo:v2'));
    // The replica-ratio release's record of the Service's selector went too (the selector was never changed).
    const service = await env.core.readNamespacedService({ name: APP, namespace: env.namespace });
    expect(Object.keys(service.metadata?.annotations ?? {}).filter((a) => a.startsWith('canaryd.dev/'))).toEqual([]);
    const [abandoned] = await deploymentEvents(env, 'ReleaseAbandoned');
    expect(abandoned?.type).toBe('Warning');
    expect(abandoned?.message).toContain('while a release was in flight');
    expect(abandoned?.message).toContain(`\`kubectl rollout resume deployment/${APP}\``);
    // The canary Deployment was the policy's (a ControllerRef): Kubernetes' garbage collector removes it.
    await waitFor(
      async () => {
        const names = (await env.apps.listNamespacedDeployment({ namespace: env.namespace })).items.map(
          (d) => d.metadata?.name,
        );
        return names.includes(CANARY) ? undefined : true;
      },
      { timeoutMs: 60_000, description: 'the canary Deployment removed by the garbage collector' },
    );
  });

  it('a policy created again before anyone resumed: waits, does not call the unrolled template stable; adopts it once rolled', async () => {
    await createPolicy(env.kc, env.namespace, policy(env.namespace));
    const ready = async () =>
      (await readPolicy(env.kc, env.namespace, APP))?.status?.conditions?.find((c) => c.type === 'Ready');
    const canaryd = startCanaryd(env.kubeconfig, ['--namespace', env.namespace]);
    try {
      const waiting = await waitFor(
        async () => {
          const condition = await ready();
          return condition?.reason === 'Adopting' && condition.message.startsWith('not adopted')
            ? condition
            : undefined;
        },
        { timeoutMs: 60_000, description: 'the policy waiting, not adopting the paused template' },
      );
      expect(waiting.status).toBe('False');
      expect(waiting.message).toContain('a template 0 of its 4 pods run');
      expect(waiting.message).toContain(`\`kubectl rollout resume deployment/${APP}\``);
      const deployment = await readDeployment(env);
      expect(deployment.spec?.paused).toBe(true);
      expect(deployment.metadata?.labels?.[MANAGED_LABEL]).toBeUndefined();

      // `kubectl rollout resume`: Kubernetes rolls v3 (the user's choice), then canaryd adopts it.
      await env.apps.patchNamespacedDeployment(
        { name: APP, namespace: env.namespace, body: { spec: { paused: false } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
      await waitFor(async () => ((await ready())?.status === 'True' ? true : undefined), {
        timeoutMs: 90_000,
        description: 'v3 rolled by Kubernetes, then adopted',
      });
      const adoptedDeployment = await readDeployment(env);
      expect(adoptedDeployment.spec?.paused).toBe(true);
      expect(adoptedDeployment.status?.updatedReplicas).toBe(4);
      expect(imageOf(adoptedDeployment)).toBe('canaryd-demo:v3');
    } finally {
      await canaryd.stop();
    }
  });
});
