// An ingress-nginx release proven on traffic: every request below crosses the local data plane
// (Traefik serving the nginx canary annotations) and is answered by a demo pod on its pod IP.
// - At each step (0.1 %, 1 %, 5 %, 50 %) the share measured through the proxy is inside the 95 %
//   binomial interval of the weight canaryd wrote (0.1 % over 20,000 requests).
// - Testers: a header value and the cookie's "always" reach the canary every time, "never" never.
// - Promotion, abort and an automatic rollback (judged on Traefik's own metrics) fail no request:
//   a steady stream through the proxy sees no answer from the proxy itself and no reset.
// - A healthy canary judged on the same metrics, started while the window still holds the
//   rolled-back canary's errors (Traefik reuses the backend's name), is promoted.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type ProxyLoadReport, sendThroughProxy } from './cluster/proxy-load.ts';
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
import { demoDeployment, demoService, promQuery, useTestEnv } from './support/env.ts';
import { binomialInterval, operate } from './support/routers.ts';
import {
  pct,
  type StreamReport,
  setVersion,
  streamThroughProxy,
  waitForTraefikWeight,
  Z_95,
} from './support/traffic.ts';

interface Measured {
  at: string;
  from?: string;
  verdict: string;
  reason: string;
}

const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

describe('an ingress-nginx release measured through the proxy', () => {
  const env = useTestEnv('traffic');
  const cluster = inject('cluster');
  const proxyUrl = cluster.proxyUrl ?? '';
  let canaryd: CanarydProcess;
  const host = () => `web.${env.namespace}.test`;

  const policy = () => readPolicy(env.kc, env.namespace, 'web');
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
    env.kc
      .makeApiClient(k8s.CustomObjectsApi)
      .patchNamespacedCustomObject(
        { group: GROUP, version: VERSION, namespace: env.namespace, plural: PLURAL, name: 'web', body: { spec } },
        mergePatch,
      );
  /** The newest revision in the release history, and a wait for the release after it to end. */
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
  /** No request of the stream failed because of a switch: no proxy answer, no reset. */
  const expectNoFailedSwitch = (seen: StreamReport, what: string) => {
    expect(seen.sent, `${what}: the stream sent requests`).toBeGreaterThan(100);
    expect(seen.proxyAnswers, `${what}: answers from the proxy itself`).toEqual([]);
    expect(seen.failedAt, `${what}: requests without an answer`).toEqual([]);
  };
  /**
   * Traefik applies a new weight moments after canaryd writes it (it first sees the Ingress,
   * then the canary's endpoints): wait until its own API says it carries exactly `weight`.
   */
  const dataPlaneCarries = (weight: number) =>
    waitForTraefikWeight(cluster.traefikApiUrl ?? '', env.namespace, weight, 30_000);
  /** The canary objects go after the drain delay (spec.traffic.drainDelay). */
  const canaryRemoved = () =>
    waitFor(
      async () =>
        (await env.apps
          .readNamespacedDeployment({ name: 'web-canary', namespace: env.namespace })
          .catch(() => null)) === null,
      { timeoutMs: 60_000, description: 'the canary Deployment removed after the drain delay' },
    );
  /** The measured canary share of `requests` is inside the 95 % interval of `weight` percent. */
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
    await installCrd(kc);
    await apps.createNamespacedDeployment({
      namespace,
      body: demoDeployment(namespace, { name: 'web', replicas: 3, version: 'v1' }),
    });
    await core.createNamespacedService({ namespace, body: demoService(namespace, 'web') });
    await kc.makeApiClient(k8s.NetworkingV1Api).createNamespacedIngress({
      namespace,
      body: {
        metadata: { name: 'web', namespace },
        spec: {
          ingressClassName: 'nginx',
          rules: [
            {
              host: host(),
              http: {
                paths: [
                  { path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { name: 'http' } } } },
                ],
              },
            },
          ],
        },
      },
    });
    await waitFor(async () => (await through(5)).bySource.app === 5, {
      timeoutMs: 60_000,
      intervalMs: 250,
      description: `web v1 answering ${host()} through the proxy`,
    });
    canaryd = startCanaryd(env.kubeconfig, ['--namespace', namespace, '--resync', '1s']);
    await createPolicy(kc, namespace, {
      apiVersion: 'canaryd.dev/v1alpha1',
      kind: 'CanaryPolicy',
      metadata: { name: 'web', namespace },
      spec: {
        target: { deployment: 'web', service: 'web', router: 'ingress-nginx' },
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

  it('carries each step’s weight, routes testers, and promotes without failing a request', async () => {
    const steady = stream(10 * 60_000);
    try {
      await release('v2');
      for (const [index, weight] of [0.1, 1, 5, 50].entries()) {
        if (index > 0) await operate(env.kc, env.namespace, 'web', 'promote');
        await waitForStatus(
          `step ${index + 1} at ${weight} %, paused for a person`,
          (status) => status.phase === 'paused' && status.weight === weight,
        );
        const requests = weight < 1 ? 20_000 : 4000;
        await dataPlaneCarries(weight);
        expectShare(await through(requests), weight, 'v2');
      }
      // Testers, at 50 %: the header value and the cookie's "always" always reach the canary,
      // "never" never does, whatever the weight.
      expect((await through(200, { headers: { 'X-Canary': 'yes' } })).byVersion).toEqual({ v2: 200 });
      expect((await through(200, { cookies: { canary: 'always' } })).byVersion).toEqual({ v2: 200 });
      expect((await through(200, { cookies: { canary: 'never' } })).byVersion).toEqual({ v1: 200 });

      await operate(env.kc, env.namespace, 'web', 'promote');
      await waitForStatus('v2 promoted', (status) => status.phase === 'succeeded', 120_000);
      // The canary objects go after the drain delay; the stable pods then answer alone.
      await canaryRemoved();
      expect((await through(1000)).byVersion).toEqual({ v2: 1000 });
    } finally {
      expectNoFailedSwitch(await steady.stop(), 'release of v2 and its promotion');
    }
  });

  it('aborts a release without failing a request', async () => {
    await setSpec({ strategy: { steps: [{ weight: 50, hold: '1s', pause: true }], allowLargeFirstStep: true } });
    const steady = stream(5 * 60_000);
    try {
      await release('v3');
      await waitForStatus('v3 at 50 %', (status) => status.phase === 'paused' && status.weight === 50);
      await dataPlaneCarries(50);
      expectShare(await through(2000), 50, 'v3');
      await operate(env.kc, env.namespace, 'web', 'abort');
      await waitForStatus('v3 aborted', (status) => status.phase === 'failed' || status.phase === 'cancelled');
      await canaryRemoved();
      expect((await through(1000)).byVersion).toEqual({ v2: 1000 });
    } finally {
      expectNoFailedSwitch(await steady.stop(), 'abort of v3');
    }
  });

  const traefikAnalysis = {
    prometheus: { address: cluster.prometheusUrl },
    metrics: 'traefik',
    interval: '2s',
    window: '60s',
    failureLimit: 0,
    checks: [{ name: 'success-rate', type: 'successRate', min: 95, minSample: 20 }],
  };

  it('rolls back a canary failing 20 % of its requests, judged on Traefik’s metrics, without a failed switch', async () => {
    await setSpec({
      strategy: { steps: [{ weight: 50, hold: '60s' }], allowLargeFirstStep: true },
      analysis: traefikAnalysis,
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
      expect((await through(1000)).byVersion).toEqual({ v2: 1000 });
    } finally {
      seen = await steady.stop();
    }
    expectNoFailedSwitch(seen, 'rollback of v4');
    // The canary's own errors (the demo app's 500s) reached users, and only while it ran.
    expect(seen.byVersion.v4 ?? 0).toBeGreaterThan(0);
    expect(seen.byCode['500'] ?? 0).toBeGreaterThan(0);
  });

  it('promotes a healthy canary started right after the rollback, judged on its own requests only', async () => {
    await setSpec({
      strategy: { steps: [{ weight: 50, hold: '12s' }], allowLargeFirstStep: true },
      analysis: traefikAnalysis,
    });
    // Traefik names the canary backend the same for every release: the 60 s window still holds
    // v4's errors when v5 starts. canaryd counts from v5's start (docs/analysis.md), so they
    // must not count against it.
    const v4Errors = await promQuery(
      cluster.prometheusUrl,
      `sum(increase(traefik_service_requests_total{service=~"${env.namespace}-web-.+-canary@kubernetesingressnginx",code=~"5.."}[60s]))`,
    );
    expect(v4Errors[0]?.value ?? 0, "v4's errors inside the analysis window when v5 starts").toBeGreaterThan(0);
    const steady = stream(5 * 60_000);
    try {
      const before = await lastRevision();
      await release('v5');
      const done = await nextReleaseEnds(before, 180_000);
      expect(done.phase, done.message).toBe('succeeded');
      const v5 = done.release?.history.find((h) => h.revision > before);
      expect(v5?.outcome, v5?.reason).toBe('succeeded');
      // Every round of v5 counted from v5's own start, never from inside v4's rollback.
      const measurements = ((await policy())?.status as { analysis?: { measurements?: Measured[] } } | undefined)
        ?.analysis?.measurements;
      expect(measurements?.length ?? 0, 'analysis rounds of v5').toBeGreaterThan(0);
      for (const m of measurements ?? []) {
        expect(m.verdict, `round at ${m.at}: ${m.reason}`).not.toBe('fail');
        expect(Date.parse(m.from ?? ''), `round at ${m.at} counted from ${m.from}`).toBeGreaterThanOrEqual(
          Date.parse(v5?.startedAt ?? ''),
        );
      }
      await waitFor(async () => ((await through(200)).byVersion.v5 ?? 0) === 200, {
        timeoutMs: 60_000,
        description: 'every request answered by v5',
      });
    } finally {
      expectNoFailedSwitch(await steady.stop(), 'release and promotion of v5');
    }
  });
});
