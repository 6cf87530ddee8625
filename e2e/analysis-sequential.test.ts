// Sequential analysis on real traffic: every request crosses the local data plane (Traefik
// serving the ingress-nginx annotations), Prometheus scrapes Traefik, canaryd counts canary and
// stable requests from Traefik's metrics and runs its anytime-valid test.
// - A canary failing 1 % of its requests (stable: none): the threshold check beside it
//   (successRate min 95 over the same 10 s window, with failureLimit 0 — one failed round would
//   roll back) passes every round; the sequential guard (delta 0) proves the regression from how
//   the errors split between the sides and rolls back. Status, history and the RollingBack Event
//   name the sequential check as the one that decided.
// - A healthy canary, with canaryd restarted mid-release while undecided: the evidence continues
//   from where it was (same start, counts only grow, the two-sample test's looks go on from the
//   stored state instead of starting over), and "no regression" proven with advanceOnEvidence
//   promotes it long before its 10-minute hold.
// - metric: latency, on Traefik's duration histogram (bucket le="0.25"), each release started on
//   a settled data plane: a canary that answers 300 ms later than stable (the demo app's
//   LATENCY_MS) is rolled back by the sequential latency check, on its first few requests; the
//   p99 threshold beside it (max 1 s, which this canary meets) never fails and is not what
//   decided. A canary as fast as stable is proven no slower (default delta: 1 point) and promoted
//   long before its 10-minute hold.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { sendThroughProxy } from './cluster/proxy-load.ts';
import { waitFor } from './cluster/wait.ts';
import { adopted, type CanarydProcess, createPolicy, installCrd, readPolicy, startCanaryd } from './support/canaryd.ts';
import { GROUP, PLURAL, VERSION } from './support/crd.ts';
import { demoDeployment, demoService, useTestEnv } from './support/env.ts';
import { setVersion, streamThroughProxy, traefikBackends } from './support/traffic.ts';

const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

interface Evidence {
  since: string;
  canary: { failed: number; total: number };
  stable: { failed: number; total: number };
  outcome: string;
  difference: { lower: number; upper: number };
  delta: number;
  ratio: { lower: number; upper: number | null };
  ratioTest?: { looks: number; logLikelihood: number[] };
}
interface Status {
  phase?: string;
  message?: string;
  release?: { history: Array<{ revision: number; outcome: string; reason: string }> };
  analysis?: {
    counters?: { rounds: number; sequential?: Record<string, Evidence> };
    measurements?: Array<{ check: string; verdict: string; reason: string; at: string }>;
  };
}

