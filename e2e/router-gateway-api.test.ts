// The gateway-api router on a real control plane with the Gateway API CRDs the cluster installs
// (standard channel), objects only: this file's route has a Gateway no data plane serves, so the
// route is asserted as written, and a stand-in for the Gateway controller reports on each
// generation of the route in its status (Accepted/ResolvedRefs), as a Gateway controller
// would. The measured shares through Traefik's Gateway come with the local data plane.
//
// A release picked by `router: auto`: testers first, then 0.1 %, 5 % and 50 % exactly as
// docs/traffic.md specifies, written by server-side apply as field manager canaryd; promotion
// leaves the HTTPRoute exactly as found. Then a removed canary backendRef is put back with a
// DriftCorrected Event, a route the Gateway refuses holds the release with the Gateway's reason
// (the refusal arrives after a resume opened the next step's pause gate: it is reported there
// too, not hidden behind "waits for resume"), an abort restores the route, and an Ingress beside
// the HTTPRoute makes auto refuse (once no release is in flight: a release keeps its router).
// Traefik, the cluster's real Gateway, writes status only for routes of its Gateway
// (e2e/traffic-gateway-api.test.ts relies on it); this route's Gateway is served by no one.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './cluster/wait.ts';
import {
  type CanarydProcess,
  createPolicy,
  installCrd,
  type PolicyStatusView,
  readPolicy,
  startCanaryd,
} from './support/canaryd.ts';
import { statusOf } from './support/crd.ts';
import { demoDeployment, demoService, useTestEnv } from './support/env.ts';
import { operate, userView } from './support/routers.ts';

const ROUTE = { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes' };
const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
const strategicMerge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch);

interface BackendRef {
  name: string;
  port?: number;
  weight?: number;
  [extra: string]: unknown;
}
interface Route {
  metadata: k8s.V1ObjectMeta;
  spec: { rules: Array<{ matches?: unknown[]; backendRefs?: BackendRef[]; [extra: string]: unknown }> };
  status?: unknown;
}

/** The user's route: the Service web on two paths (one by default weight), assets on a third. */
function userRoute(namespace: string) {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: 'web', namespace, labels: { team: 'shop' }, annotations: { 'example.com/owner': 'sre' } },
    spec: {
      parentRefs: [{ name: 'public', namespace }],
      hostnames: ['web.example.com'],
      rules: [
        {
          matches: [{ path: { type: 'PathPrefix', value: '/' } }],
          filters: [
            { type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'x-route', value: 'web' }] } },
          ],
          backendRefs: [{ name: 'web', port: 80 }],
        },
        { matches: [{ path: { type: 'PathPrefix', value: '/static' } }], backendRefs: [{ name: 'assets', port: 80 }] },
        { matches: [{ path: { type: 'Exact', value: '/api' } }], backendRefs: [{ name: 'web', port: 80, weight: 7 }] },
      ],
    },
  };
}

