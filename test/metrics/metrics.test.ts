import { describe, expect, it } from 'vitest';
import { type MetricProvider, MetricQueryError } from '../../src/analysis/provider.ts';
import { KubeError } from '../../src/kube/api.ts';
import {
  createMetrics,
  instrumentKubeApi,
  instrumentMetricProvider,
  parseStep,
  type ReleaseStatusSample,
  resourceOf,
} from '../../src/metrics/index.ts';
import { FakeKube } from '../traffic/fake-kube.ts';

const text = async (metrics: ReturnType<typeof createMetrics>) => metrics.registry.metrics();

/** The value of one sample line, e.g. value(out, 'canaryd_canary_step{namespace="a",policy="b"}'). */
const value = (exposition: string, series: string): number | undefined => {
  const line = exposition.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

const status = (overrides: Partial<ReleaseStatusSample> = {}): ReleaseStatusSample => ({
  phase: 'idle',
  weight: 0,
  step: '',
  release: { history: [] },
  analysis: { measurements: [] },
  ...overrides,
});

const P = 'namespace="shop",policy="checkout"';

describe('metrics registry', () => {
  it('owns its registry: two instances do not share series, the global registry stays empty', async () => {
    const { register } = await import('prom-client');
    const a = createMetrics({ defaultMetrics: false });
    const b = createMetrics({ defaultMetrics: false });
    a.observeRelease('shop', 'checkout', status({ phase: 'progressing', weight: 5, step: '2/4' }));
    expect(value(await text(a), `canaryd_canary_weight_percent{${P}}`)).toBe(5);
    expect(value(await text(b), `canaryd_canary_weight_percent{${P}}`)).toBeUndefined();
    expect(await register.getMetricsAsJSON()).toEqual([]);
  });

  it('includes process metrics with the canaryd_ prefix by default', async () => {
    const out = await text(createMetrics());
    expect(out).toContain('canaryd_process_cpu_seconds_total');
    expect(out).toContain('canaryd_nodejs_heap_size_used_bytes');
  });

  it('names follow Prometheus conventions', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const names = (await metrics.registry.getMetricsAsJSON()).map((metric) => ({
      name: metric.name,
      type: String(metric.type),
    }));
    expect(names.length).toBeGreaterThan(10);
    for (const { name, type } of names) {
      expect(name).toMatch(/^canaryd_[a-z_]+$/);
      if (type === 'counter') expect(name).toMatch(/_total$/);
      if (type === 'histogram') expect(name).toMatch(/_seconds$/);
    }
  });
});

