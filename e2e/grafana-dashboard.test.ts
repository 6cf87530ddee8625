// deploy/grafana/canaryd.json against the real Prometheus scraping a running canaryd: after one
// release promoted and one rolled back, every panel's and annotation's query runs (instant and
// range, as Grafana sends them), and the panels a person opens the board for show the story:
// phases, weight, steps, verdicts, the rollback, and annotations at the release transitions.
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { targetsDirOf } from './cluster/prometheus.ts';
import { waitFor } from './cluster/wait.ts';
import {
  APP,
  CANARY,
  createAnalysisPolicy,
  deployStable,
  errorRateCheck,
  readFullPolicy,
  releaseV2,
} from './support/analysis.ts';
import { type BackgroundLoad, backgroundLoad } from './support/analysis-records.ts';
import { type CanarydProcess, installCrd, startCanaryd } from './support/canaryd.ts';
import { type TestEnv, useTestEnv } from './support/env.ts';
import { dashboardQueries, interpolate, readDashboard } from './support/grafana.ts';
import { canarydAddress } from './support/service.ts';

const JOB = 'canaryd';
const STEP_SECONDS = 2;

interface Series {
  metric: Record<string, string>;
  /** [unix seconds, value] for every finite value. */
  points: Array<[number, number]>;
}

/** GET on Prometheus' HTTP API; fails with Prometheus' own error unless the status is success. */
async function prometheusApi(base: string, path: string, params: Record<string, string>) {
  const res = await fetch(`${base}${path}?${new URLSearchParams(params)}`, { signal: AbortSignal.timeout(10_000) });
  const body = (await res.json()) as {
    status: string;
    error?: string;
    data?:
      | {
          result?: Array<{
            metric: Record<string, string>;
            value?: [number, string];
            values?: Array<[number, string]>;
          }>;
        }
      | string[];
  };
  return body;
}

async function run(base: string, expr: string, mode: { instant: true } | { start: number; end: number; step: number }) {
  const body =
    'instant' in mode
      ? await prometheusApi(base, '/api/v1/query', { query: expr })
      : await prometheusApi(base, '/api/v1/query_range', {
          query: expr,
          start: String(mode.start),
          end: String(mode.end),
          step: String(mode.step),
        });
  const data = body.data as
    | { result?: Array<{ metric: Record<string, string>; value?: [number, string]; values?: Array<[number, string]> }> }
    | undefined;
  const series: Series[] = (data?.result ?? []).map((r) => ({
    metric: r.metric,
    points: (r.values ?? (r.value ? [r.value] : []))
      .map(([t, v]): [number, number] => [t, Number(v)])
      .filter(([, v]) => Number.isFinite(v)),
  }));
  return { status: body.status, error: body.error, series };
}

/** Writes canaryd's address as a file_sd target of the cluster's Prometheus (scraped every second). */
function scrapeCanaryd(stateDir: string, namespace: string, address: string): string {
  const file = join(targetsDirOf(stateDir), `canaryd-${namespace}.json`);
  const group = [{ targets: [new URL(address).host], labels: { job: JOB } }];
  writeFileSync(`${file}.tmp`, JSON.stringify(group));
  renameSync(`${file}.tmp`, file);
  return file;
}

async function waitForEnd(env: TestEnv, expected: 'succeeded' | 'failed') {
  const policy = await waitFor(
    async () => {
      const p = await readFullPolicy(env.kc, env.namespace);
      return p?.status?.phase === 'succeeded' || p?.status?.phase === 'failed' ? p : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 250, description: `the release to end (phase ${expected})` },
  );
  expect(policy.status?.phase).toBe(expected);
  await waitFor(
    async () =>
      (await env.apps.readNamespacedDeployment({ name: CANARY, namespace: env.namespace }).catch(() => null)) === null,
    { timeoutMs: 30_000, description: 'the canary Deployment removed' },
  );
}

