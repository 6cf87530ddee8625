// A gateway-api release proven on traffic: every request below crosses the local cluster's
// Gateway (Traefik's kubernetesGateway provider serving Gateway canaryd-gateway/canaryd) and is
// answered by a demo pod on its pod IP. The route's status is Traefik's own (no stand-in).
// - At each step (0.1 %, 1 %, 5 %, 50 %) the share measured through the Gateway is inside the 95 %
//   binomial interval of the weight canaryd wrote, once Traefik's API carries that weight.
// - Testers: the header and the cookie's "always" reach the canary every time.
// - A route Traefik refuses (a rule naming a Service that does not exist) pauses the release with
//   Traefik's reason and gives the canary no more weight; fixed, the release goes on.
// - Promotion, abort and an automatic rollback (judged on Traefik's Gateway metrics) fail no
//   request, and leave the HTTPRoute as the user wrote it.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type ProxyLoadReport, sendThroughProxy } from './cluster/proxy-load.ts';
import { GATEWAY, GATEWAY_CONTROLLER } from './cluster/traefik.ts';
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
import { GROUP, PLURAL, VERSION } from './support/crd.ts';
import { demoDeployment, demoService, useTestEnv } from './support/env.ts';
import { binomialInterval, operate, userView } from './support/routers.ts';
import {
  pct,
  type StreamReport,
  setVersion,
  streamThroughProxy,
  waitForTraefikWeight,
  Z_95,
} from './support/traffic.ts';

const ROUTE = { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes' };
const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
const jsonPatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch);

interface RouteCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  observedGeneration?: number;
}
interface Route {
  metadata: k8s.V1ObjectMeta;
  spec: { rules: Array<Record<string, unknown>> };
  status?: { parents?: Array<{ controllerName?: string; conditions?: RouteCondition[] }> };
}