describe('observeRelease', () => {
  it('sets weight, step and exactly one phase to 1', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.observeRelease('shop', 'checkout', status({ phase: 'progressing', weight: 0.5, step: '2/4' }));
    const out = await text(metrics);
    expect(value(out, `canaryd_canary_weight_percent{${P}}`)).toBe(0.5);
    expect(value(out, `canaryd_canary_step{${P}}`)).toBe(2);
    expect(value(out, `canaryd_canary_steps{${P}}`)).toBe(4);
    expect(value(out, `canaryd_policy_phase{${P},phase="progressing"}`)).toBe(1);
    expect(value(out, `canaryd_policy_phase{${P},phase="idle"}`)).toBe(0);
    const phases = out.split('\n').filter((l) => l.startsWith('canaryd_policy_phase{') && l.endsWith(' 1'));
    expect(phases).toHaveLength(1);
  });

  it('counts a release started, then rolled back with its duration; never twice', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.observeRelease('shop', 'checkout', status());
    const running = status({
      phase: 'progressing',
      step: '1/2',
      weight: 1,
      release: { current: { revision: 2, startedAt: '2026-03-01T10:00:00Z' }, history: [] },
    });
    metrics.observeRelease('shop', 'checkout', running);
    metrics.observeRelease('shop', 'checkout', running);
    let out = await text(metrics);
    expect(value(out, `canaryd_releases_started_total{${P}}`)).toBe(1);
    const ended = status({
      phase: 'failed',
      release: {
        history: [
          { revision: 2, startedAt: '2026-03-01T10:00:00Z', endedAt: '2026-03-01T10:10:00Z', outcome: 'rolledBack' },
        ],
      },
    });
    metrics.observeRelease('shop', 'checkout', ended);
    metrics.observeRelease('shop', 'checkout', ended);
    out = await text(metrics);
    expect(value(out, `canaryd_releases_started_total{${P}}`)).toBe(1);
    expect(value(out, `canaryd_releases_rolled_back_total{${P}}`)).toBe(1);
    expect(value(out, `canaryd_releases_succeeded_total{${P}}`)).toBe(0);
    expect(value(out, `canaryd_release_duration_seconds_sum{namespace="shop",outcome="rolledBack"}`)).toBe(600);
  });

  it('counts a release that started and succeeded between two looks as started and succeeded', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.observeRelease('shop', 'checkout', status());
    metrics.observeRelease(
      'shop',
      'checkout',
      status({
        phase: 'succeeded',
        release: {
          history: [
            { revision: 1, startedAt: '2026-03-01T10:00:00Z', endedAt: '2026-03-01T10:00:00Z', outcome: 'adopted' },
            { revision: 2, startedAt: '2026-03-01T10:00:00Z', endedAt: '2026-03-01T11:00:00Z', outcome: 'succeeded' },
          ],
        },
      }),
    );
    const out = await text(metrics);
    expect(value(out, `canaryd_releases_started_total{${P}}`)).toBe(1);
    expect(value(out, `canaryd_releases_succeeded_total{${P}}`)).toBe(1);
    expect(value(out, `canaryd_release_duration_seconds_count{namespace="shop",outcome="succeeded"}`)).toBe(1);
  });

  it('after a restart, the first look is a baseline: old history and measurements are not counted', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.observeRelease(
      'shop',
      'checkout',
      status({
        phase: 'progressing',
        step: '1/4',
        release: {
          current: { revision: 3, startedAt: '2026-03-01T10:00:00Z' },
          history: [
            { revision: 2, startedAt: '2026-03-01T09:00:00Z', endedAt: '2026-03-01T09:30:00Z', outcome: 'succeeded' },
          ],
        },
        analysis: {
          measurements: [{ check: 'success-rate', at: '2026-03-01T10:01:00Z', value: 0.99, verdict: 'pass' }],
        },
      }),
    );
    const out = await text(metrics);
    expect(value(out, `canaryd_releases_started_total{${P}}`)).toBe(0);
    expect(value(out, `canaryd_releases_succeeded_total{${P}}`)).toBe(0);
    expect(out).not.toContain('canaryd_analysis_verdicts_total{');
    expect(value(out, `canaryd_analysis_value{${P},check="success-rate"}`)).toBe(0.99);
  });

  it('counts each new measurement verdict once and keeps the latest value per check', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const first = { check: 'latency', at: '2026-03-01T10:00:00Z', value: 0.2, verdict: 'pass' };
    metrics.observeRelease('shop', 'checkout', status({ analysis: { measurements: [first] } }));
    const second = { check: 'latency', at: '2026-03-01T10:00:30Z', value: 0.9, verdict: 'fail' };
    const third = { check: 'errors', at: '2026-03-01T10:00:30Z', value: null, verdict: 'inconclusive' };
    const later = status({ analysis: { measurements: [first, second, third] } });
    metrics.observeRelease('shop', 'checkout', later);
    metrics.observeRelease('shop', 'checkout', later);
    const out = await text(metrics);
    expect(value(out, `canaryd_analysis_verdicts_total{${P},check="latency",verdict="fail"}`)).toBe(1);
    expect(value(out, `canaryd_analysis_verdicts_total{${P},check="latency",verdict="pass"}`)).toBeUndefined();
    expect(value(out, `canaryd_analysis_verdicts_total{${P},check="errors",verdict="inconclusive"}`)).toBe(1);
    expect(value(out, `canaryd_analysis_value{${P},check="latency"}`)).toBe(0.9);
    // No number: no stale value.
    expect(value(out, `canaryd_analysis_value{${P},check="errors"}`)).toBeUndefined();
  });

  it('forgetPolicy drops every series of the policy', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const measurement = { check: 'latency', at: '2026-03-01T10:00:00Z', value: 0.2, verdict: 'pass' };
    metrics.observeRelease('shop', 'checkout', status());
    metrics.observeRelease('shop', 'checkout', status({ analysis: { measurements: [measurement] } }));
    metrics.observeRelease('shop', 'other', status());
    metrics.forgetPolicy('shop', 'checkout');
    const out = await text(metrics);
    expect(out).not.toContain('policy="checkout"');
    expect(out).toContain('policy="other"');
  });

  it('parses steps', () => {
    expect(parseStep('2/4')).toEqual([2, 4]);
    expect(parseStep('')).toEqual([0, 0]);
  });
});

