// Prometheus stopped mid-release (only this cluster's Prometheus, by its pid file): no step
// advances while it is away, and the release goes on after it returns. Two outages:
// - shorter than inconclusiveLimit: the step holds (inconclusive), then continues by itself;
// - longer: the release pauses (inconclusive beyond the limit), and when Prometheus returns and a
//   round passes again the pause lifts by itself and the release is promoted (docs/engine.md,
//   "Analysis": a pause that analysis caused lifts when the evidence comes back).
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { restartPrometheus, stopPrometheus } from './cluster/prometheus.ts';
import { waitFor } from './cluster/wait.ts';
import {
  APP,
  createAnalysisPolicy,
  deployStable,
  describeStatus,
  errorRateCheck,
  type FullPolicy,
  readFullPolicy,
  releaseV2,
} from './support/analysis.ts';
import { type BackgroundLoad, backgroundLoad, recordStatuses } from './support/analysis-records.ts';
import { type CanarydProcess, installCrd, startCanaryd } from './support/canaryd.ts';
import { type TestEnv, useTestEnv } from './support/env.ts';

const INTERVAL_MS = 5000;

function localCluster(): { stateDir: string; prometheusUrl: string } {
  const cluster = inject('cluster');
  if (!cluster.local || !cluster.stateDir) {
    throw new Error('this test stops and restarts Prometheus: it needs the local cluster the suite started');
  }
  return { stateDir: cluster.stateDir, prometheusUrl: cluster.prometheusUrl };
}

function useCanaryd(env: TestEnv): { load?: BackgroundLoad } {
  const state: { load?: BackgroundLoad; canaryd?: CanarydProcess } = {};
  beforeAll(async () => {
    await installCrd(env.kc);
    state.canaryd = startCanaryd(env.kubeconfig, ['--namespace', env.namespace, '--log-level', 'debug']);
  });
  afterEach(async () => {
    await state.load?.stop();
    state.load = undefined;
    // Never leave the suite without its Prometheus, whatever failed.
    const { stateDir, prometheusUrl } = localCluster();
    const ready = await fetch(`${prometheusUrl}/-/ready`, { signal: AbortSignal.timeout(2000) }).catch(() => null);
    if (ready?.status !== 200) await restartPrometheus(stateDir, prometheusUrl);
  });
  afterAll(async () => {
    await state.canaryd?.stop();
  });
  return state;
}

const policyNow = (env: TestEnv) => readFullPolicy(env.kc, env.namespace);

async function stepStarted(env: TestEnv): Promise<FullPolicy> {
  return waitFor(
    async () => {
      const p = await policyNow(env);
      return (p?.status?.weight ?? 0) > 0 && p?.status?.step === '1/2' ? p : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 100, description: 'step 1 to start (status.weight > 0)' },
  );
}

/** Waits until `count` rounds after `after` were unreachable-inconclusive, returns the policy then. */
async function unreachableRounds(env: TestEnv, after: number, count: number): Promise<FullPolicy> {
  return waitFor(
    async () => {
      const p = await policyNow(env);
      const down = (p?.status?.analysis?.measurements ?? []).filter(
        (m) => Date.parse(m.at) >= after && m.verdict === 'inconclusive' && m.reason.includes('unreachable'),
      );
      return down.length >= count ? p : undefined;
    },
    {
      timeoutMs: (count + 2) * INTERVAL_MS,
      intervalMs: 250,
      description: `${count} inconclusive rounds with Prometheus unreachable`,
    },
  );
}

async function succeeded(env: TestEnv): Promise<FullPolicy> {
  const policy = await waitFor(
    async () => {
      const p = await policyNow(env);
      return p?.status?.phase === 'succeeded' || p?.status?.phase === 'failed' ? p : undefined;
    },
    { timeoutMs: 90_000, intervalMs: 250, description: 'the release to end' },
  );
  expect(policy.status?.phase, describeStatus(policy)).toBe('succeeded');
  return policy;
}