describe('a gateway-api release measured through Traefik’s Gateway', () => {
  const env = useTestEnv('gwtraffic');
  const cluster = inject('cluster');
  const proxyUrl = cluster.proxyUrl ?? '';
  let canaryd: CanarydProcess;
  let custom: k8s.CustomObjectsApi;
  let routeAsWritten: ReturnType<typeof userView>;
  const host = () => `web.${env.namespace}.test`;

  const policy = () => readPolicy(env.kc, env.namespace, 'web');
  const readRoute = async () =>
    (await custom.getNamespacedCustomObject({ ...ROUTE, namespace: env.namespace, name: 'web' })) as Route;
  const waitForStatus = (description: string, test: (status: PolicyStatusView) => boolean, timeoutMs = 90_000) =>
    waitFor(
      async () => {
        const status = (await policy())?.status;
        return status !== undefined && test(status) ? status : undefined;
      },
      { timeoutMs, intervalMs: 200, description },
    );
  const through = (
    requests: number,
    extra: { headers?: Record<string, string>; cookies?: Record<string, string> } = {},
  ) => sendThroughProxy({ proxyUrl, host: host(), requests, concurrency: 8, maxDurationMs: 120_000, ...extra });
  const release = (version: string, errorRate = 0) => setVersion(env.apps, env.namespace, 'web', version, errorRate);
  const setSpec = (spec: object) =>
    custom.patchNamespacedCustomObject(
      { group: GROUP, version: VERSION, namespace: env.namespace, plural: PLURAL, name: 'web', body: { spec } },
      mergePatch,
    );
  const lastRevision = async () =>
    Math.max(0, ...((await policy())?.status?.release?.history ?? []).map((h) => h.revision));
  const nextReleaseEnds = (after: number, timeoutMs: number) =>
    waitForStatus(
      `the release after revision ${after} to end`,
      (status) =>
        (status.phase === 'succeeded' || status.phase === 'failed') &&
        (status.release?.history ?? []).some((h) => h.revision > after),
      timeoutMs,
    );
  const stream = (maxDurationMs: number) => streamThroughProxy({ proxyUrl, host: host(), maxDurationMs });
  const expectNoFailedSwitch = (seen: StreamReport, what: string) => {
    expect(seen.sent, `${what}: the stream sent requests`).toBeGreaterThan(100);
    expect(seen.proxyAnswers, `${what}: answers from the proxy itself`).toEqual([]);
    expect(seen.failedAt, `${what}: requests without an answer`).toEqual([]);
  };
  /** Traefik's own verdict on the route's current generation (status.parents, its controller). */
  const traefikVerdict = async () => {
    const route = await readRoute();
    const parent = route.status?.parents?.find((p) => p.controllerName === GATEWAY_CONTROLLER);
    const current = (type: string) =>
      parent?.conditions?.find((c) => c.type === type && c.observedGeneration === route.metadata.generation);
    return { accepted: current('Accepted'), resolvedRefs: current('ResolvedRefs') };
  };
  const traefikAccepts = () =>
    waitFor(
      async () => {
        const { accepted, resolvedRefs } = await traefikVerdict();
        return accepted?.status === 'True' && resolvedRefs?.status === 'True';
      },
      { timeoutMs: 30_000, intervalMs: 200, description: 'Traefik reporting Accepted and ResolvedRefs on the route' },
    );
  /** The Gateway carries `weight` % by Traefik's own API, and Traefik accepted the route as written. */
  const dataPlaneCarries = async (weight: number) => {
    await waitForTraefikWeight(cluster.traefikApiUrl ?? '', env.namespace, weight, 30_000);
    await traefikAccepts();
  };
  const canaryRemoved = () =>
    waitFor(
      async () =>
        (await env.apps
          .readNamespacedDeployment({ name: 'web-canary', namespace: env.namespace })
          .catch(() => null)) === null,
      { timeoutMs: 60_000, description: 'the canary Deployment removed after the drain delay' },
    );
  /** The route is the user's again: canaryd's backendRefs, tester rules and record are gone. */
  const routeRestored = () =>
    waitFor(async () => JSON.stringify(userView(await readRoute())) === JSON.stringify(routeAsWritten), {
      timeoutMs: 30_000,
      description: 'the HTTPRoute restored as the user wrote it',
    });
  const expectShare = (report: ProxyLoadReport, weight: number, canaryVersion: string) => {
    const canary = report.byVersion[canaryVersion] ?? 0;
    const { low, high } = binomialInterval(weight / 100, report.sent, Z_95);
    const why = `weight ${weight} %: measured ${canary}/${report.sent} = ${pct(canary, report.sent)} on ${canaryVersion}; 95 % interval [${(low * 100).toFixed(3)}, ${(high * 100).toFixed(3)}] %`;
    expect(report.bySource.proxy, `${why}; proxy answers ${JSON.stringify(report.proxyCodes)}`).toBe(0);
    expect(report.failures, why).toBe(0);
    expect(canary / report.sent >= low && canary / report.sent <= high, why).toBe(true);
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
        metadata: { name: 'web', namespace, labels: { team: 'shop' } },
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
    await waitFor(async () => (await through(5)).bySource.app === 5, {
      timeoutMs: 60_000,
      intervalMs: 250,
      description: `web v1 answering ${host()} through the Gateway`,
    });
    routeAsWritten = userView(await readRoute());
    canaryd = startCanaryd(env.kubeconfig, ['--namespace', namespace, '--resync', '1s']);
    await createPolicy(kc, namespace, {
      apiVersion: 'canaryd.dev/v1alpha1',
      kind: 'CanaryPolicy',
      metadata: { name: 'web', namespace },
      spec: {
        target: { deployment: 'web', service: 'web', router: 'gateway-api' },
        routing: { header: { name: 'X-Canary', value: 'yes' }, cookie: 'canary' },
        strategy: {
          steps: [
            { weight: 0.1, hold: '1s', pause: true },
            { weight: 1, hold: '1s', pause: true },
            { weight: 5, hold: '1s', pause: true },
            { weight: 50, hold: '1s', pause: true },
          ],
        },
        timeouts: { canaryReady: '60s', promotion: '90s' },
      },
    });
    await waitForStatus('policy adopted web', adopted);
  });

  afterAll(async () => {
    await canaryd?.stop();
  });

  it('carries each step’s weight through the Gateway, routes testers, and promotes without failing a request', async () => {
    const steady = stream(10 * 60_000);
    try {
      await release('v2');
      for (const [index, weight] of [0.1, 1, 5, 50].entries()) {
        if (index > 0) await operate(env.kc, env.namespace, 'web', 'promote');
        await waitForStatus(
          `step ${index + 1} at ${weight} %, paused for a person`,
          (status) => status.phase === 'paused' && status.weight === weight,
        );
        // 0.1 % is backendRef weights 1 : 999: over 20,000 requests about 20 reach the canary.
        const requests = weight < 1 ? 20_000 : 4000;
        await dataPlaneCarries(weight);
        expectShare(await through(requests), weight, 'v2');
      }
      // Testers, at 50 %: the header (an added rule's header match) and the cookie's "always"
      // (a Cookie header regex: Gateway API has no cookie match) reach the canary every time.
      expect((await through(200, { headers: { 'X-Canary': 'yes' } })).byVersion).toEqual({ v2: 200 });
      expect((await through(200, { cookies: { canary: 'always' } })).byVersion).toEqual({ v2: 200 });

      await operate(env.kc, env.namespace, 'web', 'promote');
      await waitForStatus('v2 promoted', (status) => status.phase === 'succeeded', 120_000);
      await canaryRemoved();
      await routeRestored();
      expect((await through(1000)).byVersion).toEqual({ v2: 1000 });
      // The tester rules went with the release: the header now reaches the stable pods.
      expect((await through(100, { headers: { 'X-Canary': 'yes' } })).byVersion).toEqual({ v2: 100 });
    } finally {
      expectNoFailedSwitch(await steady.stop(), 'release of v2 and its promotion');
    }
  }, 300_000);

  it('pauses on a route Traefik refuses, with Traefik’s reason, and goes on once it accepts it', async () => {
    await setSpec({
      strategy: {
        steps: [
          { weight: 5, hold: '15s' },
          { weight: 50, hold: '1s', pause: true },
        ],
      },
    });
    const steady = stream(5 * 60_000);
    try {
      await release('v3');
      await waitForStatus('v3 at 5 %', (status) => status.phase === 'progressing' && status.weight === 5);
      await dataPlaneCarries(5);
      // Someone adds a rule to a Service that does not exist: Traefik refuses the route's refs.
      const ghost = {
        matches: [{ path: { type: 'PathPrefix', value: '/ghost' } }],
        backendRefs: [{ name: 'ghost', port: 80 }],
      };
      await custom.patchNamespacedCustomObject(
        {
          ...ROUTE,
          namespace: env.namespace,
          name: 'web',
          body: [{ op: 'add', path: '/spec/rules/-', value: ghost }],
        },
        jsonPatch,
      );
      const paused = await waitForStatus('paused for the refused route', (status) =>
        (status.message ?? '').includes('ResolvedRefs is False (BackendNotFound'),
      );
      expect(paused.phase, paused.message).toBe('paused');
      expect(paused.message).toContain(`Gateway ${GATEWAY.namespace}/${GATEWAY.name}`);
      expect(paused.message).toContain('service "ghost" not found');
      // The canary keeps the weight it had: canaryd writes no more while the route is refused.
      expect((await readRoute()).spec.rules.some((rule) => JSON.stringify(rule).includes('"weight":5'))).toBe(true);
      await waitForTraefikWeight(cluster.traefikApiUrl ?? '', env.namespace, 5, 30_000);
      // The rule is removed again: Traefik accepts the route and the release goes on. canaryd
      // keeps its tester rules last, so it may move the user's rule meanwhile: the removal names
      // the index it read and tests it still holds the ghost rule (JSON patch `test`), like
      // `kubectl edit` with its resourceVersion.
      await waitFor(
        async () => {
          const ghostAt = (await readRoute()).spec.rules.findIndex((rule) => JSON.stringify(rule).includes('"ghost"'));
          if (ghostAt < 0) return true;
          const removed = await custom
            .patchNamespacedCustomObject(
              {
                ...ROUTE,
                namespace: env.namespace,
                name: 'web',
                body: [
                  { op: 'test', path: `/spec/rules/${ghostAt}/backendRefs/0/name`, value: 'ghost' },
                  { op: 'remove', path: `/spec/rules/${ghostAt}` },
                ],
              },
              jsonPatch,
            )
            .then(
              () => true,
              () => false, // the rules moved between the read and the patch: read again
            );
          return removed;
        },
        { timeoutMs: 30_000, intervalMs: 200, description: 'the ghost rule removed from the route' },
      );
      await waitForStatus('v3 at 50 % once the route is accepted', (status) => status.weight === 50, 120_000);
      await dataPlaneCarries(50);
      expectShare(await through(2000), 50, 'v3');
      await operate(env.kc, env.namespace, 'web', 'abort');
      await waitForStatus('v3 aborted', (status) => status.phase === 'failed' || status.phase === 'cancelled');
      await canaryRemoved();
      await routeRestored();
      expect((await through(1000)).byVersion).toEqual({ v2: 1000 });
    } finally {
      expectNoFailedSwitch(await steady.stop(), 'refusal, then abort of v3');
    }
  });

  it('rolls back a canary failing 20 % of its requests, judged on Traefik’s Gateway metrics, without a failed switch', async () => {
    await setSpec({
      strategy: { steps: [{ weight: 50, hold: '60s' }], allowLargeFirstStep: true },
      analysis: {
        prometheus: { address: cluster.prometheusUrl },
        metrics: 'traefik',
        interval: '2s',
        window: '10s',
        failureLimit: 0,
        checks: [{ name: 'success-rate', type: 'successRate', min: 95, minSample: 20 }],
      },
    });
    const steady = stream(5 * 60_000);
    let seen: StreamReport | undefined;
    try {
      const before = await lastRevision();
      await release('v4', 0.2);
      const rolledBack = await nextReleaseEnds(before, 120_000);
      expect(rolledBack.phase, rolledBack.message).toBe('failed');
      expect(rolledBack.release?.history.at(-1)?.reason).toMatch(/success-rate/);
      await canaryRemoved();
      await routeRestored();
      expect((await through(1000)).byVersion).toEqual({ v2: 1000 });
    } finally {
      seen = await steady.stop();
    }
    expectNoFailedSwitch(seen, 'rollback of v4');
    expect(seen.byVersion.v4 ?? 0).toBeGreaterThan(0);
    expect(seen.byCode['500'] ?? 0).toBeGreaterThan(0);
  });
});
