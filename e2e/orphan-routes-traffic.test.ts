// A gateway-api release at 50 % whose CanaryPolicy is deleted while canaryd is down, its
// finalizer removed by hand. What the policy changed on the user's objects stays behind: the
// HTTPRoute weighs a canary Service the garbage collector removes with the policy, and the stable
// Service is pinned to the stable pods' pod-template-hash. The canaryd that comes back puts both
// back from canaryd's records; every request below crosses Traefik's Gateway (its
// kubernetesGateway provider) and is answered by a demo pod:
// - once handed back, every request reaches the stable version (v1), none is the proxy's own;
// - `kubectl rollout resume`, as the ReleaseAbandoned Event says, rolls v2 to every pod without a
//   failed request (a Service left pinned to v1's hash would have no endpoints once v1's pods go).
// And when GitOps creates the policy again before canaryd is back, the new policy (another uid)
// does not take the earlier one's marks for its own: what that release left is handed back the
// same way, the Deployment stays paused on the template no check passed, and the new policy
// waits until someone rolls it (no failed request then either) and adopts it.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { MANAGED_LABEL } from '../src/controller/names.ts';
import { sendThroughProxy } from './cluster/proxy-load.ts';
import { GATEWAY, GATEWAY_CONTROLLER } from './cluster/traefik.ts';
import { waitFor } from './cluster/wait.ts';
import {
  adopted,
  type CanarydProcess,
  createPolicy,
  deleteWithoutFinalizer,
  installCrd,
  readPolicy,
  startCanaryd,
} from './support/canaryd.ts';
import { demoDeployment, demoService, useTestEnv } from './support/env.ts';
import { imageOf, readRelease } from './support/release-status.ts';
import { userView } from './support/routers.ts';
import { setVersion, streamThroughProxy, waitForTraefikWeight } from './support/traffic.ts';