describe('controller health', () => {
  it('dropped Events: 0 from the start, then one per Event the recorder could not keep', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    expect(value(await text(metrics), 'canaryd_events_dropped_total')).toBe(0);
    metrics.countDroppedEvent();
    metrics.countDroppedEvent();
    expect(value(await text(metrics), 'canaryd_events_dropped_total')).toBe(2);
  });

  it('Events waiting to be written, as many as the recorder holds when scraped', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    let pending = 1200;
    metrics.eventsPending(() => pending);
    expect(value(await text(metrics), 'canaryd_events_pending')).toBe(1200);
    pending = 0;
    expect(value(await text(metrics), 'canaryd_events_pending')).toBe(0);
  });

  it('reconcile duration by result and errors by reason', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.observeReconcile(0.02);
    metrics.observeReconcile(0.5, 'Conflict');
    const out = await text(metrics);
    expect(value(out, 'canaryd_reconcile_duration_seconds_count{result="success"}')).toBe(1);
    expect(value(out, 'canaryd_reconcile_duration_seconds_count{result="error"}')).toBe(1);
    expect(value(out, 'canaryd_reconcile_errors_total{reason="Conflict"}')).toBe(1);
  });

  it('instrumentKubeApi counts requests by verb, resource and code', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const fake = new FakeKube({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'shop' },
      spec: {},
    });
    const kube = instrumentKubeApi(fake, metrics);
    const ref = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'web' };
    await kube.get(ref);
    await kube.get({ ...ref, name: 'gone' });
    await kube.mergePatch(ref, { spec: { paused: true } });
    fake.failNext('mergePatch', 'Forbidden');
    await expect(kube.mergePatch(ref, {})).rejects.toBeInstanceOf(KubeError);
    await kube.list('networking.k8s.io/v1', 'Ingress', 'shop');
    const out = await text(metrics);
    expect(value(out, 'canaryd_kubernetes_requests_total{verb="get",resource="deployments",code="200"}')).toBe(1);
    expect(value(out, 'canaryd_kubernetes_requests_total{verb="get",resource="deployments",code="404"}')).toBe(1);
    expect(value(out, 'canaryd_kubernetes_requests_total{verb="patch",resource="deployments",code="200"}')).toBe(1);
    expect(value(out, 'canaryd_kubernetes_requests_total{verb="patch",resource="deployments",code="403"}')).toBe(1);
    expect(value(out, 'canaryd_kubernetes_requests_total{verb="list",resource="ingresses",code="200"}')).toBe(1);
  });

  it('times Kubernetes requests by verb, queue waits, queue depth and watch events by effect', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const kube = instrumentKubeApi(new FakeKube(), metrics);
    await kube.list('apps/v1', 'Deployment', 'shop');
    metrics.observeQueueWait(0.3, 'change');
    metrics.observeQueueWait(0.01, 'schedule');
    let depth = 7;
    metrics.queueDepth(() => depth);
    metrics.countWatchEvent('Pod', 'unread');
    metrics.countWatchEvent('Pod', 'unread');
    metrics.countWatchEvent('Deployment', 'reconcile');
    metrics.countWatchList('Pod');
    depth = 3;
    const out = await text(metrics);
    expect(value(out, 'canaryd_kubernetes_request_duration_seconds_count{verb="list"}')).toBe(1);
    expect(value(out, 'canaryd_workqueue_wait_seconds_count{lane="change"}')).toBe(1);
    expect(value(out, 'canaryd_workqueue_wait_seconds_sum{lane="change"}')).toBe(0.3);
    expect(value(out, 'canaryd_workqueue_wait_seconds_sum{lane="schedule"}')).toBe(0.01);
    expect(value(out, 'canaryd_workqueue_depth')).toBe(3);
    expect(value(out, 'canaryd_watch_events_total{kind="Pod",effect="unread"}')).toBe(2);
    expect(value(out, 'canaryd_watch_events_total{kind="Deployment",effect="reconcile"}')).toBe(1);
    expect(value(out, 'canaryd_watch_lists_total{kind="Pod"}')).toBe(1);
  });

  it('instrumentKubeApi keeps replaceStatus when the port has it', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const fake = Object.assign(new FakeKube(), {
      replaceStatus: async <T>(object: T) => object,
    });
    const kube = instrumentKubeApi(fake, metrics);
    await kube.replaceStatus({ apiVersion: 'canaryd.dev/v1alpha1', kind: 'CanaryPolicy', metadata: { name: 'a' } });
    const out = await text(metrics);
    expect(
      value(out, 'canaryd_kubernetes_requests_total{verb="update",resource="canarypolicies/status",code="200"}'),
    ).toBe(1);
  });

  it('instrumentMetricProvider times queries and counts failures by code', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    let calls = 0;
    const provider: MetricProvider = {
      async query() {
        calls++;
        if (calls === 2) throw new MetricQueryError('timeout', 'no answer in 5s');
        return { kind: 'empty' };
      },
    };
    let clock = 0;
    const timed = instrumentMetricProvider(provider, metrics, () => (clock += 250));
    await timed.query('up');
    await expect(timed.query('up')).rejects.toThrow('no answer');
    const out = await text(metrics);
    expect(value(out, 'canaryd_prometheus_query_duration_seconds_sum{result="success"}')).toBe(0.25);
    expect(value(out, 'canaryd_prometheus_query_errors_total{code="timeout"}')).toBe(1);
  });

  it('resource names are the API plurals', () => {
    expect(['Deployment', 'Ingress', 'CanaryPolicy', 'EndpointSlice', 'Lease'].map(resourceOf)).toEqual([
      'deployments',
      'ingresses',
      'canarypolicies',
      'endpointslices',
      'leases',
    ]);
  });
});
