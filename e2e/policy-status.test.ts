// A policy the CRD schema accepts but canaryd's validator refuses (weights not increasing) is
// reported in its status and the last valid version stays in force; fixing it makes it active.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './cluster/wait.ts';
import { type CanarydProcess, createPolicy, installCrd, readPolicy, startCanaryd } from './support/canaryd.ts';
import { demoDeployment, demoService, useTestEnv } from './support/env.ts';

const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

describe('invalid policy in the cluster', () => {
  const env = useTestEnv('pstatus');
  let canaryd: CanarydProcess;
  beforeAll(async () => {
    await installCrd(env.kc);
    canaryd = startCanaryd(env.kubeconfig, ['--namespace', env.namespace]);
  });
  afterAll(async () => {
    await canaryd?.stop();
  });

  it('reports the error in status.conditions, keeps the last valid spec, and activates the fix', async () => {
    const { apps, core, kc, namespace } = env;
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    await apps.createNamespacedDeployment({
      namespace,
      body: demoDeployment(namespace, { name: 'web', replicas: 2, version: 'v1' }),
    });
    await core.createNamespacedService({ namespace, body: demoService(namespace, 'web') });
    await createPolicy(kc, namespace, {
      apiVersion: 'canaryd.dev/v1alpha1',
      kind: 'CanaryPolicy',
      metadata: { name: 'web', namespace },
      spec: { target: { deployment: 'web', service: 'web', router: 'replica-ratio' } },
    });
    await waitFor(async () => (await readPolicy(kc, namespace, 'web'))?.status?.phase === 'idle', {
      timeoutMs: 30_000,
      description: 'the valid policy active (phase idle)',
    });
    const patch = (steps: object[]) =>
      custom.patchNamespacedCustomObject(
        {
          group: 'canaryd.dev',
          version: 'v1alpha1',
          namespace,
          plural: 'canarypolicies',
          name: 'web',
          body: { spec: { strategy: { steps } } },
        },
        mergePatch,
      );
    await patch([{ weight: 5 }, { weight: 2 }]);
    const rejected = await waitFor(
      async () => {
        const policy = await readPolicy(kc, namespace, 'web');
        const valid = policy?.status?.conditions?.find((c) => c.type === 'Valid');
        return valid?.status === 'False' ? { policy, valid } : undefined;
      },
      { timeoutMs: 30_000, description: 'the Valid condition turning False' },
    );
    expect(rejected.valid.reason).toBe('InvalidPolicy');
    expect(rejected.valid.message).toMatch(/spec\.strategy\.steps\[1\]\.weight/);
    expect(rejected.valid.message).toMatch(/last valid version \(generation 1\) stays in force/);
    const status = rejected.policy?.status as {
      activeGeneration?: number;
      activeSpec?: { strategy: { steps: Array<{ weight: number }> } };
    };
    expect(status.activeGeneration).toBe(1);
    expect(status.activeSpec?.strategy.steps.map((s) => s.weight)).toEqual([1, 5, 25, 50]);
    const events = await waitFor(
      async () => {
        const list = await core.listNamespacedEvent({ namespace });
        const found = list.items.filter((e) => e.reason === 'InvalidPolicy');
        return found.length > 0 ? found : undefined;
      },
      { timeoutMs: 15_000, description: 'an InvalidPolicy Event' },
    );
    expect(events[0]?.involvedObject.kind).toBe('CanaryPolicy');

    await patch([{ weight: 2 }, { weight: 5 }]);
    const fixed = await waitFor(
      async () => {
        const policy = await readPolicy(kc, namespace, 'web');
        return policy?.status?.conditions?.find((c) => c.type === 'Valid')?.status === 'True' ? policy : undefined;
      },
      { timeoutMs: 30_000, description: 'the fixed policy active again' },
    );
    const active = fixed.status as {
      activeGeneration?: number;
      activeSpec?: { strategy: { steps: Array<{ weight: number }> } };
    };
    expect(active.activeGeneration).toBe(3);
    expect(active.activeSpec?.strategy.steps.map((s) => s.weight)).toEqual([2, 5]);
  });
});
