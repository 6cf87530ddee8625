// Drills "apiserver-outage" and "prometheus-outage": take a dependency away mid-release and see
// that canaryd stays up, does nothing it should not while it is away, and finishes the release
// when it is back.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { apiServerCommandLine, restartApiServer } from '../../e2e/cluster/control-plane.ts';
import { stopPid } from '../../e2e/cluster/processes.ts';
import { restartPrometheus, stopPrometheus } from '../../e2e/cluster/prometheus.ts';
import { waitFor } from '../../e2e/cluster/wait.ts';
import {
  backgroundLoad,
  createPolicy,
  deployApp,
  errorRateCheck,
  policyBody,
  readPolicy,
  release,
  type StatusEvent,
  waitAdopted,
  waitEnd,
  watchPolicies,
} from '../lib/app.ts';
import { httpBase, sampleProcess, spawnCanaryd, waitReady } from '../lib/canaryd.ts';
import { benchCluster, createNamespace, logsDir } from '../lib/cluster.ts';
import { type Flags, intFlag, say, sleep, writeResults } from '../lib/common.ts';
import { canaryRemoved, checkRelease, verdict } from './release-check.ts';

const NS = 'outage';
const APP = 'web';

export async function apiserverOutage(flags: Flags): Promise<{ ok: boolean }> {
  const outageSeconds = intFlag(flags, 'seconds', 30);
  const steps = [
    { weight: 20, hold: '8s' },
    { weight: 40, hold: '8s' },
    { weight: 50, hold: '8s' },
  ];
  const cluster = await benchCluster('apiserver-outage');
  const canaryd = spawnCanaryd(cluster.info.kubeconfig, logsDir(cluster), ['--resync', '1s']);
  await waitReady(canaryd);
  const problems: string[] = [];
  const events: StatusEvent[] = [];
  const notes: Record<string, unknown> = {};
  try {
    await createNamespace(cluster, NS);
    await deployApp(cluster, NS, APP, { replicas: 3 });
    await createPolicy(cluster, NS, policyBody(NS, APP, { steps }));
    await waitAdopted(cluster, NS, APP);
    const watch = await watchPolicies(cluster, NS, (e) => events.push(e));
    const since = Date.now();
    await release(cluster, NS, APP, 'v2');
    say('release v2 started (steps 20/40/50 % held 8 s, no analysis)');
    await waitFor(async () => ((await readPolicy(cluster, NS, APP))?.status?.weight ?? 0) > 0, {
      timeoutMs: 60_000,
      description: 'step 1 weight set',
    });
    const before = (await readPolicy(cluster, NS, APP))?.status;
    say(
      `at ${before?.phase} step ${before?.step} weight ${before?.weight} %: stopping kube-apiserver for ${outageSeconds} s`,
    );
    const commandLine = apiServerCommandLine(cluster.stateDir);
    const pid = Number(readFileSync(join(cluster.stateDir, 'pids', 'kube-apiserver.pid'), 'utf8'));
    const stoppedAt = Date.now();
    await stopPid(pid);
    let healthFailures = 0;
    let probes = 0;
    while (Date.now() - stoppedAt < outageSeconds * 1000) {
      await sleep(1000);
      probes++;
      const res = await fetch(`${httpBase(canaryd.address() ?? '')}/healthz`, {
        signal: AbortSignal.timeout(900),
      }).catch(() => null);
      if (!canaryd.alive()) {
        problems.push('canaryd exited during the apiserver outage');
        break;
      }
      if (res?.status !== 200) healthFailures++;
    }
    say(`canaryd alive during the outage: ${canaryd.alive()}; /healthz failed ${healthFailures}/${probes} probes`);
    await restartApiServer(cluster.stateDir, commandLine, cluster.info);
    const backAt = Date.now();
    say(`kube-apiserver back after ${((backAt - stoppedAt) / 1000).toFixed(1)} s`);
    const firstWrite = await waitFor(async () => events.find((e) => e.seenAt > backAt), {
      timeoutMs: 60_000,
      description: 'a status write after the outage',
    }).catch(() => undefined);
    notes.firstStatusWriteAfterOutageMs = firstWrite ? firstWrite.seenAt - backAt : null;
    const end = await waitEnd(cluster, NS, APP, 120_000).catch(() => null);
    notes.endedAfterOutageMs = Date.now() - backAt;
    watch.stop();
    const check = checkRelease(APP, events, since, 'succeeded', steps.length);
    problems.push(...check.problems);
    if (!end) problems.push('the release did not end within 120 s of the apiserver coming back');
    if (!canaryd.alive()) problems.push('canaryd is not running at the end');
    const removed = await canaryRemoved(cluster, NS);
    notes.canaryRemovedAfterEndMs = removed.tookMs;
    if (removed.left.length) problems.push(`left behind 30 s after the release ended: ${removed.left.join(', ')}`);
    const logs = canaryd.lines();
    notes.canarydWarningsAndErrors = logs.filter((l) => l.level === 'warn' || l.level === 'error').length;
    notes.sampleErrors = [
      ...new Set(
        logs.filter((l) => l.level === 'error').map((l) => `${l.msg}: ${String(l.error ?? '')}`.slice(0, 160)),
      ),
    ].slice(0, 8);
    notes.steps = check.steps;
    notes.phase = check.phase;
    notes.healthzFailures = `${healthFailures}/${probes}`;
    say(`release ${check.phase}, steps ${check.steps.join('→')}; ${JSON.stringify(notes)}`);
  } finally {
    sampleProcess(canaryd.pid).stop();
    await canaryd.stop();
    await cluster.down();
  }
  const ok = problems.length === 0;
  say(problems.length ? `problems: ${problems.join('; ')}` : 'no problems');
  say(`verdict: ${verdict(ok)}`);
  writeResults('drill-apiserver-outage', { setup: { outageSeconds, steps }, problems, notes, verdict: verdict(ok) });
  return { ok };
}

