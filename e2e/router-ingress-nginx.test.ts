// The ingress-nginx router on a real control plane (objects only: no ingress data plane runs
// locally). A release picked by `router: auto`, testers first and then 0.5 %, 5 % and 50 %:
// at each step the canary Ingress, the canary Service and the pinned stable Service are exactly
// as docs/traffic.md specifies, and the stable Service never lists a canary pod while pinned.
// After a promotion, an abort and a canary that never became ready, the user's Ingress and
// Service are as they were and no canary object remains.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './cluster/wait.ts';
import {
  adopted,
  type CanarydProcess,
  createPolicy,
  installCrd,
  type PolicyStatusView,
  readPolicy,
  startCanaryd,
} from './support/canaryd.ts';
import { statusOf } from './support/crd.ts';
import { demoDeployment, demoService, useTestEnv } from './support/env.ts';
import { endpointsOf, operate, podIps, userView, watchPinnedService } from './support/routers.ts';

const NGINX = 'nginx.ingress.kubernetes.io/';
const strategicMerge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch);

/** The user's Ingress: two hosts, TLS for both, paths to web (by port name and number) and to another Service. */
function userIngress(namespace: string): k8s.V1Ingress {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: {
      name: 'web',
      namespace,
      labels: { team: 'shop' },
      annotations: { [`${NGINX}proxy-read-timeout`]: '30', 'example.com/owner': 'sre' },
    },
    spec: {
      ingressClassName: 'nginx',
      tls: [
        { hosts: ['web.example.com'], secretName: 'web-tls' },
        { hosts: ['assets.example.com'], secretName: 'assets-tls' },
      ],
      rules: [
        {
          host: 'web.example.com',
          http: {
            paths: [
              { path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { name: 'http' } } } },
              { path: '/api', pathType: 'Exact', backend: { service: { name: 'web', port: { number: 80 } } } },
              {
                path: '/static',
                pathType: 'Prefix',
                backend: { service: { name: 'assets', port: { number: 80 } } },
              },
            ],
          },
        },
        {
          host: 'assets.example.com',
          http: {
            paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'assets', port: { number: 80 } } } }],
          },
        },
      ],
    },
  };
}

/** The canary Ingress docs/traffic.md specifies for userIngress: only web's paths, to web-canary. */
const expectedCanarySpec = {
  ingressClassName: 'nginx',
  tls: [{ hosts: ['web.example.com'], secretName: 'web-tls' }],
  rules: [
    {
      host: 'web.example.com',
      http: {
        paths: [
          { path: '/', pathType: 'Prefix', backend: { service: { name: 'web-canary', port: { name: 'http' } } } },
          { path: '/api', pathType: 'Exact', backend: { service: { name: 'web-canary', port: { number: 80 } } } },
        ],
      },
    },
  ],
};

