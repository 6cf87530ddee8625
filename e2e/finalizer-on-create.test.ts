// deploy/components/finalizer-on-create (Kubernetes 1.36+) on the real API server: a CanaryPolicy
// has canaryd's finalizer from its creation, before canaryd has seen it; canaryd adopts without
// writing it (two writes: the pause, the status); a policy that was never valid still goes when
// deleted, and an adopted one hands its Deployment back first. The binding is narrowed to this
// test's namespace: other test files share the cluster.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './cluster/wait.ts';
import { deployStable } from './support/analysis.ts';
import { adopted, createPolicy, installCrd, readPolicy, startCanaryd } from './support/canaryd.ts';
import { useTestEnv } from './support/env.ts';
import { installFinalizerPolicy } from './support/finalizer-policy.ts';
import { APP } from './support/managed-app.ts';

const FINALIZER = 'canaryd.dev/cleanup';

describe('the finalizer added at creation (MutatingAdmissionPolicy)', () => {
  const env = useTestEnv('finalizer-on-create');
  let uninstall: () => Promise<void> = async () => {};
  beforeAll(async () => {
    await installCrd(env.kc);
    ({ uninstall } = await installFinalizerPolicy(env.kc, env.namespace, { onlyIn: env.namespace }));
  }, 60_000);
  afterAll(() => uninstall());

  it('a policy carries the finalizer before canaryd runs; canaryd adopts without writing it; deletions complete', async () => {
    const { kc, namespace, apps } = env;
    await deployStable(env);
    await createPolicy(kc, namespace, {
      apiVersion: 'canaryd.dev/v1alpha1',
      kind: 'CanaryPolicy',
      metadata: { name: APP, namespace },
      spec: { target: { deployment: APP, service: APP, router: 'replica-ratio' } },
    });
    await createPolicy(kc, namespace, {
      apiVersion: 'canaryd.dev/v1alpha1',
      kind: 'CanaryPolicy',
      metadata: { name: 'never-valid', namespace },
      spec: {
        target: { deployment: 'api', service: 'api', router: 'replica-ratio' },
        strategy: { steps: [{ weight: 5 }, { weight: 2 }] },
      },
    });
    // Protected from the first moment: no canaryd runs yet.
    expect((await readPolicy(kc, namespace, APP))?.metadata.finalizers).toEqual([FINALIZER]);
    expect((await readPolicy(kc, namespace, 'never-valid'))?.metadata.finalizers).toEqual([FINALIZER]);

    const canaryd = startCanaryd(env.kubeconfig, ['--namespace', namespace]);
    try {
      const policy = await waitFor(
        async () => {
          const found = await readPolicy(kc, namespace, APP);
          return adopted(found?.status) ? found : undefined;
        },
        { timeoutMs: 30_000, description: 'the policy adopted' },
      );
      // canaryd wrote the status and nothing of the policy's metadata: the finalizer is the creator's.
      const canarydFields = (policy?.metadata.managedFields ?? []).filter((f) => f.manager === 'canaryd');
      expect(canarydFields.map((f) => f.subresource ?? '')).toEqual(['status']);
      expect((await apps.readNamespacedDeployment({ name: APP, namespace })).spec?.paused).toBe(true);
      await waitFor(async () => (await readPolicy(kc, namespace, 'never-valid'))?.status?.phase === 'invalid', {
        timeoutMs: 30_000,
        description: 'never-valid seen as invalid',
      });

      const custom = kc.makeApiClient(k8s.CustomObjectsApi);
      const remove = (name: string) =>
        custom.deleteNamespacedCustomObject({
          group: 'canaryd.dev',
          version: 'v1alpha1',
          namespace,
          plural: 'canarypolicies',
          name,
        });
      await remove('never-valid');
      await waitFor(async () => ((await readPolicy(kc, namespace, 'never-valid')) === null ? true : undefined), {
        timeoutMs: 30_000,
        description: 'the never-valid policy gone',
      });
      await remove(APP);
      await waitFor(async () => ((await readPolicy(kc, namespace, APP)) === null ? true : undefined), {
        timeoutMs: 30_000,
        description: 'the adopted policy gone',
      });
      const handedBack = await apps.readNamespacedDeployment({ name: APP, namespace });
      expect(handedBack.spec?.paused).toBeFalsy();
      expect(handedBack.metadata?.labels?.['canaryd.dev/managed']).toBeUndefined();
    } finally {
      await canaryd.stop();
    }
  });
});