export async function prometheusOutage(flags: Flags): Promise<{ ok: boolean }> {
  const outageSeconds = intFlag(flags, 'seconds', 25);
  const steps = [
    { weight: 20, hold: '4s' },
    { weight: 40, hold: '4s' },
    { weight: 50, hold: '4s' },
  ];
  const cluster = await benchCluster('prometheus-outage');
  const canaryd = spawnCanaryd(cluster.info.kubeconfig, logsDir(cluster), ['--resync', '1s']);
  await waitReady(canaryd);
  const problems: string[] = [];
  const events: StatusEvent[] = [];
  const notes: Record<string, unknown> = {};
  const load = { stop: async () => 0 };
  try {
    await createNamespace(cluster, NS);
    await deployApp(cluster, NS, APP, { replicas: 3 });
    await createPolicy(
      cluster,
      NS,
      policyBody(NS, APP, {
        steps,
        analysis: {
          prometheus: { address: cluster.info.prometheusUrl, timeout: '2s' },
          interval: '2s',
          window: '10s',
          failureLimit: 0,
          inconclusiveLimit: 1000,
          checks: [errorRateCheck(APP)],
        },
      }),
    );
    await waitAdopted(cluster, NS, APP);
    const traffic = backgroundLoad(cluster, NS, APP, { perSecond: 20 });
    load.stop = traffic.stop;
    const watch = await watchPolicies(cluster, NS, (e) => events.push(e));
    const since = Date.now();
    await release(cluster, NS, APP, 'v2');
    say('release v2 started (steps 20/40/50 % held 4 s, error-rate analysis every 2 s, inconclusiveLimit 1000)');
    await waitFor(
      async () => {
        const p = await readPolicy(cluster, NS, APP);
        return (
          (p?.status?.weight ?? 0) > 0 &&
          (p?.status?.analysis?.measurements ?? []).some((m) => m.verdict === 'pass' && Date.parse(m.at) > since)
        );
      },
      { timeoutMs: 60_000, description: 'a passing round at step 1' },
    );
    const before = (await readPolicy(cluster, NS, APP))?.status;
    const stepBefore = before?.release?.current?.stepIndex ?? -1;
    say(`at ${before?.phase} step ${before?.step}: stopping Prometheus for ${outageSeconds} s`);
    const stoppedAt = Date.now();
    await stopPrometheus(cluster.stateDir);
    await sleep(outageSeconds * 1000);
    const during = events.filter((e) => e.seenAt >= stoppedAt);
    const advanced = during.filter((e) => (e.status.release?.current?.stepIndex ?? -1) > stepBefore);
    const promoted = during.filter((e) => ['promoting', 'succeeded'].includes(e.status.phase ?? ''));
    const last = (await readPolicy(cluster, NS, APP))?.status;
    notes.duringOutage = {
      phase: last?.phase,
      step: last?.step,
      message: last?.message,
      lastRound: last?.analysis?.counters.lastRound,
    };
    if (advanced.length)
      problems.push(
        `advanced to step ${(advanced[0]?.status.release?.current?.stepIndex ?? 0) + 1} while Prometheus was away`,
      );
    if (promoted.length) problems.push('promoted while Prometheus was away');
    say(`during the outage: ${JSON.stringify(notes.duringOutage)}; canaryd alive ${canaryd.alive()}`);
    await restartPrometheus(cluster.stateDir, cluster.info.prometheusUrl);
    const backAt = Date.now();
    say('Prometheus is back');
    const end = await waitEnd(cluster, NS, APP, 120_000).catch(() => null);
    notes.endedAfterPrometheusBackMs = Date.now() - backAt;
    watch.stop();
    const check = checkRelease(APP, events, since, 'succeeded', steps.length);
    problems.push(...check.problems);
    if (!end) problems.push('the release did not end within 120 s of Prometheus coming back');
    if (!canaryd.alive()) problems.push('canaryd is not running at the end');
    const removed = await canaryRemoved(cluster, NS);
    notes.canaryRemovedAfterEndMs = removed.tookMs;
    if (removed.left.length) problems.push(`left behind 30 s after the release ended: ${removed.left.join(', ')}`);
    notes.steps = check.steps;
    notes.phase = check.phase;
    say(
      `release ${check.phase}, steps ${check.steps.join('→')}; ended ${notes.endedAfterPrometheusBackMs} ms after Prometheus came back`,
    );
  } finally {
    await load.stop();
    await canaryd.stop();
    await cluster.down();
  }
  const ok = problems.length === 0;
  say(problems.length ? `problems: ${problems.join('; ')}` : 'no problems');
  say(`verdict: ${verdict(ok)}`);
  writeResults('drill-prometheus-outage', { setup: { outageSeconds, steps }, problems, notes, verdict: verdict(ok) });
  return { ok };
}
