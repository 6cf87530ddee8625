// Benchmark "reaction": how fast a breached SLO takes the canary's weight to zero. Each trial
// releases a healthy v<n> behind a replica-ratio policy with an error-rate check (the demo pods'
// own metrics in the cluster's Prometheus), waits for a passing round, then injects the fault by
// annotating the canary pods demo.canaryd.dev/error-rate=0.5 (the pod runner applies it at run
// time). Measured: first failing measurement → weight 0, and fault injected → weight 0, where
// "weight 0" is the moment the canary Deployment is scaled to 0 (or deleted), seen by a watch.
import * as k8s from '@kubernetes/client-node';
import { WaitAborted, waitFor } from '../e2e/cluster/wait.ts';
import { parseDuration } from '../src/schedule/duration.ts';
import {
  backgroundLoad,
  createPolicy,
  deployApp,
  errorRateCheck,
  mergePatch,
  policyBody,
  readPolicy,
  release,
  waitAdopted,
  waitEnd,
} from './lib/app.ts';
import { sampleProcess, spawnCanaryd, waitReady } from './lib/canaryd.ts';
import { type BenchCluster, benchCluster, createNamespace, logsDir } from './lib/cluster.ts';
import { type Flags, intFlag, say, sleep, summarise, table, writeResults } from './lib/common.ts';

interface Trial {
  trial: number;
  namespace: string;
  firstFailToZeroMs: number | null;
  faultToZeroMs: number | null;
  faultToFirstFailMs: number | null;
  outcome: string;
  failingValue?: number;
  note?: string;
}

/** Records when the canary Deployment goes to 0 replicas (or away) after having had some. */
async function canaryZeroWatch(kc: k8s.KubeConfig, namespace: string, name: string) {
  let zeroAt: number | undefined;
  let seen = false;
  const req = await new k8s.Watch(kc).watch(
    `/apis/apps/v1/namespaces/${namespace}/deployments`,
    { fieldSelector: `metadata.name=${name}` },
    (type: string, d: k8s.V1Deployment) => {
      const now = Date.now();
      if (type === 'DELETED' || (d.spec?.replicas ?? 1) === 0) {
        if (seen) zeroAt ??= now;
      } else seen = true;
    },
    () => {},
  );
  return { zeroAt: () => zeroAt, stop: () => req.abort() };
}

async function runTrial(cluster: BenchCluster, namespace: string, trial: number, version: string): Promise<Trial> {
  const releasedAt = Date.now();
  await release(cluster, namespace, 'web', version);
  // A passing round at the first step: the canary is healthy and analysed.
  await waitFor(
    async () => {
      const p = await readPolicy(cluster, namespace, 'web');
      const passed = (p?.status?.analysis?.measurements ?? []).some(
        (m) => m.verdict === 'pass' && Date.parse(m.at) > releasedAt,
      );
      if (p?.status?.phase === 'failed' && Date.parse(p.status.release?.history.at(-1)?.endedAt ?? '0') > releasedAt)
        throw new WaitAborted(`${namespace}: ${version} rolled back before the fault: ${p.status.message}`);
      return p?.status?.phase === 'progressing' && (p.status.weight ?? 0) > 0 && passed;
    },
    { timeoutMs: 90_000, intervalMs: 250, description: `${namespace}: a passing round at step 1` },
  );
  const watch = await canaryZeroWatch(cluster.kc, namespace, 'web-canary');
  const pods = await cluster.core.listNamespacedPod({ namespace, labelSelector: 'canaryd.dev/track=canary' });
  const faultAt = Date.now();
  await Promise.all(
    pods.items.map((pod) =>
      cluster.core.patchNamespacedPod(
        {
          name: pod.metadata?.name ?? '',
          namespace,
          body: { metadata: { annotations: { 'demo.canaryd.dev/error-rate': '0.5' } } },
        },
        mergePatch,
      ),
    ),
  );
  const end = await waitEnd(cluster, namespace, 'web', 90_000);
  await waitFor(async () => watch.zeroAt(), { timeoutMs: 10_000, description: 'weight 0 seen' }).catch(() => {});
  watch.stop();
  const zeroAt = watch.zeroAt();
  const fail = (end.status?.analysis?.measurements ?? [])
    .filter((m) => m.verdict === 'fail' && Date.parse(m.at) >= faultAt)
    .sort((a, b) => Date.parse(a.at) - Date.parse(b.at))[0];
  const failAt = fail ? Date.parse(fail.at) : undefined;
  // The canary is removed before the next trial's release.
  await waitFor(
    async () =>
      (await cluster.apps.readNamespacedDeployment({ name: 'web-canary', namespace }).catch(() => null)) === null,
    { timeoutMs: 30_000, description: `${namespace}: canary removed` },
  );
  return {
    trial,
    namespace,
    outcome: end.status?.phase ?? '?',
    firstFailToZeroMs: zeroAt !== undefined && failAt !== undefined ? zeroAt - failAt : null,
    faultToZeroMs: zeroAt !== undefined ? zeroAt - faultAt : null,
    faultToFirstFailMs: failAt !== undefined ? failAt - faultAt : null,
    failingValue: fail?.value,
    ...(end.status?.phase === 'failed' ? {} : { note: end.status?.message }),
  };
}

