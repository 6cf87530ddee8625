// Benchmark "scale": N CanaryPolicies with their Deployments (1 replica) and Services, M of them
// releasing at once (replica-ratio, 3 steps held 5 s). Pods run a non-demo image (the pod runner
// and Prometheus leave them alone: this measures the controller, not the demo app). canaryd runs
// as installed: its heap cap, leader election on (a Lease in `default`), its own identity, whose
// requests the apiserver writes to an audit log (e2e/cluster/audit.ts).
// Reported (issue 13, "Numbers"):
// - spawn → /readyz, spawn → all N adopted (Ready: the pause seen), → reconcile queue drained;
//   where adoption's time went per policy: the API server answering its writes, canaryd between
//   them (adoption-time.ts, from the audit log), and canaryd's event loop delay meanwhile;
// - idle: a quiet minute (--idle-seconds 60) after adoption: requests per minute apart from
//   watches and Lease renewals, RSS and CPU, the heap by space, cache sizes per kind;
// - under load: RSS, CPU, heap and caches; step due → weight written p50/p99 (and → status);
// - per step of the release phase: GET, LIST and writes by verb and resource, from the audit
//   log, from canaryd's own counter, and apiserver_request_total of all clients; and canaryd's
//   writes by the phase of each release they belong to, per release and per step transition
//   (release-phases.ts: a release's start, step 1, steps 2…n, promotion, drain).
// `--policies 0` and `--releasing 0` are valid: the footprint of an empty or a resting fleet.
// `--heap-mib N`: canaryd's V8 heap cap instead of the install's (to measure a fleet that needs more).
// `--wake-workers K`: canaryd's workers kept for due wake-ups (default a quarter of --concurrency; 0: none).
// `--node-options="--flag …"`: V8/Node flags added to the install's (to weigh one before deploy/ has it).
// `--router ingress-nginx`: each app also has an Ingress (class nginx) and its policy that router
// (canary Ingress weights per step) instead of replica-ratio. The cluster's Traefik serves those
// Ingresses (no requests are sent) on the same cores: its CPU is in clusterCpuPercent.
// `--finalizer-on-create on|off` (default off): deploy/components/finalizer-on-create installed
// before the policies are created (Kubernetes 1.36+: the API server adds canaryd's finalizer, so
// adopting a policy is two writes instead of three).
// `--shards K` (default 1): K canaryd replicas, each started with --shard sJ and its own Lease,
// the policies split evenly (the releasing ones too); memory is reported per replica (the largest in the tables),
// CPU and requests summed over the replicas, step latency over all of them.

import { WaitAborted, waitFor } from '../e2e/cluster/wait.ts';
import { installFinalizerPolicy } from '../e2e/support/finalizer-policy.ts';
import { adoptionTime } from './lib/adoption-time.ts';
import { release } from './lib/app.ts';
import { readAudit } from './lib/audit.ts';
import { waitEventsWritten, waitReady, waitReconcilesSettle } from './lib/canaryd.ts';
import { benchCluster, canarydKubeconfig, logsDir } from './lib/cluster.ts';
import { sampleClusterCpu } from './lib/cluster-cpu.ts';
import { type Flags, intFlag, round, say, sleep, switchFlag, wordsFlag } from './lib/common.ts';
import { controllerWork, describeWork } from './lib/controller-work.ts';
import {
  appOf,
  createFleet,
  FLEET_ROUTERS,
  FLEET_STEPS,
  type FleetRouter,
  inBatches,
  namespacesFor,
  nsOf,
  progress,
  type Seen,
  waitAdoptedFleet,
  watchFleet,
} from './lib/fleet.ts';
import { describeCaches, describeFootprint, type Footprint } from './lib/footprint.ts';
import { sampleLoopLag } from './lib/loop-lag.ts';
import { writesByReleasePhase } from './lib/release-phases.ts';
import { footprints, largest, type Replicas, sampleReplicas, shardOfPolicy, spawnReplicas } from './lib/replicas.ts';
import { requestWindow } from './lib/requests.ts';
import { reportScale } from './lib/scale-report.ts';
import { stepLatency } from './lib/step-latency.ts';

