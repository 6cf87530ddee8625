// Benchmark "release-requests": every Kubernetes API request canaryd makes for one healthy
// 3-step release (issue 13: "a healthy 3-step release (one policy, ingress-nginx router) costs
// fewer API requests in total than Flagger's 127 for the same release").
// One demo app (2 replicas) behind an Ingress of class nginx, served by the cluster's Traefik;
// a steady stream of requests through the proxy (~100/s); an ingress-nginx policy with 3 steps
// (10, 30, 50 %, --hold 60s each) and analysis on Traefik's metrics (successRate and latency,
// every --interval 60s, Flagger's default). canaryd runs as installed (leader election on) with
// its own identity; the apiserver's audit log of that identity is the count, from the moment the
// new template is written until the canary objects are gone and canaryd is quiet again.
import { waitFor } from '../e2e/cluster/wait.ts';
import { demoDeployment, demoService } from '../e2e/support/env.ts';
import { streamThroughProxy } from '../e2e/support/traffic.ts';
import { createPolicy, policyBody, readPolicy, release, waitAdopted } from './lib/app.ts';
import { httpBase, spawnCanaryd, waitReady, waitReconcilesSettle } from './lib/canaryd.ts';
import { benchCluster, canarydKubeconfig, createNamespace, logsDir } from './lib/cluster.ts';
import { type Flags, say, table, writeResults } from './lib/common.ts';
import { per, requestRows, requestWindow } from './lib/requests.ts';
import { readsAndWrites } from './lib/scale-report.ts';
import { LEADER_ARGS } from './scale.ts';

/** Flagger v1.44's count for the same release, measured by the issue's author (issue 13). */
const FLAGGER_REQUESTS = 127;
const NAMESPACE = 'release-requests';
const APP = 'web';