describe('the Grafana dashboard on the real Prometheus scraping canaryd', () => {
  const env = useTestEnv('grafana');
  const cluster = inject('cluster');
  const dashboard = readDashboard();
  const queries = dashboardQueries(dashboard);
  let canaryd: CanarydProcess | undefined;
  let load: BackgroundLoad | undefined;
  let targetFile: string | undefined;
  let startedAt = 0;

  beforeAll(async () => {
    if (!cluster.local || !cluster.stateDir) {
      throw new Error('this test adds canaryd as a scrape target: it needs the local cluster the suite started');
    }
    startedAt = Math.floor(Date.now() / 1000);
    await installCrd(env.kc);
    canaryd = startCanaryd(env.kubeconfig, ['--namespace', env.namespace], 'canaryd-grafana');
    targetFile = scrapeCanaryd(cluster.stateDir, env.namespace, await canarydAddress(canaryd));
  });
  afterAll(async () => {
    await load?.stop();
    await canaryd?.stop();
    if (targetFile) rmSync(targetFile, { force: true });
  });

  it('a release promoted and one rolled back, as Prometheus scrapes them from canaryd', async () => {
    await waitFor(
      async () => (await run(env.prometheusUrl, `up{job="${JOB}"} == 1`, { instant: true })).series.length > 0,
      {
        timeoutMs: 30_000,
        description: `Prometheus scraping canaryd (up{job="${JOB}"} == 1)`,
      },
    );
    await deployStable(env);
    await createAnalysisPolicy(env, {
      steps: [
        { weight: 25, hold: '5s' },
        { weight: 50, hold: '5s' },
      ],
      checks: [errorRateCheck()],
      failureLimit: 0,
    });
    load = backgroundLoad(env);
    const selector = `{job="${JOB}",namespace="${env.namespace}",policy="${APP}"}`;
    const scraped = (expr: string, description: string) =>
      waitFor(async () => (await run(env.prometheusUrl, expr, { instant: true })).series.length === 1, {
        timeoutMs: 30_000,
        description: `Prometheus to have scraped ${description}`,
      });
    // increase() over the board's range counts from the first sample Prometheus has: the
    // counters must have been scraped at 0 (canaryd creates them on its first look at the policy)
    // before the first release, else that release is not counted — as on a real board.
    await scraped(`canaryd_releases_started_total${selector} == 0`, 'the release counters at 0');
    await releaseV2(env);
    await waitForEnd(env, 'succeeded');
    // Each phase is on the board before the next release begins (scraped every second).
    await scraped(`canaryd_policy_phase${selector.replace('}', ',phase="succeeded"}')} == 1`, 'phase succeeded');
    await releaseV2(env, { errorRate: 0.2 });
    // The second release has begun (the status no longer shows the first one's end).
    await waitFor(async () => (await readFullPolicy(env.kc, env.namespace))?.status?.phase === 'progressing', {
      timeoutMs: 60_000,
      intervalMs: 250,
      description: 'the second release progressing',
    });
    await waitForEnd(env, 'failed');
    await load.stop();
    load = undefined;
    await scraped(`canaryd_releases_succeeded_total${selector} == 1`, 'one promoted release');
    await scraped(`canaryd_releases_rolled_back_total${selector} == 1`, 'one rolled-back release');
  });

  it('every panel and annotation query runs (instant and range) and the key panels show the releases', async () => {
    // The range's last point at or after now: a grid ending up to a step before now could stop
    // just before the scrape that saw the last phase (found in CI: "failed" missing).
    const first = startedAt - 30;
    const end = first + Math.ceil((Math.ceil(Date.now() / 1000) - first) / STEP_SECONDS) * STEP_SECONDS;
    const values = {
      job: JOB,
      namespace: env.namespace,
      policy: APP,
      __range: `${end - startedAt + 60}s`,
      __interval: `${STEP_SECONDS}s`,
      // Grafana: max(interval + scrape interval, 4 × scrape interval); generous for a 1 s scrape.
      __rate_interval: '10s',
    };
    const range = { start: first, end, step: STEP_SECONDS };
    const answers = new Map<string, Series[]>();
    for (const query of queries) {
      const expr = interpolate(query.expr, values);
      const instant = await run(env.prometheusUrl, expr, { instant: true });
      expect(instant, `${query.where}: ${expr}`).toMatchObject({ status: 'success' });
      const ranged = await run(env.prometheusUrl, expr, range);
      expect(ranged, `${query.where}: ${expr}`).toMatchObject({ status: 'success' });
      answers.set(query.where, query.instant ? instant.series : ranged.series);
    }
    const panel = (title: string, refId = 'A'): Series[] => {
      const found = answers.get(`panel "${title}" / ${refId}`);
      if (found === undefined) throw new Error(`no panel "${title}" / ${refId} in the dashboard`);
      return found;
    };
    const max = (series: Series[]) => Math.max(-Infinity, ...series.flatMap((s) => s.points.map(([, v]) => v)));
    /** The values of `label` among the series that rose above zero somewhere. */
    const shown = (series: Series[], label: string) =>
      series.filter((s) => s.points.some(([, v]) => v > 0)).map((s) => s.metric[label]);

    // Releases
    expect(panel('Policies by phase').map((s) => [s.metric, s.points.map(([, v]) => v)])).toEqual([
      [{ phase: 'failed' }, [1]],
    ]);
    expect(shown(panel('Releases by phase'), 'phase')).toEqual(
      expect.arrayContaining(['progressing', 'succeeded', 'failed']),
    );
    expect(Math.round(max(panel('Releases in the range', 'A'))), 'started').toBe(2);
    expect(Math.round(max(panel('Releases in the range', 'B'))), 'promoted').toBe(1);
    expect(Math.round(max(panel('Releases in the range', 'C'))), 'rolled back').toBe(1);
    expect(max(panel('Canary weight'))).toBeGreaterThan(0);
    expect(max(panel('Canary step', 'A'))).toBe(2);
    expect(max(panel('Canary step', 'B'))).toBe(2);
    expect(shown(panel('Rollbacks'), 'policy')).toEqual([APP]);
    expect(shown(panel('Release duration by outcome (p50, p90), by namespace'), 'outcome').sort()).toEqual([
      'rolledBack',
      'succeeded',
    ]);
    // Analysis: the one failing measurement that rolled the release back is on the board too.
    expect(shown(panel('Analysis verdicts'), 'verdict')).toEqual(expect.arrayContaining(['pass', 'fail']));
    expect(shown(panel('Analysis value by check'), 'check')).toContain('error-rate');
    // The failing measurement is listed (an inconclusive round, e.g. too few canary requests yet, may be too); no passes.
    const failedChecks = panel('Failed and inconclusive checks in the range').map((s) => s.metric);
    expect(failedChecks).toContainEqual({
      namespace: env.namespace,
      policy: APP,
      check: 'error-rate',
      verdict: 'fail',
    });
    for (const row of failedChecks) expect(['fail', 'inconclusive']).toContain(row.verdict);
    // Controller
    for (const title of ['Reconcile latency', 'Kubernetes API requests', 'Prometheus query latency', 'Memory', 'CPU']) {
      expect(max(panel(title)), title).toBeGreaterThan(0);
    }
  });

  it('the release annotations mark each start, the promotion and the rollback within a minute', async () => {
    const policy = await readFullPolicy(env.kc, env.namespace);
    const history = (policy?.status?.release?.history ?? []) as unknown as Array<{
      outcome: string;
      startedAt: string;
      endedAt: string;
    }>;
    // The adoption of the Deployment is recorded too; the releases follow it.
    const releases = history.filter((h) => h.outcome !== 'adopted');
    expect(releases.map((h) => h.outcome)).toEqual(['succeeded', 'rolledBack']);
    const seconds = (at: string) => Date.parse(at) / 1000;
    const expected: Record<string, number[]> = {
      'Release started': releases.map((h) => seconds(h.startedAt)),
      'Release promoted': [seconds(releases[0]!.endedAt)],
      'Release rolled back': [seconds(releases[1]!.endedAt)],
    };
    const values = { job: JOB, namespace: env.namespace, policy: APP };
    for (const annotation of dashboard.annotations.list.filter((a) => a.name in expected)) {
      const expr = interpolate(annotation.expr ?? '', values);
      const step = Number.parseInt(annotation.step ?? '60', 10);
      const events = expected[annotation.name] ?? [];
      // Grafana asks over the board's range at the annotation's step: an event shows at the
      // first evaluation within a minute after it (increase over 1m), so wait for that one.
      const series = await waitFor(
        async () => {
          const answer = await run(env.prometheusUrl, expr, {
            start: startedAt - 60,
            end: Math.ceil(Date.now() / 1000),
            step,
          });
          expect(answer.status, `annotation "${annotation.name}": ${answer.error}`).toBe('success');
          const times = answer.series.flatMap((s) => s.points.map(([t]) => t));
          return events.every((at) => times.some((t) => t >= at - 2 && t <= at + 65)) ? answer.series : undefined;
        },
        {
          timeoutMs: 120_000,
          intervalMs: 1000,
          description: `annotation "${annotation.name}" at ${events.length} event(s)`,
        },
      );
      expect(
        series.map((s) => s.metric),
        annotation.name,
      ).toEqual([{ namespace: env.namespace, policy: APP }]);
    }
  });
});