/** As installed: leader election on, so Lease renewals are part of what is measured (and told apart). */
export const LEADER_ARGS = ['--leader-elect', '--lease-namespace', 'default', '--identity', 'canaryd-bench'];
const leaderArgs = (shard?: string) =>
  shard === undefined ? LEADER_ARGS : [...LEADER_ARGS.slice(0, -1), `canaryd-bench-${shard}`];

/** Default time bound of the scale task, minutes: grows with the fleet. */
export const scaleTimeoutMinutes = (flags: Flags): number => {
  const n = intFlag(flags, 'policies', 1000);
  const m = intFlag(flags, 'releasing', 100);
  return Math.max(40, Math.ceil(n / 1000) * 20 + Math.ceil(m / 100) * 5);
};

async function idlePhase(cluster: Awaited<ReturnType<typeof benchCluster>>, canaryd: Replicas, seconds: number) {
  say(`idle: measuring a quiet ${seconds} s`);
  const window = await requestWindow(cluster, canaryd.bases());
  const sampler = sampleReplicas(canaryd);
  const reconcilesBefore = await canaryd.metrics();
  await sleep(seconds * 1000);
  const process = sampler.stop();
  const reconcilesAfter = await canaryd.metrics();
  const requests = await window.end();
  const count = (text: string) =>
    text
      .split('\n')
      .filter((l) => l.startsWith('canaryd_reconcile_duration_seconds_count'))
      .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
  const each = await footprints(canaryd);
  const minutes = requests.seconds / 60;
  const perMinute = (n: number | undefined) => round((n ?? 0) / minutes, 2);
  const idle = {
    process,
    reconciles: count(reconcilesAfter) - count(reconcilesBefore),
    requests,
    perMinute: {
      otherThanWatchesAndLeases: perMinute(requests.audited?.other),
      leaseRenewals: perMinute(requests.audited?.leases),
      watchesOpened: perMinute(requests.audited?.watches),
    },
    footprints: each,
    footprint: largest(each),
  };
  say(
    `idle: ${idle.reconciles} reconciles; per minute ${JSON.stringify(idle.perMinute)}; other requests ${JSON.stringify(requests.audited?.otherByVerbResource ?? {})}`,
  );
  for (const [j, f] of idle.footprints.entries())
    say(`idle${shardName(canaryd, j)}: ${describeFootprint(f)}; caches: ${describeCaches(f.cachedObjects)}`);
  return idle;
}