export async function releaseRequests(flags: Flags): Promise<{ ok: boolean }> {
  const hold = typeof flags.hold === 'string' ? flags.hold : '60s';
  const interval = typeof flags.interval === 'string' ? flags.interval : '60s';
  const steps = [10, 30, 50].map((weight) => ({ weight, hold }));
  const cluster = await benchCluster('release-requests', { audit: true });
  const host = `${APP}.${NAMESPACE}.test`;
  const setup = {
    router: 'ingress-nginx (Traefik serving the nginx canary annotations)',
    replicas: 2,
    steps,
    analysis: { metrics: 'traefik', interval, checks: ['successRate min 95 %', 'latency p99 max 0.5 s'] },
    traffic: 'about 100 requests/s through the proxy all along',
    canaryd: `as installed (heap cap, ${LEADER_ARGS.join(' ')}), identity ${cluster.info.audit?.user}`,
    flagger: `${FLAGGER_REQUESTS} requests for the same release (issue 13)`,
  };
  say(`setup: ${JSON.stringify(setup)}`);
  await createNamespace(cluster, NAMESPACE);
  await cluster.apps.createNamespacedDeployment({
    namespace: NAMESPACE,
    body: demoDeployment(NAMESPACE, { name: APP, replicas: 2, version: 'v1' }),
  });
  await cluster.core.createNamespacedService({ namespace: NAMESPACE, body: demoService(NAMESPACE, APP) });
  const backend = { service: { name: APP, port: { name: 'http' } } };
  await cluster.networking.createNamespacedIngress({
    namespace: NAMESPACE,
    body: {
      metadata: { name: APP, namespace: NAMESPACE },
      spec: {
        ingressClassName: 'nginx',
        rules: [{ host, http: { paths: [{ path: '/', pathType: 'Prefix', backend }] } }],
      },
    },
  });
  const analysis = {
    prometheus: { address: cluster.info.prometheusUrl },
    metrics: 'traefik',
    interval,
    checks: [
      { name: 'success-rate', type: 'successRate', min: 95, minSample: 20 },
      { name: 'latency', type: 'latency', quantile: 0.99, max: 0.5, minSample: 20 },
    ],
  };
  await createPolicy(cluster, NAMESPACE, policyBody(NAMESPACE, APP, { steps, router: 'ingress-nginx', analysis }));
  const stream = streamThroughProxy({ proxyUrl: cluster.info.proxyUrl, host, maxDurationMs: 30 * 60_000 });
  const canaryd = spawnCanaryd(canarydKubeconfig(cluster), logsDir(cluster), LEADER_ARGS);
  try {
    await waitReady(canaryd);
    const base = httpBase(canaryd.address() ?? '');
    await waitAdopted(cluster, NAMESPACE, APP);
    await waitReconcilesSettle(base);
    say('adopted and quiet; releasing v2');
    const window = await requestWindow(cluster, base);
    const releasedAt = Date.now();
    await release(cluster, NAMESPACE, APP, 'v2');
    const ended = await waitFor(
      async () => {
        const status = (await readPolicy(cluster, NAMESPACE, APP))?.status;
        const last = status?.release?.history.at(-1);
        return last && Date.parse(last.endedAt ?? '0') >= releasedAt ? status : undefined;
      },
      { timeoutMs: 30 * 60_000, intervalMs: 1000, description: 'the release to end' },
    );
    say(
      `release ended: ${ended.phase} (${ended.message ?? ''}) after ${((Date.now() - releasedAt) / 1000).toFixed(1)} s`,
    );
    // Until the canary objects are gone (drain delay) and canaryd has been quiet for 5 s.
    await waitFor(
      async () =>
        (await cluster.apps
          .readNamespacedDeployment({ name: `${APP}-canary`, namespace: NAMESPACE })
          .catch(() => null)) === null,
      { timeoutMs: 120_000, description: 'the canary Deployment removed' },
    );
    await waitReconcilesSettle(base);
    const requests = await window.end();
    const seen = await stream.stop();
    const audited = requests.audited;
    const rounds = ended.analysis?.counters.rounds ?? null;
    const byVerb = readsAndWrites(audited?.byVerb ?? {});
    const total = audited?.total ?? 0;
    const releaseOnly = audited ? audited.other : 0;
    table(
      ['measure', 'value'],
      [
        ['outcome', `${ended.phase}; analysis rounds ${rounds}`],
        ['window', `${requests.seconds} s (new template → canary removed, canaryd quiet)`],
        ['canaryd requests, all (apiserver audit)', total],
        ['  of which watches opened / Lease requests', `${audited?.watches ?? 0} / ${audited?.leases ?? 0}`],
        ['  the release itself (neither)', releaseOnly],
        ['  GET / LIST / writes', `${byVerb.get} / ${byVerb.list} / ${byVerb.writes}`],
        ['  per step (3)', Math.round((releaseOnly / 3) * 10) / 10],
        ['canaryd counter (its KubeApi)', JSON.stringify(requests.canaryd.byVerb)],
        ['cache live reads', JSON.stringify(requests.canaryd.liveReads)],
        ['Flagger v1.44, same release (issue 13)', FLAGGER_REQUESTS],
        [
          'traffic through the proxy',
          `${seen.sent} sent, ${seen.failures} failed, ${seen.proxyAnswers.length} proxy answers`,
        ],
      ],
    );
    table(['verb resource', 'canaryd (audit)', 'canaryd (own counter)', 'all clients'], requestRows(requests));
    writeResults('release-requests', {
      setup,
      outcome: ended.phase,
      analysisRounds: rounds,
      windowSeconds: requests.seconds,
      total,
      watches: audited?.watches ?? 0,
      leases: audited?.leases ?? 0,
      release: releaseOnly,
      perStep: per({ release: releaseOnly, total }, 3),
      byVerbResource: audited?.byVerbResource ?? {},
      requests,
      flagger: FLAGGER_REQUESTS,
      traffic: { sent: seen.sent, failures: seen.failures, proxyAnswers: seen.proxyAnswers.length },
    });
    return { ok: ended.phase === 'succeeded' && total > 0 && canaryd.alive() };
  } finally {
    await stream.stop();
    await canaryd.stop();
    await cluster.down();
  }
}