describe('analysis: a short Prometheus outage', () => {
  const env = useTestEnv('an-blip');
  const state = useCanaryd(env);

  it('holds the step while Prometheus is away and continues by itself when it returns', async () => {
    const { stateDir, prometheusUrl } = localCluster();
    await deployStable(env);
    await createAnalysisPolicy(env, {
      steps: [
        { weight: 25, hold: '5s' },
        { weight: 50, hold: '3s' },
      ],
      checks: [errorRateCheck()],
      inconclusiveLimit: 5,
    });
    const statuses = await recordStatuses(env);
    state.load = backgroundLoad(env);
    await releaseV2(env);
    await stepStarted(env);
    await stopPrometheus(stateDir);
    const stoppedAt = Date.now();

    // Two rounds without Prometheus; the hold (5 s) is over by then, yet the step does not advance.
    const away = await unreachableRounds(env, stoppedAt, 2);
    expect(away.status?.phase, describeStatus(away)).toBe('progressing');
    expect(away.status?.step).toBe('1/2');
    expect(away.status?.message).toContain('inconclusive');
    expect(away.status?.message).toContain('unreachable');

    await restartPrometheus(stateDir, prometheusUrl);
    const backAt = Date.now();
    const policy = await succeeded(env);
    statuses.stop();

    // No step advanced and nothing was promoted while Prometheus was away.
    const whileAway = statuses.samples.filter((s) => s.seenAt >= stoppedAt && s.seenAt < backAt);
    expect(whileAway.length).toBeGreaterThan(0);
    for (const s of whileAway) {
      expect(s.step, `status while Prometheus was away: ${s.message}`).toBe('1/2');
      expect(s.phase).toBe('progressing');
    }
    expect(statuses.samples.some((s) => s.phase === 'paused')).toBe(false);
    const passes = (policy.status?.analysis?.measurements ?? []).filter(
      (m) => m.verdict === 'pass' && Date.parse(m.at) >= backAt,
    );
    expect(passes.length).toBeGreaterThanOrEqual(1);
    expect(policy.status?.release?.history.at(-1)).toMatchObject({ outcome: 'succeeded' });
    console.log(
      `[short outage] Prometheus away ${backAt - stoppedAt} ms; promoted ${statuses.samples.at(-1)!.seenAt - backAt} ms after it returned`,
    );
  });
});

describe('analysis: a long Prometheus outage', () => {
  const env = useTestEnv('an-down');
  const state = useCanaryd(env);

  it('pauses the release (no promotion); after Prometheus returns the pause lifts by itself and it promotes', async () => {
    const { stateDir, prometheusUrl } = localCluster();
    await deployStable(env);
    await createAnalysisPolicy(env, {
      steps: [
        { weight: 25, hold: '5s' },
        { weight: 50, hold: '3s' },
      ],
      checks: [errorRateCheck()],
      inconclusiveLimit: 1,
    });
    const statuses = await recordStatuses(env);
    state.load = backgroundLoad(env);
    await releaseV2(env);
    await stepStarted(env);
    await stopPrometheus(stateDir);
    const stoppedAt = Date.now();

    const paused = await waitFor(
      async () => {
        const p = await policyNow(env);
        return p?.status?.phase === 'paused' ? p : undefined;
      },
      { timeoutMs: 4 * INTERVAL_MS, intervalMs: 250, description: 'the release to pause on inconclusive analysis' },
    );
    expect(paused.status?.message).toContain('inconclusive analysis');
    expect(paused.status?.message).toContain('unreachable');
    expect(paused.status?.step).toBe('1/2');
    expect(paused.status?.weight).toBeGreaterThan(0); // holds its weight

    await restartPrometheus(stateDir, prometheusUrl);
    const backAt = Date.now();
    expect(statuses.samples.some((s) => s.phase === 'promoting' || s.phase === 'succeeded')).toBe(false);
    // Analysis goes on while paused; once a round passes again, no person is needed.
    const policy = await succeeded(env);
    statuses.stop();
    expect(policy.status?.release?.history.at(-1)).toMatchObject({ outcome: 'succeeded' });
    expect(policy.status?.release?.history.at(-1)?.operations ?? []).toEqual([]);
    const firstPromoting = statuses.samples.find((s) => s.phase === 'promoting');
    expect(firstPromoting!.seenAt).toBeGreaterThan(backAt);
    const resumedAt = statuses.samples.find((s) => s.seenAt > backAt && s.phase === 'progressing')?.seenAt;
    console.log(
      `[long outage] paused ${Date.parse(paused.status?.analysis?.counters.lastRound?.at ?? '') - stoppedAt} ms after Prometheus stopped; ` +
        `progressing again ${resumedAt === undefined ? '?' : resumedAt - backAt} ms after it returned`,
    );
    const deployment = await env.apps.readNamespacedDeployment({ name: APP, namespace: env.namespace });
    expect(deployment.spec?.template.spec?.containers[0]?.image).toBe('canaryd-demo:v2');
  });
});