async function releasePhase(
  cluster: Awaited<ReturnType<typeof benchCluster>>,
  canaryd: Replicas,
  fleet: Awaited<ReturnType<typeof watchFleet>>,
  n: number,
  m: number,
  timeoutSeconds: number,
) {
  const window = await requestWindow(cluster, canaryd.bases());
  const metricsBefore = await canaryd.metrics();
  const releasing = Array.from({ length: m }, (_, i) => Math.floor((i * n) / m));
  const keys = releasing.map((i) => `${nsOf(i)}/${appOf(i)}`);
  const startedAt = Date.now();
  const sampler = sampleReplicas(canaryd);
  const clusterCpu = sampleClusterCpu(cluster.stateDir);
  // The largest footprint of each replica seen while releases run (every 10 s).
  const peaks: Array<Footprint | undefined> = canaryd.all.map(() => undefined);
  const keepPeaks = (all: Footprint[]) =>
    all.forEach((f, j) => {
      if ((f.rssMiB ?? 0) >= (peaks[j]?.rssMiB ?? 0)) peaks[j] = f;
    });
  const peakTimer = setInterval(() => {
    void footprints(canaryd)
      .then(keepPeaks)
      .catch(() => {});
  }, 10_000);
  try {
    await inBatches(releasing, 20, (i) => release(cluster, nsOf(i), appOf(i), 'v2', { image: 'bench/pause:2' }));
    say(`${m} releases started in ${Date.now() - startedAt} ms`);
    const tell = progress();
    await waitFor(
      async () => {
        if (!canaryd.alive()) throw new WaitAborted('canaryd exited during the release phase');
        const ended = fleet.countPhase(startedAt, ['succeeded', 'failed'], keys);
        const stepping = fleet.countPhase(startedAt, ['progressing'], keys);
        tell(`${ended}/${m} releases ended (${stepping} seen progressing)`, ended >= m);
        return ended >= m;
      },
      { timeoutMs: timeoutSeconds * 1000, intervalMs: 500, description: `${m} releases to end` },
    );
  } finally {
    clearInterval(peakTimer);
  }
  const underLoad = sampler.stop();
  const clusterCpuPercent = clusterCpu.stop();
  const releaseSeconds = (Date.now() - startedAt) / 1000;
  say(`all ${m} releases ended in ${releaseSeconds.toFixed(1)} s; canaryd under load: ${JSON.stringify(underLoad)}`);
  say(`the cluster's processes meanwhile, % of a core: ${JSON.stringify(clusterCpuPercent)}`);
  // The releases' cleanup (drains, canary objects deleted, re-pauses) belongs to their writes:
  // the window ends once no replica has reconciled for 5 s (at most 3 min).
  const cleanupStarted = Date.now();
  const settled = await Promise.all(canaryd.bases().map((base) => waitReconcilesSettle(base, 5000, 180_000))).then(
    () => true,
    () => false,
  );
  say(
    `${settled ? 'cleanup done' : 'still reconciling after 3 min'}: ${Date.now() - cleanupStarted} ms after the last release ended`,
  );
  const requests = await window.end();
  // canaryd's writes by the phase of each release (its start, step 1, the steps after it, promotion,
  // the drain): what a step costs apart from what a release costs once.
  const trails = new Map(keys.map((key) => [key, fleet.statuses.get(key) ?? []]));
  const writesByPhase = cluster.info.audit
    ? writesByReleasePhase(window.audited(), trails, window.startedAt, FLEET_STEPS.length)
    : null;
  // Where a step's latency goes: queue waits, the API server's answers, GC (summed over replicas).
  const work = controllerWork(metricsBefore, await canaryd.metrics());
  say(`canaryd while releasing: ${describeWork(work)}`);
  const outcomes: Record<string, number> = {};
  for (const key of keys) {
    const last = (fleet.statuses.get(key) ?? []).at(-1)?.status.phase ?? '?';
    outcomes[last] = (outcomes[last] ?? 0) + 1;
  }
  keepPeaks(await footprints(canaryd));
  const peakFootprints = peaks.filter((f): f is Footprint => f !== undefined);
  for (const [j, f] of peakFootprints.entries())
    say(
      `under load${shardName(canaryd, j)} (largest RSS seen): ${describeFootprint(f)}; caches: ${describeCaches(f.cachedObjects)}`,
    );
  return {
    underLoad,
    peakFootprint: largest(peakFootprints),
    peakFootprints,
    releaseSeconds: round(releaseSeconds, 1),
    clusterCpuPercent,
    outcomes,
    work,
    requests,
    stepsTotal: m * FLEET_STEPS.length,
    writesByPhase,
    latency: stepLatency(canaryd.lines(), fleet.statuses, FLEET_STEPS),
    oneRelease: statusTrail(fleet.statuses.get(keys[0] ?? '') ?? [], startedAt),
  };
}

/**
 * Every status write of one release as the benchmark's watch saw it (what the status updates per
 * step are): seconds since the releases started, phase, step, weight, message.
 */
function statusTrail(seen: Seen[], since: number) {
  return seen
    .filter((s) => s.seenAt >= since)
    .map(({ seenAt, status }) => ({
      atSeconds: round((seenAt - since) / 1000, 2),
      phase: status.phase,
      step: status.release?.current?.stepIndex,
      weight: status.weight,
      message: status.message,
    }));
}

/** --router replica-ratio (default) or ingress-nginx. */
function routerFlag(flags: Flags): FleetRouter {
  const value = flags.router ?? 'replica-ratio';
  const router = FLEET_ROUTERS.find((r) => r === value);
  if (router === undefined) throw new Error(`--router ${value}: expected one of ${FLEET_ROUTERS.join(', ')}`);
  return router;
}