describe('sequential analysis on Traefik’s metrics', () => {
  const env = useTestEnv('sequential');
  const cluster = inject('cluster');
  const proxyUrl = cluster.proxyUrl ?? '';
  const host = () => `web.${env.namespace}.test`;
  let canaryd: CanarydProcess;

  const status = async () => ((await readPolicy(env.kc, env.namespace, 'web')) as { status?: Status } | null)?.status;
  const waitForStatus = (description: string, test: (s: Status) => boolean, timeoutMs = 120_000) =>
    waitFor(
      async () => {
        const s = await status();
        return s !== undefined && test(s) ? s : undefined;
      },
      { timeoutMs, intervalMs: 250, description },
    );
  const release = (version: string, errorRate: number, latencyMs = 0) =>
    setVersion(env.apps, env.namespace, 'web', version, errorRate, { LATENCY_MS: String(latencyMs) });
  const setSpec = (spec: object) =>
    env.kc
      .makeApiClient(k8s.CustomObjectsApi)
      .patchNamespacedCustomObject(
        { group: GROUP, version: VERSION, namespace: env.namespace, plural: PLURAL, name: 'web', body: { spec } },
        mergePatch,
      );
  const lastRevision = async () => Math.max(0, ...((await status())?.release?.history ?? []).map((h) => h.revision));
  const releaseAfter = (after: number) => (s: Status) =>
    (s.phase === 'succeeded' || s.phase === 'failed') && (s.release?.history ?? []).some((h) => h.revision > after);
  const analysis = (checks: object[]) => ({
    prometheus: { address: cluster.prometheusUrl },
    metrics: 'traefik',
    interval: '2s',
    window: '10s',
    failureLimit: 0,
    checks,
  });
  // minSample 100: with 20, two 500s among the canary's first 25 requests (1 % errors: 2.6 % of
  // runs; CI saw 3 of 25) failed the threshold check on its first round, the small-sample false
  // alarm of issue 17, before the comparison this test is about could be made.
  const threshold = { name: 'success-rate', type: 'successRate', min: 95, minSample: 100 };

  beforeAll(async () => {
    expect(proxyUrl, 'the cluster reports no proxy URL').not.toBe('');
    const { kc, apps, core, namespace } = env;
    await installCrd(kc);
    await apps.createNamespacedDeployment({
      namespace,
      body: demoDeployment(namespace, { name: 'web', replicas: 2, version: 'v1' }),
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
    await waitFor(
      async () =>
        (await sendThroughProxy({ proxyUrl, host: host(), requests: 5, concurrency: 1, maxDurationMs: 10_000 }))
          .bySource.app === 5,
      { timeoutMs: 60_000, intervalMs: 250, description: `web v1 answering ${host()} through the proxy` },
    );
    canaryd = startCanaryd(env.kubeconfig, ['--namespace', namespace]);
    await createPolicy(kc, namespace, {
      apiVersion: 'canaryd.dev/v1alpha1',
      kind: 'CanaryPolicy',
      metadata: { name: 'web', namespace },
      spec: {
        target: { deployment: 'web', service: 'web', router: 'ingress-nginx' },
        strategy: { steps: [{ weight: 50, hold: '10m' }], allowLargeFirstStep: true },
        timeouts: { canaryReady: '60s', promotion: '90s' },
      },
    });
    await waitForStatus('policy adopted web', adopted);
  });

  afterAll(async () => {
    await canaryd?.stop();
  });

  it('rolls back a 1 % error canary that the threshold check beside it passes', { timeout: 240_000 }, async () => {
    await setSpec({
      analysis: analysis([threshold, { name: 'errors', type: 'sequential', delta: 0, holdWhileUndecided: false }]),
    });
    const steady = streamThroughProxy({ proxyUrl, host: host(), maxDurationMs: 4 * 60_000 });
    try {
      const before = await lastRevision();
      await release('v2', 0.01);
      const done = await waitForStatus('the release of v2 to end', releaseAfter(before), 200_000);
      expect(done.phase, done.message).toBe('failed');
      const reason = done.release?.history.at(-1)?.reason ?? '';
      expect(reason).toContain('sequential check errors proved a regression');
      const evidence = done.analysis?.counters?.sequential?.errors;
      expect(evidence?.outcome).toBe('regression');
      expect(evidence?.canary.failed).toBeGreaterThan(0);
      // What decided (compare.ts): the anytime-valid range of canary − stable lies above δ (0 here).
      // The ratio's own interval is not asserted: it can still reach below 1 when the range is above δ.
      expect(evidence?.delta).toBe(0);
      expect(evidence?.difference.lower, reason).toBeGreaterThan(0);
      // The threshold check looked at the same canary every round and never failed it: it passed
      // the canary in the very round in which the sequential check proved the regression. (How
      // many rounds that takes is chance: CI once saw 8 of the canary's first 300 requests fail
      // and the proof come in the fourth round, after two threshold passes.)
      const measurements = done.analysis?.measurements ?? [];
      const thresholdRounds = measurements.filter((m) => m.check === 'success-rate');
      expect(thresholdRounds.filter((m) => m.verdict === 'fail')).toEqual([]);
      const proof = measurements.find((m) => m.check === 'errors' && m.verdict === 'fail');
      expect(proof, 'the round in which the sequential check failed the canary').toBeDefined();
      expect(thresholdRounds.find((m) => m.at === proof?.at)?.verdict).toBe('pass');
      // The Event an operator sees names the sequential check as the one that decided.
      const rollingBack = await waitFor(
        async () =>
          (await env.core.listNamespacedEvent({ namespace: env.namespace })).items.find(
            (e) => e.reason === 'RollingBack' && e.involvedObject.name === 'web' && /revision/.test(e.message ?? ''),
          ),
        { timeoutMs: 30_000, intervalMs: 250, description: 'a RollingBack Event on the policy' },
      );
      expect(rollingBack.message).toContain('sequential check errors proved a regression');
      expect(rollingBack.message).not.toContain('success-rate');
    } finally {
      const seen = await steady.stop();
      // The canary's own 500s reached users while it ran: the regression was real.
      expect(seen.byCode['500'] ?? 0).toBeGreaterThan(0);
    }
  });

  it('keeps the evidence across a controller restart and promotes a healthy canary on it, before the hold ends', {
    timeout: 240_000,
  }, async () => {
    await setSpec({
      analysis: analysis([{ name: 'errors', type: 'sequential', delta: 2, advanceOnEvidence: true }]),
    });
    const steady = streamThroughProxy({ proxyUrl, host: host(), maxDurationMs: 4 * 60_000 });
    try {
      const before = await lastRevision();
      const startedAt = Date.now();
      await release('v3', 0);
      // Some evidence, not yet enough: stop canaryd mid-release.
      const gathered = await waitForStatus('evidence on 100 canary requests or more, still undecided', (s) => {
        const e = s.analysis?.counters?.sequential?.errors;
        return e !== undefined && e.canary.total >= 100 && e.outcome === 'undecided' && s.phase === 'progressing';
      });
      const evidence = gathered.analysis!.counters!.sequential!.errors!;
      const rounds = gathered.analysis!.counters!.rounds;
      const looks = evidence.ratioTest?.looks ?? 0;
      expect(looks, 'the two-sample test has taken several looks').toBeGreaterThan(1);
      await canaryd.stop();
      canaryd = startCanaryd(env.kubeconfig, ['--namespace', env.namespace]);
      const resumed = await waitForStatus(
        'a round by the restarted canaryd',
        (s) => (s.analysis?.counters?.rounds ?? 0) > rounds,
      );
      const after = resumed.analysis!.counters!.sequential!.errors!;
      expect(after.since, 'the evidence keeps its start').toBe(evidence.since);
      expect(after.canary.total, 'canary requests counted before the restart still count').toBeGreaterThanOrEqual(
        evidence.canary.total,
      );
      expect(after.stable.total).toBeGreaterThanOrEqual(evidence.stable.total);
      // A fresh test would count its first look; the restarted one goes on from the stored state.
      expect(after.ratioTest?.looks, 'the two-sample test continues from its stored looks').toBeGreaterThan(looks);

      const done = await waitForStatus('the release of v3 to end', releaseAfter(before), 200_000);
      expect(done.phase, done.message).toBe('succeeded');
      expect(done.analysis?.counters?.sequential?.errors?.outcome).toBe('no-regression');
      // The step's hold is 10 minutes; the evidence ended it.
      expect(Date.now() - startedAt).toBeLessThan(5 * 60_000);
    } finally {
      await steady.stop();
    }
  });

  // Traefik's histogram has a bucket at 0.25 s (e2e/cluster/traefik.ts LATENCY_BUCKETS); the demo
  // app delays every answer of the canary by LATENCY_MS, so its requests land above that bound.
  const templateVersion = async () =>
    (
      await env.apps.readNamespacedDeployment({ name: 'web', namespace: env.namespace })
    ).spec?.template.spec?.containers[0]?.env?.find((e) => e.name === 'VERSION')?.value;
  // Right after a release ends, Traefik may still send a few requests to pods that are going away
  // (the previous canary's, or an old stable pod's, whose address the pod emulation hands to a new
  // pod at once). A release started then counts those answers too (docs/analysis.md, "Releases
  // back to back"). These scenarios start from a settled app, as most releases do.
  const readyStablePodIps = async () =>
    (
      await env.core.listNamespacedPod({ namespace: env.namespace, labelSelector: 'app=web,canaryd.dev/track!=canary' })
    ).items
      .filter(
        (p) =>
          p.metadata?.deletionTimestamp === undefined &&
          p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      )
      .map((p) => p.status?.podIP ?? '')
      .sort();
  const dataPlaneOnlyOnStable = () => {
    expect(cluster.traefikApiUrl, 'the cluster reports no Traefik API URL').toBeDefined();
    return waitFor(
      async () => {
        const backends = await traefikBackends(cluster.traefikApiUrl ?? '', env.namespace);
        const ips = await readyStablePodIps();
        return !backends.canary && ips.length === 2 && JSON.stringify(backends.ips) === JSON.stringify(ips);
      },
      { timeoutMs: 60_000, intervalMs: 250, description: 'Traefik sending only to the 2 ready stable pods of web' },
    );
  };
  const slow = { name: 'slow', type: 'sequential', metric: 'latency', slowerThan: 0.25 };

  it('rolls back a canary 300 ms slower than stable on the share of requests slower than 0.25 s', {
    timeout: 240_000,
  }, async () => {
    // The SLO threshold beside it (p99 under 1 s) holds for this canary: only the comparison with
    // stable shows the regression. It also waits for 20 requests in its window; the sequential
    // check needs no minimum sample.
    const p99 = { name: 'p99', type: 'latency', quantile: 0.99, max: 1, minSample: 20 };
    await setSpec({ analysis: analysis([p99, slow]) });
    const steady = streamThroughProxy({ proxyUrl, host: host(), maxDurationMs: 4 * 60_000 });
    try {
      const before = await lastRevision();
      const stableVersion = await templateVersion();
      await dataPlaneOnlyOnStable();
      await release('v4', 0, 300);
      const done = await waitForStatus('the release of v4 to end', releaseAfter(before), 200_000);
      expect(done.phase, done.message).toBe('failed');
      const reason = done.release?.history.at(-1)?.reason ?? '';
      expect(reason).toContain('sequential check slow proved a regression');
      expect(reason).toContain('slower than 0.25s');
      const evidence = done.analysis?.counters?.sequential?.slow;
      expect(evidence?.outcome, reason).toBe('regression');
      // Counted from Traefik's buckets: the canary's requests are slow, stable's are not.
      expect(evidence?.canary.total).toBeGreaterThan(0);
      expect(evidence!.canary.failed / evidence!.canary.total, reason).toBeGreaterThan(0.9);
      expect(evidence!.stable.total, reason).toBeGreaterThan(0);
      expect(evidence!.stable.failed / evidence!.stable.total, reason).toBeLessThan(0.05);
      // The verdict is on the difference range (compare.ts: canary rate, stable rate and ratio
      // sequences together), which lies above δ (1 point by default for latency); the ratio's own
      // interval can still reach below 1 then (stable's few slow requests keep it wide).
      expect(evidence!.delta).toBe(1);
      expect(evidence!.difference.lower, reason).toBeGreaterThan(1);
      // The threshold check never failed the canary: the sequential check decided.
      const p99Rounds = (done.analysis?.measurements ?? []).filter((m) => m.check === 'p99');
      expect(p99Rounds.filter((m) => m.verdict === 'fail')).toEqual([]);
      const rollingBack = await waitFor(
        async () =>
          (await env.core.listNamespacedEvent({ namespace: env.namespace })).items.find(
            (e) =>
              e.reason === 'RollingBack' &&
              e.involvedObject.name === 'web' &&
              /sequential check slow/.test(e.message ?? ''),
          ),
        { timeoutMs: 30_000, intervalMs: 250, description: 'a RollingBack Event naming the latency check' },
      );
      expect(rollingBack.message).not.toContain('p99');
      // The user's Deployment is back on the stable template.
      const restored = await waitFor(
        async () => {
          const version = await templateVersion();
          return version === stableVersion ? version : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 250, description: `web's template back on ${stableVersion}` },
      );
      expect(restored).toBe(stableVersion);
    } finally {
      const seen = await steady.stop();
      // The slow canary answered real requests through Traefik before it was rolled back.
      expect(seen.byVersion.v4 ?? 0).toBeGreaterThan(0);
    }
  });

  it('promotes a canary as fast as stable once the latency check proves it no slower, before the hold ends', {
    timeout: 240_000,
  }, async () => {
    await setSpec({ analysis: analysis([{ ...slow, advanceOnEvidence: true }]) });
    const steady = streamThroughProxy({ proxyUrl, host: host(), maxDurationMs: 4 * 60_000 });
    try {
      const before = await lastRevision();
      await dataPlaneOnlyOnStable();
      const startedAt = Date.now();
      await release('v5', 0, 0);
      const done = await waitForStatus('the release of v5 to end', releaseAfter(before), 200_000);
      expect(done.phase, done.message).toBe('succeeded');
      const evidence = done.analysis?.counters?.sequential?.slow;
      expect(evidence?.outcome, done.release?.history.at(-1)?.reason).toBe('no-regression');
      // Default delta for latency is 1 point: the canary's slow share is shown below stable's + 1 point.
      expect(evidence?.canary.total).toBeGreaterThan(500);
      expect(evidence!.canary.failed / evidence!.canary.total).toBeLessThan(0.01);
      // The step's hold is 10 minutes; the evidence ended it.
      expect(Date.now() - startedAt).toBeLessThan(5 * 60_000);
    } finally {
      const seen = await steady.stop();
      expect(seen.byVersion.v5 ?? 0).toBeGreaterThan(0);
    }
  });
});