describe('ingress-nginx router', () => {
  const env = useTestEnv('nginx');
  let canaryd: CanarydProcess;
  let networking: k8s.NetworkingV1Api;
  let ingressBefore: ReturnType<typeof userView>;
  let serviceBefore: ReturnType<typeof userView>;

  const policy = () => readPolicy(env.kc, env.namespace, 'web');
  const readIngress = (name: string) =>
    networking.readNamespacedIngress({ name, namespace: env.namespace }).catch((error: unknown) => {
      if (statusOf(error) === 404) return null;
      throw error;
    });
  const readService = (name: string) =>
    env.core.readNamespacedService({ name, namespace: env.namespace }).catch((error: unknown) => {
      if (statusOf(error) === 404) return null;
      throw error;
    });
  const setTemplate = (image: string, extraLabels: Record<string, string> = {}) =>
    env.apps.patchNamespacedDeployment(
      {
        name: 'web',
        namespace: env.namespace,
        body: {
          spec: {
            template: {
              metadata: { labels: { app: 'web', ...extraLabels } },
              spec: { containers: [{ name: 'app', image, env: [{ name: 'VERSION', value: image.split(':')[1] }] }] },
            },
          },
        },
      },
      strategicMerge,
    );
  /** The pod-template-hash of the stable Deployment's running ReplicaSet. */
  const stableHash = async () => {
    const sets = await env.apps.listNamespacedReplicaSet({ namespace: env.namespace, labelSelector: 'app=web' });
    const running = sets.items.filter(
      (rs) => rs.metadata?.ownerReferences?.some((o) => o.name === 'web') && (rs.spec?.replicas ?? 0) > 0,
    );
    expect(running).toHaveLength(1);
    return running[0]?.metadata?.labels?.['pod-template-hash'] as string;
  };
  const waitForStatus = (description: string, test: (status: PolicyStatusView) => boolean, timeoutMs = 60_000) =>
    waitFor(
      async () => {
        const status = (await policy())?.status;
        return status !== undefined && test(status) ? status : undefined;
      },
      { timeoutMs, description },
    );

  /** The objects of one step, exactly as docs/traffic.md specifies them. */
  async function expectStep(step: { weight: number; canaryWeight: string; total: string }) {
    const { namespace } = env;
    const canaryIngress = await readIngress('web-canary');
    expect(canaryIngress?.spec).toEqual(expectedCanarySpec);
    expect(canaryIngress?.metadata?.labels).toEqual({ 'app.kubernetes.io/managed-by': 'canaryd' });
    // The policy's, like the canary Deployment (garbage-collected if the policy is force-deleted).
    expect(canaryIngress?.metadata?.ownerReferences?.map((o) => [o.kind, o.name, o.controller])).toEqual([
      ['CanaryPolicy', 'web', true],
    ]);
    expect(canaryIngress?.metadata?.annotations).toEqual({
      [`${NGINX}canary`]: 'true',
      [`${NGINX}canary-weight`]: step.canaryWeight,
      [`${NGINX}canary-weight-total`]: step.total,
      [`${NGINX}canary-by-header`]: 'X-Canary',
      [`${NGINX}canary-by-header-value`]: 'always',
      'canaryd.dev/weight': String(step.weight),
      'canaryd.dev/policy': `${namespace}/web`,
      'canaryd.dev/canary-of': 'web',
    });

    const canaryService = await readService('web-canary');
    expect(canaryService?.metadata?.labels).toEqual({ 'app.kubernetes.io/managed-by': 'canaryd' });
    expect(canaryService?.spec?.type).toBe('ClusterIP');
    expect(canaryService?.spec?.selector).toEqual({ app: 'web', 'canaryd.dev/track': 'canary' });
    expect(canaryService?.spec?.ports).toEqual([{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }]);

    // The stable Service is pinned to the stable ReplicaSet, with the selector as found and the
    // policy that pinned it recorded; everything else the user wrote stays.
    const hash = await stableHash();
    const stable = await readService('web');
    expect(stable?.spec?.selector).toEqual({ app: 'web', 'pod-template-hash': hash });
    expect(stable?.metadata?.annotations).toEqual({
      ...serviceBefore.annotations,
      'canaryd.dev/original-selector': JSON.stringify({ app: 'web' }),
      'canaryd.dev/policy': `${namespace}/web`,
      'canaryd.dev/policy-uid': (await policy())?.metadata.uid,
    });
    expect(stable?.metadata?.labels ?? {}).toEqual(serviceBefore.labels);
    // The user's Ingress is never touched during a release.
    expect(userView((await readIngress('web'))!)).toEqual(ingressBefore);

    // Each Service's EndpointSlices list exactly its own pods (the EndpointSlice controller may lag a pod event).
    const canaryIps = await podIps(env.core, namespace, 'canaryd.dev/track=canary');
    const expectedCanaryReplicas = (await env.apps.readNamespacedDeployment({ name: 'web-canary', namespace })).spec
      ?.replicas;
    expect(canaryIps).toHaveLength(expectedCanaryReplicas!);
    await waitFor(
      async () => {
        const canaryEndpoints = await endpointsOf(env.discovery, namespace, 'web-canary');
        const stableEndpoints = await endpointsOf(env.discovery, namespace, 'web');
        const stableIps = await podIps(env.core, namespace, `app=web,pod-template-hash=${hash}`);
        return (
          JSON.stringify(canaryEndpoints.map((e) => e.ip)) === JSON.stringify(canaryIps) &&
          canaryEndpoints.every((e) => e.ready) &&
          JSON.stringify(stableEndpoints.map((e) => e.ip)) === JSON.stringify(stableIps)
        );
      },
      {
        timeoutMs: 15_000,
        description: `canary endpoints = canary pods ${canaryIps.join(', ')}, stable = stable pods`,
      },
    );
  }

  /** After a release: the user's objects as before, no canary object left. */
  async function expectRestored() {
    const { namespace } = env;
    await waitFor(
      async () =>
        (await readIngress('web-canary')) === null &&
        (await readService('web-canary')) === null &&
        (await env.apps.readNamespacedDeployment({ name: 'web-canary', namespace }).catch(() => null)) === null,
      { timeoutMs: 30_000, description: 'every canary object removed' },
    );
    expect(userView((await readIngress('web'))!)).toEqual(ingressBefore);
    expect(userView((await readService('web'))!)).toEqual(serviceBefore);
    const ingresses = await networking.listNamespacedIngress({ namespace });
    expect(ingresses.items.map((i) => i.metadata?.name)).toEqual(['web']);
    const services = await env.core.listNamespacedService({ namespace });
    expect(services.items.map((s) => s.metadata?.name)).toEqual(['web']);
    expect(await podIps(env.core, namespace, 'canaryd.dev/track=canary')).toEqual([]);
  }

  beforeAll(async () => {
    const { kc, apps, core, namespace } = env;
    networking = kc.makeApiClient(k8s.NetworkingV1Api);
    await installCrd(kc);
    // Cluster-scoped and possibly left by an earlier file or run: create it once.
    await networking
      .createIngressClass({
        body: { metadata: { name: 'nginx' }, spec: { controller: 'k8s.io/ingress-nginx' } },
      })
      .catch((error: unknown) => {
        if (statusOf(error) !== 409) throw error;
      });
    await apps.createNamespacedDeployment({
      namespace,
      body: demoDeployment(namespace, { name: 'web', replicas: 3, version: 'v1' }),
    });
    const service = demoService(namespace, 'web');
    service.metadata = { ...service.metadata, labels: { team: 'shop' }, annotations: { 'example.com/owner': 'sre' } };
    await core.createNamespacedService({ namespace, body: service });
    await networking.createNamespacedIngress({ namespace, body: userIngress(namespace) });
    await waitFor(
      async () => (await apps.readNamespacedDeployment({ name: 'web', namespace })).status?.availableReplicas === 3,
      { timeoutMs: 60_000, description: 'web v1 Available' },
    );
    ingressBefore = userView((await readIngress('web'))!);
    serviceBefore = userView((await readService('web'))!);
    canaryd = startCanaryd(env.kubeconfig, ['--namespace', namespace, '--log-level', 'debug']);
    await createPolicy(kc, namespace, {
      apiVersion: 'canaryd.dev/v1alpha1',
      kind: 'CanaryPolicy',
      metadata: { name: 'web', namespace },
      spec: {
        target: { deployment: 'web', service: 'web', router: 'auto' },
        routing: { header: { name: 'X-Canary', value: 'always' }, testersFirst: '10s' },
        strategy: {
          steps: [
            { weight: 0.5, hold: '1s', pause: true },
            { weight: 5, hold: '1s', pause: true },
            { weight: 50, hold: '1s', pause: true },
          ],
        },
        timeouts: { canaryReady: '30s', promotion: '90s' },
      },
    });
    await waitFor(
      async () =>
        (await policy())?.status?.phase === 'idle' &&
        (await apps.readNamespacedDeployment({ name: 'web', namespace })).spec?.paused === true,
      { timeoutMs: 30_000, description: 'policy adopted the Deployment (paused, phase idle)' },
    );
  });
  afterAll(async () => {
    await canaryd?.stop();
  });

  it('auto picks ingress-nginx and says why', async () => {
    const status = (await policy())?.status as PolicyStatusView & { routerReason?: string };
    expect(status.router).toBe('ingress-nginx');
    expect(status.routerReason).toBe('auto: Ingress web of class nginx route(s) to Service web');
  });

  it('testers first, then 0.5 %, 5 % and 50 % exactly, then promotion restores the Ingress and Service', async () => {
    const pin = watchPinnedService(env.kc, env.namespace, 'web');
    await setTemplate('canaryd-demo:v2');

    // Testers only: header routing on, weight 0 of 100.
    await waitForStatus(
      'the testers-only step to start',
      (s) => s.phase === 'progressing' && s.release?.current?.stepIndex === 0 && readStarted(s),
    );
    await expectStep({ weight: 0, canaryWeight: '0', total: '100' });
    expect((await policy())?.status?.weight).toBe(0);

    const steps = [
      { index: 1, weight: 0.5, canaryWeight: '5', total: '1000' },
      { index: 2, weight: 5, canaryWeight: '5', total: '100' },
      { index: 3, weight: 50, canaryWeight: '50', total: '100' },
    ];
    for (const step of steps) {
      const status = await waitForStatus(
        `step ${step.index + 1} (${step.weight} %) paused at its start`,
        (s) => s.phase === 'paused' && s.release?.current?.stepIndex === step.index && s.weight === step.weight,
      );
      expect(status.step).toBe(`${step.index + 1}/4`);
      await expectStep(step);
      await operate(env.kc, env.namespace, 'web', 'resume');
    }

    await waitForStatus('the release to be promoted (phase succeeded)', (s) => s.phase === 'succeeded', 120_000);
    const { pinnedSamples, leaks } = await pin.stop();
    expect(pinnedSamples).toBeGreaterThan(20);
    expect(leaks).toEqual([]);
    await expectRestored();
    const deployment = await env.apps.readNamespacedDeployment({ name: 'web', namespace: env.namespace });
    expect(deployment.spec?.template.spec?.containers[0]?.image).toBe('canaryd-demo:v2');
    expect(deployment.spec?.paused).toBe(true);
    expect(deployment.status).toMatchObject({ replicas: 3, updatedReplicas: 3, readyReplicas: 3 });
    // The restored Service selects the promoted pods (the drained canary's pods leave it as they
    // terminate).
    await waitFor(
      async () => {
        const stableEndpoints = (await endpointsOf(env.discovery, env.namespace, 'web')).map((e) => e.ip);
        const promoted = await podIps(env.core, env.namespace, 'app=web');
        return promoted.length === 3 && JSON.stringify(stableEndpoints) === JSON.stringify(promoted);
      },
      { timeoutMs: 30_000, description: 'the stable Service listing exactly the 3 promoted pods' },
    );
  });

  it('an abort at 5 % rolls back and restores the Ingress and Service', async () => {
    const pin = watchPinnedService(env.kc, env.namespace, 'web');
    await setTemplate('canaryd-demo:v3');
    await waitForStatus(
      'step 2 (0.5 %) of the v3 release paused at its start',
      (s) => s.phase === 'paused' && s.release?.current?.stepIndex === 1 && s.weight === 0.5,
    );
    await operate(env.kc, env.namespace, 'web', 'resume');
    await waitForStatus(
      'step 3 (5 %) of the v3 release paused at its start',
      (s) => s.phase === 'paused' && s.release?.current?.stepIndex === 2 && s.weight === 5,
    );
    await expectStep({ weight: 5, canaryWeight: '5', total: '100' });

    await operate(env.kc, env.namespace, 'web', 'abort');
    const failed = await waitForStatus('the abort to roll back (phase failed)', (s) => s.phase === 'failed');
    expect(failed.release?.history.at(-1)).toMatchObject({ outcome: 'rolledBack' });
    const { leaks } = await pin.stop();
    expect(leaks).toEqual([]);
    await expectRestored();
    const deployment = await env.apps.readNamespacedDeployment({ name: 'web', namespace: env.namespace });
    expect(deployment.spec?.template.spec?.containers[0]?.image).toBe('canaryd-demo:v2');
  });

  it('a canary that never becomes ready rolls back and restores the Ingress and Service', async () => {
    await setTemplate('canaryd-demo:v4', { 'demo.canaryd.dev/never-ready': 'true' });
    // Prepared while the canary waits: pinned, canary Ingress at weight 0 (testers not yet on).
    await waitFor(
      async () => {
        const canary = await readIngress('web-canary');
        const stable = await readService('web');
        return (
          canary?.metadata?.annotations?.[`${NGINX}canary-weight`] === '0' &&
          stable?.metadata?.annotations?.['canaryd.dev/original-selector'] !== undefined
        );
      },
      { timeoutMs: 30_000, description: 'the route prepared for the v4 canary' },
    );
    const failed = await waitForStatus(
      'the unready canary to be rolled back (phase failed)',
      (s) => s.phase === 'failed' && s.release?.history.at(-1)?.changeCause?.includes('canaryd-demo:v4') === true,
      90_000,
    );
    expect(failed.release?.history.at(-1)?.reason).toContain('timeouts.canaryReady');
    await expectRestored();
    const deployment = await env.apps.readNamespacedDeployment({ name: 'web', namespace: env.namespace });
    expect(deployment.spec?.template.spec?.containers[0]?.image).toBe('canaryd-demo:v2');
    expect(deployment.spec?.template.metadata?.labels).toEqual({ app: 'web' });
  });
});

