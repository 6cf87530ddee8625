// Benchmark "scale": N CanaryPolicies with their Deployments (1 replica) and Services, M of them
// releasing at once. Pods run a non-demo image (the pod runner and Prometheus leave them alone:
// this measures the controller, not the demo app). Reported: canaryd RSS and CPU (/proc) at idle
// and under load, spawn → /readyz, spawn → every policy adopted, step-transition latency (a step's
// due time, status.nextStepAt while at the previous step → canaryd's 'weight set' log line for
// the step's weight), and Kubernetes API requests per step by verb (canaryd's own counter, and the
// apiserver's apiserver_request_total for all clients, read from its /metrics with the admin token).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '../e2e/cluster/wait.ts';
import { demoDeployment, demoService } from '../e2e/support/env.ts';
import { createPolicy, policyBody, release, watchPolicies } from './lib/app.ts';
import { httpBase, sampleProcess, spawnCanaryd, waitReady } from './lib/canaryd.ts';
import { type BenchCluster, benchCluster, createNamespace, logsDir } from './lib/cluster.ts';
import { type Flags, intFlag, round, say, sleep, summarise, table, writeResults } from './lib/common.ts';
import { controllerWork, describeWork } from './lib/controller-work.ts';
import { apiserverMetrics, byFirst, canarydMetrics, delta, parseCounter, sumCounter, toRecord } from './lib/metrics.ts';
import { type Seen, statusSamples, stepLatencies } from './lib/step-latency.ts';

const STEPS = [
  { weight: 10, hold: '5s' },
  { weight: 30, hold: '5s' },
  { weight: 50, hold: '5s' },
];
const PER_NAMESPACE = 100;

async function inBatches<T>(items: T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: size }, async () => {
      while (i < items.length) {
        const item = items[i++] as T;
        await fn(item);
      }
    }),
  );
}

const nsOf = (i: number) => `scale-${Math.floor(i / PER_NAMESPACE)}`;
const appOf = (i: number) => `app-${i}`;

async function createObjects(cluster: BenchCluster, n: number): Promise<void> {
  const namespaces = [...new Set(Array.from({ length: n }, (_, i) => nsOf(i)))];
  for (const ns of namespaces) await createNamespace(cluster, ns);
  let done = 0;
  await inBatches(
    Array.from({ length: n }, (_, i) => i),
    16,
    async (i) => {
      const ns = nsOf(i);
      const app = appOf(i);
      const deployment = demoDeployment(ns, { name: app, replicas: 1, version: 'v1' });
      const container = deployment.spec?.template.spec?.containers[0];
      if (container) container.image = 'bench/pause:1';
      await cluster.apps.createNamespacedDeployment({ namespace: ns, body: deployment });
      await cluster.core.createNamespacedService({ namespace: ns, body: demoService(ns, app) });
      await createPolicy(cluster, ns, policyBody(ns, app, { steps: STEPS }));
      if (++done % 100 === 0) say(`created ${done}/${n} Deployments, Services and CanaryPolicies`);
    },
  );
  await waitFor(
    async () => {
      let available = 0;
      for (const ns of namespaces) {
        const list = await cluster.apps.listNamespacedDeployment({ namespace: ns });
        available += list.items.filter((d) => d.status?.availableReplicas === 1).length;
      }
      return available >= n;
    },
    { timeoutMs: 15 * 60_000, intervalMs: 2000, description: `${n} Deployments Available` },
  );
}