describe('gateway-api router (route as written; a stand-in reports for the Gateway)', () => {
  const env = useTestEnv('gwapi');
  let canaryd: CanarydProcess;
  let custom: k8s.CustomObjectsApi;
  let routeBefore: ReturnType<typeof userView>;
  let gateway: { stop(): Promise<void>; reject?: { reason: string; message: string } };

  const policy = () => readPolicy(env.kc, env.namespace, 'web');
  const readRoute = async () =>
    (await custom.getNamespacedCustomObject({ ...ROUTE, namespace: env.namespace, name: 'web' })) as Route;
  const readService = (name: string) =>
    env.core.readNamespacedService({ name, namespace: env.namespace }).catch((error: unknown) => {
      if (statusOf(error) === 404) return null;
      throw error;
    });
  const setTemplate = (image: string) =>
    env.apps.patchNamespacedDeployment(
      {
        name: 'web',
        namespace: env.namespace,
        body: { spec: { template: { spec: { containers: [{ name: 'app', image }] } } } },
      },
      strategicMerge,
    );
  const waitForStatus = (description: string, test: (status: PolicyStatusView) => boolean, timeoutMs = 60_000) =>
    waitFor(
      async () => {
        const status = (await policy())?.status;
        return status !== undefined && test(status) ? status : undefined;
      },
      { timeoutMs, description },
    );

  /** Plays the Gateway controller: reports on every new generation of the route. */
  function gatewayStandIn() {
    let stopped = false;
    const state: { stop(): Promise<void>; reject?: { reason: string; message: string } } = {
      stop: async () => {
        stopped = true;
        await loop;
      },
    };
    const report = async () => {
      const route = await readRoute().catch(() => null);
      if (route === null) return;
      const generation = route.metadata.generation ?? 0;
      const resolved = state.reject
        ? { status: 'False', reason: state.reject.reason, message: state.reject.message }
        : { status: 'True', reason: 'ResolvedRefs', message: '' };
      const parents = [
        {
          parentRef: { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'public', namespace: env.namespace },
          controllerName: 'e2e.canaryd.dev/gateway-stand-in',
          conditions: [
            { type: 'Accepted', status: 'True', reason: 'Accepted', message: '', observedGeneration: generation },
            { type: 'ResolvedRefs', ...resolved, observedGeneration: generation },
          ].map((c) => ({ ...c, lastTransitionTime: new Date().toISOString() })),
        },
      ];
      type Parent = { conditions?: Array<{ type: string; status: string; observedGeneration?: number }> };
      const reported = (route.status as { parents?: Parent[] } | undefined)?.parents?.[0]?.conditions?.find(
        (c) => c.type === 'ResolvedRefs',
      );
      const sameVerdict = reported?.observedGeneration === generation && reported.status === resolved.status;
      if (sameVerdict) return;
      await custom
        .replaceNamespacedCustomObjectStatus({
          ...ROUTE,
          namespace: env.namespace,
          name: 'web',
          body: { ...route, status: { parents } },
        })
        .catch(() => {
          // A write in between (canaryd's): the next pass reports on the new generation.
        });
    };
    const loop = (async () => {
      while (!stopped) {
        await report();
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();
    return state;
  }

  async function expectRouteAt(step: { stable: number; canary: number; apiStable: number; apiCanary: number }) {
    const route = await readRoute();
    const [root, assets, api, ...testers] = route.spec.rules;
    const before = routeBefore.spec as Route['spec'];
    const ref = (name: string, weight: number) => ({ group: '', kind: 'Service', name, port: 80, weight });
    expect(root).toEqual({
      ...before.rules[0],
      backendRefs: [ref('web', step.stable), ref('web-canary', step.canary)],
    });
    expect(assets).toEqual(before.rules[1]);
    expect(api).toEqual({
      ...before.rules[2],
      backendRefs: [ref('web', step.apiStable), ref('web-canary', step.apiCanary)],
    });
    // Testers, on every step: for each rule that sends to web, its match plus the header, to the
    // canary only, with the rule's filters.
    const header = { type: 'Exact', name: 'X-Canary', value: 'always' };
    expect(testers).toHaveLength(2);
    expect(testers[0]).toMatchObject({
      matches: [{ path: { type: 'PathPrefix', value: '/' }, headers: [header] }],
      filters: before.rules[0]!.filters,
      backendRefs: [ref('web-canary', 1)],
    });
    expect(testers[1]).toMatchObject({
      matches: [{ path: { type: 'Exact', value: '/api' }, headers: [header] }],
      backendRefs: [ref('web-canary', 1)],
    });
    const { rules: _rules, ...restOfSpec } = route.spec as Record<string, unknown>;
    const { rules: _before, ...restBefore } = before as unknown as Record<string, unknown>;
    expect(restOfSpec).toEqual(restBefore);
    expect(route.metadata.labels).toEqual(routeBefore.labels);
    const { 'canaryd.dev/httproute': record, ...annotations } = route.metadata.annotations ?? {};
    expect(annotations).toEqual(routeBefore.annotations);
    expect(JSON.parse(record ?? '{}')).toMatchObject({
      policy: `${env.namespace}/web`,
      policyUid: (await policy())?.metadata.uid,
      service: 'web',
    });
    // Written by server-side apply as canaryd, owning the rules and its annotation only.
    const applied = route.metadata.managedFields?.find((f) => f.manager === 'canaryd' && f.operation === 'Apply');
    expect(Object.keys((applied?.fieldsV1 as { 'f:spec'?: object })?.['f:spec'] ?? {})).toEqual(['f:rules']);
  }

  beforeAll(async () => {
    const { kc, apps, core, namespace } = env;
    custom = kc.makeApiClient(k8s.CustomObjectsApi);
    await installCrd(kc);
    // The Gateway API CRDs come with the cluster (the local one installs the standard channel
    // Traefik implements; see README "The local cluster").
    await kc
      .makeApiClient(k8s.ApiextensionsV1Api)
      .readCustomResourceDefinition({ name: 'httproutes.gateway.networking.k8s.io' });
    await waitFor(
      async () => {
        await custom.listNamespacedCustomObject({ ...ROUTE, namespace, limit: 1 });
        return true;
      },
      { timeoutMs: 30_000, description: 'httproutes served' },
    );
    await apps.createNamespacedDeployment({
      namespace,
      body: demoDeployment(namespace, { name: 'web', replicas: 3, version: 'v1' }),
    });
    await core.createNamespacedService({ namespace, body: demoService(namespace, 'web') });
    await custom.createNamespacedCustomObject({ ...ROUTE, namespace, body: userRoute(namespace) });
    await waitFor(
      async () => (await apps.readNamespacedDeployment({ name: 'web', namespace })).status?.availableReplicas === 3,
      { timeoutMs: 60_000, description: 'web v1 Available' },
    );
    gateway = gatewayStandIn();
    await waitFor(async () => ((await readRoute()).status as { parents?: unknown[] })?.parents?.length === 1, {
      timeoutMs: 10_000,
      description: 'the stand-in reported on the route',
    });
    routeBefore = userView(await readRoute());
    canaryd = startCanaryd(env.kubeconfig, ['--namespace', namespace, '--log-level', 'debug']);
    await createPolicy(kc, namespace, {
      apiVersion: 'canaryd.dev/v1alpha1',
      kind: 'CanaryPolicy',
      metadata: { name: 'web', namespace },
      spec: {
        target: { deployment: 'web', service: 'web', router: 'auto' },
        routing: { header: { name: 'X-Canary' }, testersFirst: '2s' },
        strategy: {
          steps: [
            { weight: 0.1, hold: '1s', pause: true },
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
      { timeoutMs: 90_000, description: 'policy adopted the Deployment (paused, phase idle)' },
    );
  });
  afterAll(async () => {
    await canaryd?.stop();
    await gateway?.stop();
  });

  it('auto picks gateway-api and says why', async () => {
    const status = (await policy())?.status as PolicyStatusView & { routerReason?: string };
    expect(status.router).toBe('gateway-api');
    expect(status.routerReason).toBe('auto: HTTPRoute web send(s) to Service web');
  });

  it('testers, then 0.1 %, 5 % and 50 % as backendRef weights; promotion leaves the route as found', async () => {
    await setTemplate('canaryd-demo:v2');
    const steps = [
      { index: 1, weight: 0.1, stable: 999, canary: 1, apiStable: 999, apiCanary: 1 },
      { index: 2, weight: 5, stable: 95, canary: 5, apiStable: 95, apiCanary: 5 },
      { index: 3, weight: 50, stable: 50, canary: 50, apiStable: 50, apiCanary: 50 },
    ];
    for (const step of steps) {
      await waitForStatus(
        `step ${step.index + 1} (${step.weight} %) paused at its start`,
        (s) => s.phase === 'paused' && s.release?.current?.stepIndex === step.index && s.weight === step.weight,
      );
      await expectRouteAt(step);
      await operate(env.kc, env.namespace, 'web', 'resume');
    }
    await waitForStatus('the release to be promoted (phase succeeded)', (s) => s.phase === 'succeeded', 120_000);
    await waitFor(async () => (await readService('web-canary')) === null, {
      timeoutMs: 30_000,
      description: 'canary Service removed',
    });
    expect(userView(await readRoute())).toEqual(routeBefore);
    expect((await readService('web'))?.spec?.selector).toEqual({ app: 'web' });
  });

  it('puts a removed canary backendRef back with an Event; a refused route holds with the Gateway’s reason; abort restores', async () => {
    await setTemplate('canaryd-demo:v3');
    await waitForStatus(
      'step 2 (0.1 %) of v3 paused at its start',
      (s) => s.phase === 'paused' && s.release?.current?.stepIndex === 1 && s.weight === 0.1,
    );
    // Someone removes canaryd's backendRef from the first rule.
    const route = await readRoute();
    const rules = structuredClone(route.spec.rules);
    rules[0]!.backendRefs = rules[0]!.backendRefs!.filter((ref) => ref.name !== 'web-canary');
    await custom.patchNamespacedCustomObject(
      { ...ROUTE, namespace: env.namespace, name: 'web', body: { spec: { rules } } },
      mergePatch,
    );
    const event = await waitFor(
      async () => {
        const events = await env.core.listNamespacedEvent({ namespace: env.namespace });
        return events.items.find(
          (e) => e.reason === 'DriftCorrected' && e.message?.includes('has no backendRef to web-canary'),
        );
      },
      { timeoutMs: 30_000, description: 'a DriftCorrected Event for the removed backendRef' },
    );
    expect(event.involvedObject.kind).toBe('CanaryPolicy');
    await waitFor(
      async () => JSON.stringify((await readRoute()).spec.rules[0]?.backendRefs?.map((r) => r.weight)) === '[999,1]',
      { timeoutMs: 30_000, description: 'canaryd put its backendRef back at 1 : 999' },
    );

    // The Gateway refuses the route: the release pauses with its reason and the weight stays.
    gateway.reject = { reason: 'BackendNotFound', message: 'service web-canary not found' };
    // The Gateway's verdict is on the route before the resume (else canaryd may write the next
    // weight first, and the refusal is then of that one).
    await waitFor(
      async () => {
        const route = await readRoute();
        type Parent = { conditions?: Array<{ type: string; status: string; observedGeneration?: number }> };
        const parents = (route.status as { parents?: Parent[] } | undefined)?.parents ?? [];
        const resolved = parents[0]?.conditions?.find((c) => c.type === 'ResolvedRefs');
        return resolved?.status === 'False' && resolved.observedGeneration === route.metadata.generation;
      },
      { timeoutMs: 30_000, description: 'the Gateway refusing the route' },
    );
    await operate(env.kc, env.namespace, 'web', 'resume');
    const paused = await waitForStatus('paused for the refused route', (s) =>
      (s.message ?? '').includes('ResolvedRefs is False (BackendNotFound: service web-canary not found)'),
    );
    expect(paused.phase).toBe('paused');
    expect(JSON.stringify((await readRoute()).spec.rules[0]?.backendRefs?.map((r) => r.weight))).toBe('[999,1]');
    gateway.reject = undefined;

    await operate(env.kc, env.namespace, 'web', 'abort');
    await waitForStatus('the release rolled back (phase failed)', (s) => s.phase === 'failed', 90_000);
    await waitFor(async () => (await readService('web-canary')) === null, {
      timeoutMs: 30_000,
      description: 'canary Service removed',
    });
    expect(userView(await readRoute())).toEqual(routeBefore);
  });

  // After the abort above: no release is in flight, so canaryd chooses the router again.
  it('auto refuses a Service reached by both an Ingress and an HTTPRoute, naming both', async () => {
    const networking = env.kc.makeApiClient(k8s.NetworkingV1Api);
    await networking.createNamespacedIngress({
      namespace: env.namespace,
      body: {
        metadata: { name: 'web-ingress' },
        spec: {
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
    // Any change to the policy makes canaryd look again.
    await custom.patchNamespacedCustomObject(
      {
        group: 'canaryd.dev',
        version: 'v1alpha1',
        plural: 'canarypolicies',
        namespace: env.namespace,
        name: 'web',
        body: { metadata: { labels: { touched: 'yes' } } },
      },
      mergePatch,
    );
    const status = (await waitForStatus('the router refused', (s) =>
      ((s as { routerReason?: string }).routerReason ?? '').startsWith('refused:'),
    )) as PolicyStatusView & { routerReason?: string };
    expect(status.routerReason).toContain('auto: both Ingress web-ingress and HTTPRoute web route to Service web');
    expect(status.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'RouterRefused',
    });
  });
});
