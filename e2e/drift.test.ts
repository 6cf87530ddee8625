// Conflicting writers during a release (issue 5: "detects and corrects drift, recording an
// Event"): someone edits the canary Ingress weight or unpins the stable Service; canaryd writes
// its intent back and records a DriftCorrected Event.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './cluster/wait.ts';
import { type CanarydProcess, createPolicy, installCrd, readPolicy, startCanaryd } from './support/canaryd.ts';
import { demoDeployment, demoService, useTestEnv } from './support/env.ts';

const NGINX = 'nginx.ingress.kubernetes.io/';
const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

describe('drift during a release (ingress-nginx)', () => {
  const env = useTestEnv('drift');
  let canaryd: CanarydProcess;

  beforeAll(async () => {
    await installCrd(env.kc);
    canaryd = startCanaryd(env.kubeconfig, ['--namespace', env.namespace]);
  });
  afterAll(async () => {
    await canaryd?.stop();
  });

  it('restores an edited canary weight and a removed selector pin, and says so in Events', async () => {
    const { apps, core, kc, namespace } = env;
    const networking = kc.makeApiClient(k8s.NetworkingV1Api);
    await networking
      .createIngressClass({ body: { metadata: { name: 'nginx' }, spec: { controller: 'k8s.io/ingress-nginx' } } })
      .catch(() => {
        // Another test created the cluster-wide IngressClass already.
      });
    await apps.createNamespacedDeployment({
      namespace,
      body: demoDeployment(namespace, { name: 'web', replicas: 2, version: 'v1' }),
    });
    await core.createNamespacedService({ namespace, body: demoService(namespace, 'web') });
    await networking.createNamespacedIngress({
      namespace,
      body: {
        metadata: { name: 'web', namespace },
        spec: {
          ingressClassName: 'nginx',
          rules: [
            {
              host: 'web.example.com',
              http: {
                paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }],
              },
            },
          ],
        },
      },
    });
    await waitFor(
      async () => (await apps.readNamespacedDeployment({ name: 'web', namespace })).status?.availableReplicas === 2,
      {
        timeoutMs: 60_000,
        description: 'web v1 Available',
      },
    );
    await createPolicy(kc, namespace, {
      apiVersion: 'canaryd.dev/v1alpha1',
      kind: 'CanaryPolicy',
      metadata: { name: 'web', namespace },
      spec: {
        target: { deployment: 'web', service: 'web', router: 'ingress-nginx' },
        strategy: {
          steps: [
            { weight: 5, hold: '10m' },
            { weight: 50, hold: '1m' },
          ],
        },
      },
    });
    await waitFor(async () => (await readPolicy(kc, namespace, 'web'))?.status?.phase === 'idle', {
      timeoutMs: 30_000,
      description: 'the policy adopting web',
    });
    await apps.patchNamespacedDeployment(
      {
        name: 'web',
        namespace,
        body: { spec: { template: { spec: { containers: [{ name: 'app', image: 'canaryd-demo:v2' }] } } } },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
    );
    const canaryWeight = async () =>
      (await networking.readNamespacedIngress({ name: 'web-canary', namespace }).catch(() => null))?.metadata
        ?.annotations?.[`${NGINX}canary-weight`];
    await waitFor(async () => (await canaryWeight()) === '5', { timeoutMs: 60_000, description: 'step 1 at 5 %' });

    // Someone sets the canary to 50 % by hand.
    await networking.patchNamespacedIngress(
      { name: 'web-canary', namespace, body: { metadata: { annotations: { [`${NGINX}canary-weight`]: '50' } } } },
      mergePatch,
    );
    await waitFor(async () => (await canaryWeight()) === '5', {
      timeoutMs: 15_000,
      description: 'canaryd restoring weight 5',
    });

    // Someone removes the pin from the stable Service (canary pods would get stable traffic).
    const pinned = await core.readNamespacedService({ name: 'web', namespace });
    expect(pinned.spec?.selector?.['pod-template-hash']).toBeTruthy();
    await core.patchNamespacedService(
      { name: 'web', namespace, body: { spec: { selector: { 'pod-template-hash': null } } } },
      mergePatch,
    );
    await waitFor(
      async () =>
        (await core.readNamespacedService({ name: 'web', namespace })).spec?.selector?.['pod-template-hash'] !==
        undefined,
      { timeoutMs: 15_000, description: 'canaryd pinning the stable Service again' },
    );

    const events = await waitFor(
      async () => {
        const list = await core.listNamespacedEvent({ namespace });
        const drift = list.items.filter((e) => e.reason === 'DriftCorrected');
        return drift.length >= 2 ? drift : undefined;
      },
      { timeoutMs: 15_000, description: 'two DriftCorrected Events' },
    );
    expect(events.some((e) => /sends 50|canary-weight 50/.test(e.message ?? ''))).toBe(true);
    expect(events.some((e) => /no longer pinned/.test(e.message ?? ''))).toBe(true);
    expect((await readPolicy(kc, namespace, 'web'))?.status?.phase).toBe('progressing');
  });
});