/** The current step has started (its weight is set and its hold runs). */
const readStarted = (status: PolicyStatusView): boolean =>
  (status.release?.current as { stepStartedAt?: string } | undefined)?.stepStartedAt !== undefined;

describe('ingress-nginx router: header and cookie routing without testersFirst', () => {
  const env = useTestEnv('nginx-hdr');
  let canaryd: CanarydProcess;
  let networking: k8s.NetworkingV1Api;
  const status = async () => (await readPolicy(env.kc, env.namespace, 'web'))?.status;

  beforeAll(async () => {
    const { kc, apps, core, namespace } = env;
    networking = kc.makeApiClient(k8s.NetworkingV1Api);
    await installCrd(kc);
    await networking
      .createIngressClass({ body: { metadata: { name: 'nginx' }, spec: { controller: 'k8s.io/ingress-nginx' } } })
      .catch((error: unknown) => {
        if (statusOf(error) !== 409) throw error;
      });
    await apps.createNamespacedDeployment({
      namespace,
      body: demoDeployment(namespace, { name: 'web', replicas: 2, version: 'v1' }),
    });
    await core.createNamespacedService({ namespace, body: demoService(namespace, 'web') });
    await networking.createNamespacedIngress({ namespace, body: userIngress(namespace) });
    await waitFor(
      async () => (await apps.readNamespacedDeployment({ name: 'web', namespace })).status?.availableReplicas === 2,
      { timeoutMs: 60_000, description: 'web v1 Available' },
    );
    canaryd = startCanaryd(env.kubeconfig, ['--namespace', namespace, '--log-level', 'debug']);
    await createPolicy(kc, namespace, {
      apiVersion: 'canaryd.dev/v1alpha1',
      kind: 'CanaryPolicy',
      metadata: { name: 'web', namespace },
      spec: {
        target: { deployment: 'web', service: 'web', router: 'ingress-nginx' },
        routing: { header: { name: 'X-Canary', value: 'always' }, cookie: 'canary' },
        strategy: {
          steps: [
            { weight: 5, hold: '1s', pause: true },
            { weight: 20, hold: '1s', pause: true },
          ],
        },
        timeouts: { canaryReady: '30s', promotion: '90s' },
      },
    });
    await waitFor(async () => adopted(await status()), {
      timeoutMs: 30_000,
      description: 'policy adopted the Deployment (Ready)',
    });
  });
  afterAll(async () => {
    await canaryd?.stop();
  });

  it('writes the header and cookie routing beside the weight on the same canary Ingress at every step', async () => {
    await env.apps.patchNamespacedDeployment(
      {
        name: 'web',
        namespace: env.namespace,
        body: { spec: { template: { spec: { containers: [{ name: 'app', image: 'canaryd-demo:v2' }] } } } },
      },
      strategicMerge,
    );
    for (const step of [
      { index: 0, weight: 5 },
      { index: 1, weight: 20 },
    ]) {
      const paused = await waitFor(
        async () => {
          const s = await status();
          return s?.phase === 'paused' && s.release?.current?.stepIndex === step.index && s.weight === step.weight
            ? s
            : undefined;
        },
        { timeoutMs: 60_000, description: `step ${step.index + 1} (${step.weight} %) paused at its start` },
      );
      // No testers-only step: the first step is the first weighted one.
      expect(paused.step).toBe(`${step.index + 1}/2`);
      const canary = await networking.readNamespacedIngress({ name: 'web-canary', namespace: env.namespace });
      expect(canary.metadata?.annotations).toEqual({
        [`${NGINX}canary`]: 'true',
        [`${NGINX}canary-weight`]: String(step.weight),
        [`${NGINX}canary-weight-total`]: '100',
        [`${NGINX}canary-by-header`]: 'X-Canary',
        [`${NGINX}canary-by-header-value`]: 'always',
        [`${NGINX}canary-by-cookie`]: 'canary',
        'canaryd.dev/weight': String(step.weight),
        'canaryd.dev/policy': `${env.namespace}/web`,
        'canaryd.dev/canary-of': 'web',
      });
      if (step.index === 0) await operate(env.kc, env.namespace, 'web', 'resume');
    }
    // A rollback takes the testers off the canary in the same write as the weight.
    await operate(env.kc, env.namespace, 'web', 'abort');
    await waitFor(async () => (await status())?.phase === 'failed', {
      timeoutMs: 60_000,
      description: 'the abort rolled back (phase failed)',
    });
    await waitFor(
      async () =>
        (await networking.readNamespacedIngress({ name: 'web-canary', namespace: env.namespace }).catch(() => null)) ===
        null,
      { timeoutMs: 30_000, description: 'the canary Ingress removed' },
    );
  });
});
