// A release through the replica-ratio router on a real control plane: adoption without restarting
// pods, a new template released as a canary step by step, promotion with zero unavailability,
// and the user's Deployment and Service left as they were except for the new template.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendLoad } from './cluster/loadgen.ts';
import { waitFor } from './cluster/wait.ts';
import { type CanarydProcess, createPolicy, installCrd, readPolicy, startCanaryd } from './support/canaryd.ts';
import { demoDeployment, demoService, useTestEnv } from './support/env.ts';
import { watchServiceEndpoints } from './support/watch-records.ts';

describe('replica-ratio release', () => {
  const env = useTestEnv('rr');
  let canaryd: CanarydProcess;

  beforeAll(async () => {
    await installCrd(env.kc);
    canaryd = startCanaryd(env.kubeconfig, ['--namespace', env.namespace, '--log-level', 'debug']);
  });
  afterAll(async () => {
    await canaryd?.stop();
  });

  it('adopts the Deployment, releases v2 step by step and promotes it', async () => {
    const { apps, core, kc, namespace } = env;
    await apps.createNamespacedDeployment({
      namespace,
      body: demoDeployment(namespace, { name: 'web', replicas: 4, version: 'v1' }),
    });
    await core.createNamespacedService({ namespace, body: demoService(namespace, 'web') });
    await waitFor(
      async () => (await apps.readNamespacedDeployment({ name: 'web', namespace })).status?.availableReplicas === 4,
      {
        timeoutMs: 60_000,
        description: 'web v1 Available',
      },
    );
    const podsBefore = (await core.listNamespacedPod({ namespace, labelSelector: 'app=web' })).items
      .map((p) => p.metadata?.name)
      .sort();
    const serviceBefore = await core.readNamespacedService({ name: 'web', namespace });

    await createPolicy(kc, namespace, {
      apiVersion: 'canaryd.dev/v1alpha1',
      kind: 'CanaryPolicy',
      metadata: { name: 'web', namespace },
      spec: {
        target: { deployment: 'web', service: 'web', router: 'replica-ratio' },
        strategy: {
          steps: [
            { weight: 20, hold: '3s' },
            { weight: 50, hold: '3s' },
          ],
          allowLargeFirstStep: true,
        },
        timeouts: { canaryReady: '60s', promotion: '90s' },
      },
    });
    await waitFor(
      async () => {
        const policy = await readPolicy(kc, namespace, 'web');
        const deployment = await apps.readNamespacedDeployment({ name: 'web', namespace });
        return policy?.status?.phase === 'idle' && deployment.spec?.paused === true;
      },
      { timeoutMs: 30_000, description: 'policy adopted the Deployment (paused, phase idle)' },
    );
    const podsAfterAdoption = (await core.listNamespacedPod({ namespace, labelSelector: 'app=web' })).items
      .map((p) => p.metadata?.name)
      .sort();
    expect(podsAfterAdoption).toEqual(podsBefore);

    // Every change of the Service's EndpointSlices, watched (not sampled): invariant 1.
    const endpoints = watchServiceEndpoints(env, 'web');
    await endpoints.ready;
    await apps.patchNamespacedDeployment(
      {
        name: 'web',
        namespace,
        body: {
          spec: {
            template: {
              spec: {
                containers: [{ name: 'app', image: 'canaryd-demo:v2', env: [{ name: 'VERSION', value: 'v2' }] }],
              },
            },
          },
        },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
    );

    // The canary takes a share of the Service's traffic while the release runs.
    const seen = await waitFor(
      async () => {
        const policy = await readPolicy(kc, namespace, 'web');
        return (policy?.status?.weight ?? 0) > 0 ? policy : undefined;
      },
      { timeoutMs: 60_000, description: 'the canary receiving traffic (status.weight > 0)' },
    );
    expect(seen.status?.phase).toBe('progressing');
    const canary = await apps.readNamespacedDeployment({ name: 'web-canary', namespace });
    expect(canary.spec?.template.metadata?.labels?.['canaryd.dev/track']).toBe('canary');
    const mixed = await sendLoad(kc, { namespace, service: 'web', requests: 200, concurrency: 4 });
    expect(mixed.byVersion.v2 ?? 0).toBeGreaterThan(0);
    expect(mixed.byVersion.v1 ?? 0).toBeGreaterThan(0);

    await waitFor(async () => (await readPolicy(kc, namespace, 'web'))?.status?.phase === 'succeeded', {
      timeoutMs: 120_000,
      intervalMs: 500,
      description: 'the release to be promoted (phase succeeded)',
    });
    const { zeroAt, changes, errors } = await endpoints.stop();
    expect(errors).toEqual([]); // no watch event lost
    expect(changes).toBeGreaterThan(0); // the canary's endpoint came and went
    expect(zeroAt).toEqual([]);

    // The status is written before the actions it asks for (crash safety), so the re-pause that
    // ends a promotion lands a moment after the phase says succeeded.
    const deployment = await waitFor(
      async () => {
        const current = await apps.readNamespacedDeployment({ name: 'web', namespace });
        return current.spec?.paused === true ? current : undefined;
      },
      { timeoutMs: 15_000, description: 'the Deployment paused again after the promotion' },
    );
    expect(deployment.spec?.template.spec?.containers[0]?.image).toBe('canaryd-demo:v2');
    expect(deployment.status?.updatedReplicas).toBe(4);
    await waitFor(
      async () => (await apps.readNamespacedDeployment({ name: 'web-canary', namespace }).catch(() => null)) === null,
      {
        timeoutMs: 30_000,
        description: 'the canary Deployment to be removed',
      },
    );
    const after = await sendLoad(kc, { namespace, service: 'web', requests: 100, concurrency: 4 });
    expect(after.byVersion).toEqual({ v2: 100 });
    const serviceAfter = await core.readNamespacedService({ name: 'web', namespace });
    expect(serviceAfter.spec?.selector).toEqual(serviceBefore.spec?.selector);
    expect(serviceAfter.metadata?.annotations ?? {}).toEqual(serviceBefore.metadata?.annotations ?? {});
    const history = (await readPolicy(kc, namespace, 'web'))?.status?.release?.history ?? [];
    expect(history.at(-1)).toMatchObject({ outcome: 'succeeded' });
    expect(history.at(-1)?.changeCause).toContain('canaryd-demo:v1 → canaryd-demo:v2');
  });
});
