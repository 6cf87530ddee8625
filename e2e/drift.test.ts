// Conflicting writers during a release (issue 5: "detects and corrects drift, recording an
// Event"; issue 8's conflicting-writers drill): someone edits the canary Ingress weight, the
// stable or canary Service selector, or scales the canary; canaryd writes its intent back and
// records a DriftCorrected Event.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './cluster/wait.ts';
import { adopted, type CanarydProcess, createPolicy, installCrd, readPolicy, startCanaryd } from './support/canaryd.ts';
import { demoDeployment, demoService, useTestEnv } from './support/env.ts';
import { operate } from './support/routers.ts';

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

  it('restores an edited canary weight, edited selectors and a resized canary, and says so in Events', async () => {
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
    await waitFor(async () => adopted((await readPolicy(kc, namespace, 'web'))?.status), {
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

    // Someone adds a label to the pinned stable selector (stable pods would drop out).
    const pinnedSelector = (await core.readNamespacedService({ name: 'web', namespace })).spec?.selector;
    await core.patchNamespacedService(
      { name: 'web', namespace, body: { spec: { selector: { edited: 'by-someone' } } } },
      mergePatch,
    );
    await waitFor(
      async () =>
        JSON.stringify((await core.readNamespacedService({ name: 'web', namespace })).spec?.selector) ===
        JSON.stringify(pinnedSelector),
      { timeoutMs: 15_000, description: 'canaryd putting back the pinned stable selector' },
    );

    // Someone points the canary Service at every pod of the app.
    await core.patchNamespacedService(
      { name: 'web-canary', namespace, body: { spec: { selector: { 'canaryd.dev/track': null } } } },
      mergePatch,
    );
    await waitFor(
      async () =>
        (await core.readNamespacedService({ name: 'web-canary', namespace })).spec?.selector?.['canaryd.dev/track'] ===
        'canary',
      { timeoutMs: 15_000, description: 'canaryd selecting only canary pods in the canary Service again' },
    );

    // Someone scales the canary Deployment up.
    await apps.patchNamespacedDeployment(
      { name: 'web-canary', namespace, body: { spec: { replicas: 3 } } },
      mergePatch,
    );
    await waitFor(
      async () => (await apps.readNamespacedDeployment({ name: 'web-canary', namespace })).spec?.replicas === 1,
      { timeoutMs: 15_000, description: 'canaryd scaling the canary back to 1' },
    );

    const expected = [
      /sends 50 % \(canary-weight 50/,
      /Service web is no longer pinned/,
      /Service web selector was changed to .*"edited":"by-someone"/,
      /canary Service web-canary selects .* instead of the canary pods/,
      /canary Deployment web-canary has 3 replicas but step 1 needs 1/,
    ];
    const events = await waitFor(
      async () => {
        const list = await core.listNamespacedEvent({ namespace });
        const messages = list.items.filter((e) => e.reason === 'DriftCorrected').map((e) => e.message ?? '');
        return expected.every((pattern) => messages.some((m) => pattern.test(m))) ? messages : undefined;
      },
      { timeoutMs: 15_000, description: 'a DriftCorrected Event for each edit' },
    );
    expect(events.length).toBeGreaterThanOrEqual(expected.length);
    expect((await readPolicy(kc, namespace, 'web'))?.status?.phase).toBe('progressing');
  });
});

describe('drift during a release (replica-ratio)', () => {
  const env = useTestEnv('drift-rr');
  let canaryd: CanarydProcess;

  beforeAll(async () => {
    await installCrd(env.kc);
    canaryd = startCanaryd(env.kubeconfig, ['--namespace', env.namespace]);
  });
  afterAll(async () => {
    await canaryd?.stop();
  });

  it('puts back a Service selector edited during the release, says so, and leaves the Service as found', async () => {
    const { apps, core, kc, namespace } = env;
    await apps.createNamespacedDeployment({
      namespace,
      body: demoDeployment(namespace, { name: 'web', replicas: 3, version: 'v1' }),
    });
    await core.createNamespacedService({ namespace, body: demoService(namespace, 'web') });
    const found = (await core.readNamespacedService({ name: 'web', namespace })).spec?.selector;
    await waitFor(
      async () => (await apps.readNamespacedDeployment({ name: 'web', namespace })).status?.availableReplicas === 3,
      { timeoutMs: 60_000, description: 'web v1 Available' },
    );
    await createPolicy(kc, namespace, {
      apiVersion: 'canaryd.dev/v1alpha1',
      kind: 'CanaryPolicy',
      metadata: { name: 'web', namespace },
      spec: {
        target: { deployment: 'web', service: 'web', router: 'replica-ratio' },
        strategy: { steps: [{ weight: 25, hold: '10m' }], allowLargeFirstStep: true },
      },
    });
    await waitFor(async () => adopted((await readPolicy(kc, namespace, 'web'))?.status), {
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
    await waitFor(
      async () => {
        const status = (await readPolicy(kc, namespace, 'web'))?.status;
        return status?.phase === 'progressing' && status?.release?.current?.stepStartedAt !== undefined;
      },
      { timeoutMs: 60_000, description: 'step 1 carrying 25 %' },
    );

    // Someone adds a label to the Service selector: neither stable nor canary pods match it.
    await core.patchNamespacedService(
      { name: 'web', namespace, body: { spec: { selector: { edited: 'by-someone' } } } },
      mergePatch,
    );
    await waitFor(
      async () =>
        JSON.stringify((await core.readNamespacedService({ name: 'web', namespace })).spec?.selector) ===
        JSON.stringify(found),
      { timeoutMs: 15_000, description: 'canaryd putting back the selector in force when the release started' },
    );
    await waitFor(
      async () =>
        (await core.listNamespacedEvent({ namespace })).items.some(
          (e) => e.reason === 'DriftCorrected' && /Service web selector was changed/.test(e.message ?? ''),
        ),
      { timeoutMs: 15_000, description: 'a DriftCorrected Event naming the selector' },
    );

    // Aborting ends the release; the Service is as it was found, record and all.
    await operate(kc, namespace, 'web', 'abort');
    await waitFor(async () => (await readPolicy(kc, namespace, 'web'))?.status?.phase === 'failed', {
      timeoutMs: 60_000,
      description: 'the aborted release ending',
    });
    const after = await waitFor(
      async () => {
        const service = await core.readNamespacedService({ name: 'web', namespace });
        return service.metadata?.annotations?.['canaryd.dev/release-selector'] === undefined ? service : undefined;
      },
      { timeoutMs: 30_000, description: 'the recorded selector removed by cleanup' },
    );
    expect(after.spec?.selector).toEqual(found);
  });
});