export async function reaction(flags: Flags): Promise<{ ok: boolean }> {
  const trials = intFlag(flags, 'trials', 20);
  const workers = Math.max(1, Math.min(trials, intFlag(flags, 'workers', 4)));
  const interval = String(flags.interval ?? '2s');
  const window = String(flags.window ?? '10s');
  const windowMs = parseDuration(window);
  const cluster = await benchCluster('reaction');
  const canaryd = spawnCanaryd(cluster.info.kubeconfig, logsDir(cluster), ['--resync', '1s']);
  say(`canaryd ready in ${await waitReady(canaryd)} ms`);
  const setup = {
    trials,
    parallelReleases: workers,
    prometheusScrapeSeconds: cluster.info.scrapeIntervalSeconds,
    analysisInterval: interval,
    analysisWindow: window,
    check: 'custom error ratio of the canary pods (5xx / all) over the window, max 0.05, minSample 10, failureLimit 0',
    stable: '3 replicas, router replica-ratio, step weight 25 % (1 canary beside 3) held 30 min',
    load: '20 requests/s per release, uniformly over ready endpoints',
    fault: 'annotation demo.canaryd.dev/error-rate=0.5 on the canary pods (applied by the pod runner at run time)',
    weightZero: 'canary Deployment scaled to 0 (or deleted), seen by a watch',
    canarydResync: '1s',
  };
  say(`setup: ${JSON.stringify(setup)}`);
  const results: Trial[] = [];
  let next = 0;
  const cpu = sampleProcess(canaryd.pid);
  try {
    await Promise.all(
      Array.from({ length: workers }, async (_, w) => {
        const ns = `reaction-${w}`;
        await createNamespace(cluster, ns);
        await deployApp(cluster, ns, 'web', { replicas: 3 });
        await createPolicy(
          cluster,
          ns,
          policyBody(ns, 'web', {
            steps: [{ weight: 25, hold: '30m' }],
            analysis: {
              prometheus: { address: cluster.info.prometheusUrl, timeout: '2s' },
              interval,
              window,
              failureLimit: 0,
              inconclusiveLimit: 100,
              checks: [errorRateCheck('web')],
            },
          }),
        );
        await waitAdopted(cluster, ns, 'web');
        const load = backgroundLoad(cluster, ns, 'web', { perSecond: 20 });
        try {
          for (let version = 2; ; version++) {
            const trial = next++;
            if (trial >= trials) break;
            say(
              `trial ${trial + 1}/${trials} in ${ns}: release v${version}, wait for a passing round, inject 50 % errors`,
            );
            const t = await runTrial(cluster, ns, trial + 1, `v${version}`).catch(
              (error: Error): Trial => ({
                trial: trial + 1,
                namespace: ns,
                outcome: 'error',
                firstFailToZeroMs: null,
                faultToZeroMs: null,
                faultToFirstFailMs: null,
                note: error.message,
              }),
            );
            say(
              `trial ${t.trial}: ${t.outcome}; fault → first failing measurement ${t.faultToFirstFailMs} ms, ` +
                `first failing measurement → weight 0 ${t.firstFailToZeroMs} ms, fault → weight 0 ${t.faultToZeroMs} ms${t.note ? ` (${t.note})` : ''}`,
            );
            results.push(t);
            // The analysis query selects the canary by track, not by template: let the previous
            // canary's errors leave the window before the next release (see the README's gaps).
            await sleep(windowMs + 3000);
          }
        } finally {
          await load.stop();
        }
      }),
    );
  } finally {
    const usage = cpu.stop();
    say(`canaryd during the trials: ${JSON.stringify(usage)}`);
    await canaryd.stop();
    await cluster.down();
  }
  results.sort((a, b) => a.trial - b.trial);
  const pick = (key: keyof Trial) => results.map((r) => r[key]).filter((v): v is number => typeof v === 'number');
  const stats = {
    firstFailToZeroMs: summarise(pick('firstFailToZeroMs')),
    faultToZeroMs: summarise(pick('faultToZeroMs')),
    faultToFirstFailMs: summarise(pick('faultToFirstFailMs')),
  };
  table(
    ['measure (ms)', 'n', 'p50', 'p90', 'max', 'min'],
    [
      ['first failing measurement → weight 0', ...row(stats.firstFailToZeroMs)],
      ['fault injected → weight 0', ...row(stats.faultToZeroMs)],
      ['fault injected → first failing measurement', ...row(stats.faultToFirstFailMs)],
    ],
  );
  const rolledBack = results.filter((r) => r.outcome === 'failed').length;
  say(`${rolledBack}/${results.length} trials rolled back`);
  writeResults('reaction', { setup, stats, rolledBack, trials: results });
  // DESIGN invariant 2: rollback begins within one second of the failing measurement.
  const ok = rolledBack === trials && (stats.firstFailToZeroMs.max ?? Infinity) <= 1000;
  return { ok };
}

const row = (s: ReturnType<typeof summarise>) => [s.n, s.p50, s.p90, s.max, s.min];