export async function scale(flags: Flags): Promise<{ ok: boolean }> {
  const n = intFlag(flags, 'policies', 1000);
  const m = Math.min(n, intFlag(flags, 'releasing', 100));
  const idleSeconds = intFlag(flags, 'idle-seconds', 20);
  // canaryd's own default unless --concurrency is given (measured as installed).
  const concurrency = flags.concurrency === undefined ? undefined : intFlag(flags, 'concurrency', 16);
  const cluster = await benchCluster('scale');
  const setup = {
    policies: n,
    releasing: m,
    namespaces: Math.ceil(n / PER_NAMESPACE),
    steps: STEPS,
    router: 'replica-ratio, 1 stable replica (each step is 1 canary beside 1 stable)',
    canarydFlags: { resync: '5s (default)', concurrency: concurrency ?? '16 (default)' },
    pods: 'image bench/pause:<n>, not run by the pod runner (no traffic, no analysis)',
    nodes: 'three kwok fake nodes',
  };
  say(`setup: ${JSON.stringify(setup)}`);
  const statuses = new Map<string, Seen[]>();
  const watch = await watchPolicies(cluster, undefined, (e) => {
    const key = `${e.namespace}/${e.name}`;
    const list = statuses.get(key) ?? [];
    statuses.set(key, list);
    list.push({ seenAt: e.seenAt, status: e.status });
  });
  const createdAt = Date.now();
  await createObjects(cluster, n);
  say(
    `${n} Deployments Available, ${n} Services and CanaryPolicies created in ${((Date.now() - createdAt) / 1000).toFixed(1)} s`,
  );

  const canaryd = spawnCanaryd(
    cluster.info.kubeconfig,
    logsDir(cluster),
    concurrency === undefined ? [] : ['--concurrency', String(concurrency)],
  );
  try {
    const readyMs = await waitReady(canaryd, 300_000);
    say(`canaryd spawn → /readyz 200: ${readyMs} ms`);
    const base = httpBase(canaryd.address() ?? '');
    const atReady = await canarydMetrics(base);
    const adopted = () =>
      [...statuses.values()].filter((l) => l.some((s) => s.seenAt >= canaryd.startedAt && s.status.phase === 'idle'))
        .length;
    await waitFor(async () => adopted() >= n, {
      timeoutMs: 15 * 60_000,
      intervalMs: 500,
      description: `all ${n} policies adopted`,
    });
    const adoptedMs = Date.now() - canaryd.startedAt;
    say(`canaryd spawn → all ${n} policies adopted (status phase idle): ${adoptedMs} ms`);
    // Adoption leaves follow-up reconciles queued (each write comes back as a watch event) and
    // Events still to be written (in the background): idle starts when neither the reconcile
    // count nor the API request count has moved for 5 s.
    const reconcileCount = async () => {
      const text = await canarydMetrics(base);
      return (
        sumCounter(text, 'canaryd_reconcile_duration_seconds_count') +
        sumCounter(text, 'canaryd_kubernetes_requests_total')
      );
    };
    let lastCount = -1;
    let stableSince = Date.now();
    await waitFor(
      async () => {
        const count = await reconcileCount();
        if (count !== lastCount) {
          lastCount = count;
          stableSince = Date.now();
        }
        return Date.now() - stableSince >= 5000;
      },
      // Not more often: rendering /metrics with every policy's series is work canaryd does too.
      { timeoutMs: 10 * 60_000, intervalMs: 1000, description: 'the reconcile queue to drain after adoption' },
    );
    const quietMs = Date.now() - canaryd.startedAt;
    say(`canaryd spawn → queue drained (no reconcile and no API request for 5 s): ${quietMs} ms`);
    say(`idle: sampling canaryd for ${idleSeconds} s`);
    const idleOwnBefore = await canarydMetrics(base);
    const adoptionWork = controllerWork(atReady, idleOwnBefore);
    say(`adoption (ready → drained): ${describeWork(adoptionWork)}`);
    const idleSampler = sampleProcess(canaryd.pid);
    await sleep(idleSeconds * 1000);
    const idle = idleSampler.stop();
    const idleOwnAfter = await canarydMetrics(base);
    // What canaryd does while nothing releases: reconciles and API requests in the window.
    const idleWork = {
      reconciles: round(
        sumCounter(idleOwnAfter, 'canaryd_reconcile_duration_seconds_count') -
          sumCounter(idleOwnBefore, 'canaryd_reconcile_duration_seconds_count'),
        0,
      ),
      kubernetesRequests: byFirst(
        delta(
          parseCounter(idleOwnBefore, 'canaryd_kubernetes_requests_total', ['verb', 'resource']),
          parseCounter(idleOwnAfter, 'canaryd_kubernetes_requests_total', ['verb', 'resource']),
        ),
      ),
    };
    say(`idle: ${JSON.stringify({ ...idle, ...idleWork })}`);
    say(`idle: ${describeWork(controllerWork(idleOwnBefore, idleOwnAfter))}`);

    const apiBefore = await apiserverMetrics(cluster.info);
    const ownBefore = await canarydMetrics(base);
    const releasing = Array.from({ length: m }, (_, i) => Math.floor((i * n) / m));
    const releaseStarted = Date.now();
    const loadSampler = sampleProcess(canaryd.pid);
    await inBatches(releasing, 20, (i) => release(cluster, nsOf(i), appOf(i), 'v2', { image: 'bench/pause:2' }));
    say(`${m} releases started in ${Date.now() - releaseStarted} ms`);
    const ended = () =>
      releasing.filter((i) =>
        (statuses.get(`${nsOf(i)}/${appOf(i)}`) ?? []).some(
          (s) => s.seenAt >= releaseStarted && (s.status.phase === 'succeeded' || s.status.phase === 'failed'),
        ),
      ).length;
    let lastReport = 0;
    await waitFor(
      async () => {
        const count = ended();
        if (Date.now() - lastReport > 10_000) {
          lastReport = Date.now();
          say(`${count}/${m} releases ended`);
        }
        return count >= m;
      },
      {
        timeoutMs: intFlag(flags, 'release-timeout', 900) * 1000,
        intervalMs: 500,
        description: `${m} releases to end`,
      },
    );
    const underLoad = loadSampler.stop();
    const releaseSeconds = (Date.now() - releaseStarted) / 1000;
    say(`all ${m} releases ended in ${releaseSeconds.toFixed(1)} s; canaryd under load: ${JSON.stringify(underLoad)}`);
    await sleep(6000); // the apiserver's counters and the last re-pauses settle
    const apiAfter = await apiserverMetrics(cluster.info);
    const ownAfter = await canarydMetrics(base);
    const releaseWork = controllerWork(ownBefore, ownAfter);
    say(`releases: ${describeWork(releaseWork)}`);

    // Step-transition latency.
    const steps = stepLatencies(
      canaryd.lines(),
      statuses,
      STEPS.map((s) => s.weight),
    );
    const samples = statusSamples(
      releasing.slice(0, 3).map((i) => `${nsOf(i)}/${appOf(i)}`),
      statuses,
      releaseStarted,
    );
    writeFileSync(join(logsDir(cluster), 'status-samples.json'), JSON.stringify(samples, null, 1));
    const stepLatency = summarise(steps.toWeight);
    const statusStepLatency = summarise(steps.toStarted);
    const enteredLatency = summarise(steps.toEntered);

    const outcomes: Record<string, number> = {};
    for (const i of releasing) {
      const last = (statuses.get(`${nsOf(i)}/${appOf(i)}`) ?? []).at(-1)?.status.phase ?? '?';
      outcomes[last] = (outcomes[last] ?? 0) + 1;
    }
    const stepsTotal = m * STEPS.length;
    const apiDelta = delta(
      parseCounter(apiBefore, 'apiserver_request_total', ['verb', 'resource']),
      parseCounter(apiAfter, 'apiserver_request_total', ['verb', 'resource']),
    );
    const ownDelta = delta(
      parseCounter(ownBefore, 'canaryd_kubernetes_requests_total', ['verb', 'resource']),
      parseCounter(ownAfter, 'canaryd_kubernetes_requests_total', ['verb', 'resource']),
    );
    const perStep = (counts: Record<string, number>) =>
      Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, round(v / stepsTotal, 2)]));
    const apiByVerb = byFirst(apiDelta);
    const ownByVerb = byFirst(ownDelta);
    say(`step transitions: ${steps.toWeight.length} measured (of ${m * (STEPS.length - 1)} expected)`);
    table(
      ['measure', 'value'],
      [
        ['policies / releasing', `${n} / ${m}`],
        ['spawn → /readyz', `${readyMs} ms`],
        ['spawn → all adopted', `${adoptedMs} ms`],
        ['spawn → queue drained', `${quietMs} ms`],
        ['idle reconciles / API requests', `${idleWork.reconciles} / ${JSON.stringify(idleWork.kubernetesRequests)}`],
        ['idle RSS mean / max', `${idle.rssMiBMean} / ${idle.rssMiBMax} MiB`],
        ['idle CPU', `${idle.cpuPercent} % of a core`],
        ['load RSS mean / max', `${underLoad.rssMiBMean} / ${underLoad.rssMiBMax} MiB`],
        ['load CPU', `${underLoad.cpuPercent} % of a core over ${underLoad.seconds} s`],
        ['releases ended in', `${releaseSeconds.toFixed(1)} s (${JSON.stringify(outcomes)})`],
        [
          'step latency due → weight set p50 / p99 / max',
          `${stepLatency.p50} / ${stepLatency.p99} / ${stepLatency.max} ms`,
        ],
        ['step latency due → next step entered p50 / p99', `${enteredLatency.p50} / ${enteredLatency.p99} ms`],
        ['step latency due → next step started p50 / p99', `${statusStepLatency.p50} / ${statusStepLatency.p99} ms`],
      ],
    );
    table(
      ['verb', 'canaryd requests', 'per step', 'apiserver (all clients)', 'per step'],
      [...new Set([...Object.keys(ownByVerb), ...Object.keys(apiByVerb)])]
        .sort()
        .map((verb) => [
          verb,
          ownByVerb[verb] ?? 0,
          round((ownByVerb[verb] ?? 0) / stepsTotal, 2),
          apiByVerb[verb] ?? 0,
          round((apiByVerb[verb] ?? 0) / stepsTotal, 2),
        ]),
    );
    writeResults(`scale-${n}x${m}`, {
      setup,
      readyMs,
      adoptedMs,
      quietMs,
      idle: { ...idle, ...idleWork, work: controllerWork(idleOwnBefore, idleOwnAfter) },
      adoptionWork,
      underLoad,
      releaseWork,
      releaseSeconds: round(releaseSeconds, 1),
      outcomes,
      stepLatencyMs: stepLatency,
      stepLatencyToStatusMs: statusStepLatency,
      stepLatencyToEnteredMs: enteredLatency,
      stepsTotal,
      apiRequests: {
        note: "canaryd: its own canaryd_kubernetes_requests_total; apiserver: apiserver_request_total deltas over the release phase, all clients (kube-controller-manager, scheduler, kwok, this benchmark's watch included)",
        canarydByVerb: ownByVerb,
        canarydPerStepByVerb: perStep(ownByVerb),
        canarydByVerbResource: toRecord(ownDelta),
        apiserverByVerb: apiByVerb,
        apiserverPerStepByVerb: perStep(apiByVerb),
        apiserverByVerbResource: toRecord(apiDelta),
      },
    });
    return { ok: (outcomes.succeeded ?? 0) === m && canaryd.alive() };
  } finally {
    watch.stop();
    await canaryd.stop();
    await cluster.down();
  }
}