const ROUTE = { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes' };

interface Route {
  metadata: k8s.V1ObjectMeta;
  spec: { rules: Array<{ backendRefs?: Array<{ name: string; weight?: number }> }> };
  status?: {
    parents?: Array<{
      controllerName?: string;
      conditions?: Array<{ type: string; status: string; observedGeneration?: number }>;
    }>;
  };
}

const webPolicy = (namespace: string) => ({
  apiVersion: 'canaryd.dev/v1alpha1',
  kind: 'CanaryPolicy',
  metadata: { name: 'web', namespace },
  spec: {
    target: { deployment: 'web', service: 'web', router: 'gateway-api' },
    strategy: { steps: [{ weight: 50, hold: '10m' }], allowLargeFirstStep: true },
    timeouts: { canaryReady: '60s' },
  },
});

describe('a gateway-api release whose policy is deleted without its finalizer while canaryd is down', () => {
  const env = useTestEnv('orphanroute');
  const cluster = inject('cluster');
  const proxyUrl = cluster.proxyUrl ?? '';
  const host = () => `web.${env.namespace}.test`;
  let custom: k8s.CustomObjectsApi;
  let canaryd: CanarydProcess | undefined;
  let routeAsWritten: ReturnType<typeof userView>;
  let serviceAsWritten: ReturnType<typeof userView>;

  const readRoute = async () =>
    (await custom.getNamespacedCustomObject({ ...ROUTE, namespace: env.namespace, name: 'web' })) as Route;
  const readService = () => env.core.readNamespacedService({ name: 'web', namespace: env.namespace });
  const readDeployment = () => env.apps.readNamespacedDeployment({ name: 'web', namespace: env.namespace });
  const through = (requests: number) =>
    sendThroughProxy({ proxyUrl, host: host(), requests, concurrency: 8, maxDurationMs: 60_000 });
  /** Traefik's own verdict on the route's current generation: Accepted and ResolvedRefs. */
  const traefikAccepts = () =>
    waitFor(
      async () => {
        const route = await readRoute();
        const parent = route.status?.parents?.find((p) => p.controllerName === GATEWAY_CONTROLLER);
        const current = (type: string) =>
          parent?.conditions?.find((c) => c.type === type && c.observedGeneration === route.metadata.generation);
        return current('Accepted')?.status === 'True' && current('ResolvedRefs')?.status === 'True' ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200, description: 'Traefik reporting Accepted and ResolvedRefs on the route' },
    );
  /** The HTTPRoute and the Service as the user wrote them, the Deployment's mark gone. */
  const handedBackAsWritten = () =>
    waitFor(
      async () =>
        JSON.stringify(userView(await readRoute())) === JSON.stringify(routeAsWritten) &&
        JSON.stringify(userView(await readService())) === JSON.stringify(serviceAsWritten) &&
        (await readDeployment()).metadata?.labels?.[MANAGED_LABEL] === undefined
          ? true
          : undefined,
      { timeoutMs: 60_000, description: 'the HTTPRoute, the Service and the Deployment handed back as written' },
    );
  const stopCanaryd = async () => {
    await canaryd?.stop();
    canaryd = undefined;
  };

  /**
   * canaryd (running) adopts web and releases `version` to its step at 50 % (Traefik carrying it),
   * then stops; the policy is deleted with its finalizer removed by hand, and the garbage
   * collector removes the canary Service the route still weighs.
   */
  const releaseAbandoned = async (version: string) => {
    const { kc, namespace } = env;
    await createPolicy(kc, namespace, webPolicy(namespace));
    await waitFor(async () => (adopted((await readPolicy(kc, namespace, 'web'))?.status) ? true : undefined), {
      timeoutMs: 60_000,
      description: 'the policy adopted',
    });
    await setVersion(env.apps, namespace, 'web', version, 0);
    await waitFor(
      async () => {
        const release = await readRelease(env);
        return release?.phase === 'progressing' && release.current?.stepStartedAt !== undefined ? true : undefined;
      },
      { timeoutMs: 90_000, description: `the release of ${version} in its step at 50 %` },
    );
    await waitForTraefikWeight(cluster.traefikApiUrl ?? '', namespace, 50, 30_000);
    await stopCanaryd();
    await deleteWithoutFinalizer(kc, namespace, 'web');
    await waitFor(
      async () =>
        (await env.core.readNamespacedService({ name: 'web-canary', namespace }).catch(() => null)) === null
          ? true
          : undefined,
      { timeoutMs: 60_000, description: 'the canary Service removed by the garbage collector' },
    );
  };

  beforeAll(async () => {
    expect(proxyUrl, 'the cluster reports no proxy URL').not.toBe('');
    const { kc, apps, core, namespace } = env;
    custom = kc.makeApiClient(k8s.CustomObjectsApi);
    await installCrd(kc);
    await apps.createNamespacedDeployment({
      namespace,
      body: demoDeployment(namespace, { name: 'web', replicas: 3, version: 'v1' }),
    });
    await core.createNamespacedService({ namespace, body: demoService(namespace, 'web') });
    await custom.createNamespacedCustomObject({
      ...ROUTE,
      namespace,
      body: {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'HTTPRoute',
        metadata: { name: 'web', namespace },
        spec: {
          parentRefs: [{ name: GATEWAY.name, namespace: GATEWAY.namespace, sectionName: GATEWAY.listener }],
          hostnames: [host()],
          rules: [
            { matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRefs: [{ name: 'web', port: 80 }] },
          ],
        },
      },
    });
    await traefikAccepts();
    await waitFor(async () => ((await through(5)).bySource.app === 5 ? true : undefined), {
      timeoutMs: 60_000,
      intervalMs: 250,
      description: `web v1 answering ${host()} through the Gateway`,
    });
    routeAsWritten = userView(await readRoute());
    serviceAsWritten = userView(await readService());
  });

  afterAll(stopCanaryd);

  it('the restarted canaryd puts the HTTPRoute and the Service back; resuming the Deployment rolls v2 without a failed request', async () => {
    const { namespace } = env;
    canaryd = startCanaryd(env.kubeconfig, ['--namespace', namespace]);
    await releaseAbandoned('v2');
    const left = await readRoute();
    expect(left.spec.rules[0]?.backendRefs?.map((ref) => ref.name)).toEqual(['web', 'web-canary']);
    expect((await readService()).spec?.selector?.['pod-template-hash']).toBeDefined();

    canaryd = startCanaryd(env.kubeconfig, ['--namespace', namespace]);
    await handedBackAsWritten();
    await traefikAccepts();
    const events = (await env.core.listNamespacedEvent({ namespace })).items;
    const reasonsOn = (kind: string) =>
      events.filter((e) => e.involvedObject.kind === kind && e.involvedObject.name === 'web').map((e) => e.reason);
    expect(reasonsOn('HTTPRoute')).toEqual(['Released']);
    expect(reasonsOn('Service')).toEqual(['Released']);
    expect(reasonsOn('Deployment')).toContain('ReleaseAbandoned');
    // The Deployment stays paused on v2's template, which its pods never ran: every request is v1's.
    expect((await readDeployment()).spec?.paused).toBe(true);
    await waitFor(
      async () => {
        const seen = await through(20);
        return seen.bySource.app === 20 && seen.byVersion.v1 === 20 ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250, description: 'Traefik sending every request to v1 again' },
    );
    const handedBack = await through(400);
    expect(handedBack.bySource.proxy, JSON.stringify(handedBack.proxyCodes)).toBe(0);
    expect(handedBack.byVersion).toEqual({ v1: 400 });

    // `kubectl rollout resume deployment/web`, as the Warning says: v2 rolls, and no request fails.
    const steady = streamThroughProxy({ proxyUrl, host: host(), maxDurationMs: 5 * 60_000 });
    try {
      await env.apps.patchNamespacedDeployment(
        { name: 'web', namespace, body: { spec: { paused: false } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
      await waitFor(
        async () => {
          const { updatedReplicas, availableReplicas, replicas } = (await readDeployment()).status ?? {};
          return updatedReplicas === 3 && availableReplicas === 3 && replicas === 3 ? true : undefined;
        },
        { timeoutMs: 120_000, description: 'v2 rolled to all 3 pods' },
      );
      await waitFor(async () => ((await through(20)).byVersion.v2 === 20 ? true : undefined), {
        timeoutMs: 30_000,
        intervalMs: 250,
        description: 'Traefik sending every request to v2',
      });
    } finally {
      const seen = await steady.stop();
      expect(seen.sent, 'the stream sent requests').toBeGreaterThan(50);
      expect(seen.proxyAnswers, 'answers from the proxy itself during the roll').toEqual([]);
      expect(seen.failedAt, 'requests without an answer during the roll').toEqual([]);
    }
  }, 420_000);

  it('the same policy created again before canaryd is back: the earlier release is handed back, v3 stays paused until resumed', async () => {
    // From the first test: v2 runs on all pods, no policy, canaryd running.
    const { kc, namespace } = env;
    const readyCondition = async () =>
      (await readPolicy(kc, namespace, 'web'))?.status?.conditions?.find((c) => c.type === 'Ready');
    await releaseAbandoned('v3');
    const earlierUid = (await readDeployment()).metadata?.annotations?.['canaryd.dev/policy-uid'];
    expect(earlierUid, 'the mark records the uid of the policy that made it').toBeDefined();
    // GitOps puts the policy back before anyone starts canaryd again: a new object of the same name.
    await createPolicy(kc, namespace, webPolicy(namespace));
    const recreated = await readPolicy(kc, namespace, 'web');
    expect(recreated?.metadata?.uid).not.toBe(earlierUid);

    canaryd = startCanaryd(env.kubeconfig, ['--namespace', namespace]);
    // The new policy is another policy: what the earlier one left is handed back as for any
    // abandoned release (route, Service, then the Deployment, left paused on v3, which no check
    // passed), and the new policy waits, saying how to go on.
    await handedBackAsWritten();
    const waiting = await waitFor(
      async () => {
        const condition = await readyCondition();
        return condition?.reason === 'Adopting' && condition.message.startsWith('not adopted') ? condition : undefined;
      },
      { timeoutMs: 60_000, description: 'the new policy waiting: the paused template runs on no pod' },
    );
    expect(waiting.status).toBe('False');
    expect(waiting.message).toContain('`kubectl rollout resume deployment/web`');
    const paused = await readDeployment();
    expect(paused.spec?.paused).toBe(true);
    expect(imageOf(paused)).toBe('canaryd-demo:v3');
    expect(paused.status?.updatedReplicas ?? 0).toBe(0);
    const abandoned = (await env.core.listNamespacedEvent({ namespace })).items.filter(
      (e) => e.involvedObject.kind === 'Deployment' && e.reason === 'ReleaseAbandoned',
    );
    expect(abandoned.map((e) => e.message).join('\n')).toContain(`(uid ${earlierUid})`);
    await traefikAccepts();
    await waitFor(async () => ((await through(20)).byVersion.v2 === 20 ? true : undefined), {
      timeoutMs: 30_000,
      intervalMs: 250,
      description: 'Traefik sending every request to v2, the version every pod runs',
    });
    const handedBack = await through(200);
    expect(handedBack.bySource.proxy, JSON.stringify(handedBack.proxyCodes)).toBe(0);
    expect(handedBack.byVersion).toEqual({ v2: 200 });

    // `kubectl rollout resume deployment/web`, as the reason says: Kubernetes rolls v3, canaryd adopts it.
    const steady = streamThroughProxy({ proxyUrl, host: host(), maxDurationMs: 5 * 60_000 });
    try {
      await env.apps.patchNamespacedDeployment(
        { name: 'web', namespace, body: { spec: { paused: false } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
      await waitFor(async () => ((await readyCondition())?.status === 'True' ? true : undefined), {
        timeoutMs: 120_000,
        description: 'v3 rolled by Kubernetes, then adopted',
      });
      const adoptedDeployment = await readDeployment();
      expect(adoptedDeployment.status?.updatedReplicas).toBe(3);
      expect(adoptedDeployment.metadata?.annotations?.['canaryd.dev/policy-uid']).toBe(recreated?.metadata?.uid);
      await waitFor(async () => ((await through(20)).byVersion.v3 === 20 ? true : undefined), {
        timeoutMs: 30_000,
        intervalMs: 250,
        description: 'Traefik sending every request to v3',
      });
    } finally {
      const seen = await steady.stop();
      expect(seen.sent, 'the stream sent requests').toBeGreaterThan(20);
      expect(seen.proxyAnswers, 'answers from the proxy itself during the roll').toEqual([]);
      expect(seen.failedAt, 'requests without an answer during the roll').toEqual([]);
    }
    const reasons = (await env.core.listNamespacedEvent({ namespace })).items
      .filter((e) => e.involvedObject.kind === 'CanaryPolicy' && e.involvedObject.name === 'web')
      .map((e) => e.reason);
    expect(reasons).toContain('Adopted');
    expect(reasons).not.toContain('AdoptionRestarted');
  }, 420_000);
});