const shardName = (canaryd: Replicas, j: number) => (canaryd.shards.length ? ` (shard ${canaryd.shards[j]})` : '');

export async function scale(flags: Flags): Promise<{ ok: boolean }> {
  const n = intFlag(flags, 'policies', 1000);
  const m = Math.min(n, intFlag(flags, 'releasing', 100));
  const idleSeconds = intFlag(flags, 'idle-seconds', 60);
  // canaryd's own default (16) unless --concurrency is given.
  const concurrency = flags.concurrency === undefined ? undefined : intFlag(flags, 'concurrency', 16);
  // and its own wake-up reserve (a quarter of that) unless --wake-workers is given (0: none).
  const wakeWorkers = flags['wake-workers'] === undefined ? undefined : intFlag(flags, 'wake-workers', 0);
  const releaseTimeout = intFlag(flags, 'release-timeout', Math.max(900, m * 6));
  const shards = intFlag(flags, 'shards', 1);
  const router = routerFlag(flags);
  // --heap-mib N: V8's old-space cap instead of the install's (how much heap a fleet needs).
  const heapMiB = flags['heap-mib'] === undefined ? undefined : intFlag(flags, 'heap-mib', 0);
  // --node-options="--flag …": V8/Node flags beyond the install's (what a flag costs in CPU and latency).
  const extraNodeOptions = wordsFlag(flags, 'node-options');
  const finalizerOnCreate = switchFlag(flags, 'finalizer-on-create', false);
  const cluster = await benchCluster('scale', { audit: true });
  if (finalizerOnCreate) {
    await installFinalizerPolicy(cluster.kc, 'default');
    say('deploy/components/finalizer-on-create installed: the API server adds the finalizer to each policy created');
  }
  const setup = {
    policies: n,
    releasing: m,
    namespaces: namespacesFor(n),
    steps: FLEET_STEPS,
    router:
      router === 'replica-ratio'
        ? 'replica-ratio, 1 stable replica (each step is 1 canary beside 1 stable)'
        : "ingress-nginx: an Ingress of class nginx per app, served by the cluster's Traefik on the same cores (no requests sent), canary Ingress weights per step",
    canarydFlags: {
      resync: '5s (default)',
      concurrency: concurrency ?? '16 (default)',
      wakeWorkers: wakeWorkers ?? 'a quarter of concurrency (default)',
      leaderElection: LEADER_ARGS.join(' '),
      heapCap: heapMiB === undefined ? "the install's" : `--max-old-space-size=${heapMiB}`,
      finalizerOnCreate: finalizerOnCreate
        ? 'deploy/components/finalizer-on-create: the finalizer added by the API server at creation'
        : 'off: canaryd adds the finalizer (the default install)',
      ...(extraNodeOptions.length > 0 ? { nodeOptionsAdded: extraNodeOptions.join(' ') } : {}),
      ...(shards > 1
        ? {
            shards: `${shards} replicas, --shard s0…s${shards - 1}, identity canaryd-bench-sJ, policies round-robin in blocks of ${Math.max(1, Math.floor(n / Math.max(m, 1)))}, so the releasing ones alternate`,
          }
        : {}),
    },
    identity: `${cluster.info.audit?.user} (its requests in the apiserver's audit log)`,
    pods: 'image bench/pause:<n>, not run by the pod runner (no traffic, no analysis)',
    nodes: 'three kwok fake nodes',
  };
  say(`setup: ${JSON.stringify(setup)}`);
  const fleet = await watchFleet(cluster);
  let canaryd: Replicas | undefined;
  try {
    const createdAt = Date.now();
    await createFleet(cluster, n, shardOfPolicy(shards, n, m), router);
    say(
      `${n} Deployments Available, Services and CanaryPolicies created in ${((Date.now() - createdAt) / 1000).toFixed(1)} s`,
    );
    const started = spawnReplicas(
      canarydKubeconfig(cluster),
      logsDir(cluster),
      shards,
      (shard) => [
        ...(concurrency === undefined ? [] : ['--concurrency', String(concurrency)]),
        ...(wakeWorkers === undefined ? [] : ['--wake-workers', String(wakeWorkers)]),
        ...leaderArgs(shard),
      ],
      [...(heapMiB === undefined ? [] : [`--max-old-space-size=${heapMiB}`]), ...extraNodeOptions],
    );
    canaryd = started;
    const readyMs = Math.max(...(await Promise.all(started.all.map((c) => waitReady(c, 600_000)))));
    say(`canaryd spawn → /readyz 200: ${readyMs} ms`);
    // Nothing else scrapes canaryd while it adopts: its event loop's worst delays, every 5 s.
    const lagSampler = sampleLoopLag(() => started.bases());
    // Where the two cores go while adopting: canaryd and each process of the cluster.
    const adoptionCpu = { canaryd: sampleReplicas(started), cluster: sampleClusterCpu(cluster.stateDir) };
    const adoptedMs = await waitAdoptedFleet(fleet, n, started.startedAt, started.alive);
    const adoptionLoopLag = await lagSampler.stop();
    const adoptionCpuPercent = {
      canaryd: adoptionCpu.canaryd.stop().cpuPercent,
      ...adoptionCpu.cluster.stop(),
    };
    say(`canaryd spawn → all ${n} policies adopted (Ready: each Deployment seen paused): ${adoptedMs} ms`);
    say(
      `event loop delay while adopting, worst per ${adoptionLoopLag.everyMs / 1000} s: ${adoptionLoopLag.windowsMaxMs.join(', ')} ms`,
    );
    say(`CPU while adopting, % of a core: ${JSON.stringify(adoptionCpuPercent)}`);
    // The reconciles that follow adoption (the controller-manager answering the pauses with
    // status updates) go on for minutes at 1,000+: measured, but not waited for past the bound.
    const settleMs = intFlag(flags, 'settle-minutes', 10) * 60_000;
    const settled = await Promise.all(started.bases().map((base) => waitReconcilesSettle(base, 5000, settleMs))).then(
      () => true,
      () => false,
    );
    const quietMs = settled ? Date.now() - started.startedAt : null;
    say(
      settled
        ? `canaryd spawn → queue drained (no reconcile for 5 s): ${quietMs} ms`
        : `canaryd still reconciling ${settleMs / 60_000} min after adoption (--settle-minutes); the idle phase is measured anyway`,
    );
    // Nothing left to do means the Events decided while adopting written too: the idle minute
    // starts then, and how long the Event backlog outlasted the reconciles is its own figure.
    const written = await Promise.all(started.bases().map((base) => waitEventsWritten(base, settleMs))).then(
      () => true,
      () => false,
    );
    const eventsWrittenMs = written ? Date.now() - started.startedAt : null;
    say(
      written
        ? `canaryd spawn → every Event written (canaryd_events_pending 0): ${eventsWrittenMs} ms`
        : `canaryd still writing Events ${settleMs / 60_000} min after the queue drained; the idle phase is measured anyway`,
    );
    const idle = await idlePhase(cluster, started, idleSeconds);
    const load = m > 0 ? await releasePhase(cluster, started, fleet, n, m, releaseTimeout) : undefined;
    // The audit log of the adoption, long written by now: where each policy's adoption time went.
    const audit = cluster.info.audit;
    const adoption = audit
      ? adoptionTime(readAudit(audit.log, audit.user), started.startedAt, started.startedAt + adoptedMs)
      : null;
    reportScale({
      setup,
      router,
      shards: started.shards,
      readyMs,
      adoptedMs,
      adoption,
      adoptionLoopLag,
      adoptionCpuPercent,
      quietMs,
      eventsWrittenMs,
      idle,
      load,
    });
    return { ok: (load === undefined || (load.outcomes.succeeded ?? 0) === m) && started.alive() };
  } finally {
    fleet.stop();
    await canaryd?.stop();
    await cluster.down();
  }
}
