// Series whose label values are known in advance exist at 0 before their first event, so an
// alert on rate() or increase() sees that first event (a series born at 1 has no sample to rise
// from): per policy once it is adopted, per configured check, per configured receiver, and the
// controller's own by result and error code. They go when the policy (or the check) goes.
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { METRIC_QUERY_ERROR_CODES } from '../../src/analysis/provider.ts';
import { createMetrics, type ReleaseStatusSample } from '../../src/metrics/index.ts';
import { notifyMetrics } from '../../src/notify/metrics.ts';
import { Notifier } from '../../src/notify/notifier.ts';
import { notificationSettings } from '../../src/settings/notifications.ts';

const value = (exposition: string, series: string): number | undefined => {
  const line = exposition.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

const P = 'namespace="shop",policy="checkout"';
const checks = (...names: string[]) => ({ analysis: { checks: names.map((name) => ({ name })) } });
const status = (overrides: Partial<ReleaseStatusSample> = {}): ReleaseStatusSample => ({
  phase: 'idle',
  weight: 0,
  step: '',
  release: { history: [] },
  analysis: { measurements: [] },
  ...overrides,
});

describe('series at 0 before their first event', () => {
  it('per adopted policy: every verdict of every configured check; per namespace: release durations by outcome', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.observeRelease('shop', 'checkout', status({ activeSpec: checks('success-rate', 'latency') }));
    const out = await metrics.registry.metrics();
    for (const check of ['success-rate', 'latency']) {
      for (const verdict of ['pass', 'fail', 'inconclusive']) {
        expect(value(out, `canaryd_analysis_verdicts_total{${P},check="${check}",verdict="${verdict}"}`)).toBe(0);
      }
    }
    for (const outcome of ['succeeded', 'rolledBack', 'superseded', 'cancelled']) {
      expect(value(out, `canaryd_release_duration_seconds_count{namespace="shop",outcome="${outcome}"}`)).toBe(0);
    }
    expect(value(out, `canaryd_releases_rolled_back_total{${P}}`)).toBe(0);
  });

  it('a check’s first fail rises from 0 to 1, so increase() over it is 1', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const spec = checks('success-rate');
    metrics.observeRelease('shop', 'checkout', status({ activeSpec: spec }));
    const fail = { check: 'success-rate', at: '2026-12-02T06:00:00Z', value: 80, verdict: 'fail' };
    metrics.observeRelease('shop', 'checkout', status({ activeSpec: spec, analysis: { measurements: [fail] } }));
    const out = await metrics.registry.metrics();
    expect(value(out, `canaryd_analysis_verdicts_total{${P},check="success-rate",verdict="fail"}`)).toBe(1);
    expect(value(out, `canaryd_analysis_verdicts_total{${P},check="success-rate",verdict="pass"}`)).toBe(0);
  });

  it('a check added to the spec gets its series; one removed (and no longer measured) loses them', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.observeRelease('shop', 'checkout', status({ activeSpec: checks('success-rate') }));
    metrics.observeRelease('shop', 'checkout', status({ activeSpec: checks('latency') }));
    const out = await metrics.registry.metrics();
    expect(value(out, `canaryd_analysis_verdicts_total{${P},check="latency",verdict="fail"}`)).toBe(0);
    expect(out).not.toContain('check="success-rate"');
  });

  it('a deleted policy loses every series, the zeroed ones included', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.observeRelease('shop', 'checkout', status({ activeSpec: checks('success-rate') }));
    metrics.forgetPolicy('shop', 'checkout');
    expect(await metrics.registry.metrics()).not.toContain('policy="checkout"');
  });

  it('release durations are by namespace: a second policy does not reset them, its last policy takes them', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const count = async () =>
      value(
        await metrics.registry.metrics(),
        'canaryd_release_duration_seconds_count{namespace="shop",outcome="succeeded"}',
      );
    metrics.observeRelease('shop', 'checkout', status());
    metrics.observeRelease(
      'shop',
      'checkout',
      status({
        phase: 'succeeded',
        release: {
          history: [
            { revision: 2, startedAt: '2026-03-01T10:00:00Z', endedAt: '2026-03-01T10:30:00Z', outcome: 'succeeded' },
          ],
        },
      }),
    );
    // The namespace's second policy, seen for the first time, leaves the recorded release alone.
    metrics.observeRelease('shop', 'cart', status());
    expect(await count()).toBe(1);
    metrics.forgetPolicy('shop', 'checkout');
    expect(await count()).toBe(1);
    metrics.forgetPolicy('shop', 'cart');
    expect(await count()).toBeUndefined();
    expect(await metrics.registry.metrics()).not.toContain('canaryd_release_duration_seconds_count{');
  });

  it('the controller’s own: reconcile and query durations by result, query errors by every code', async () => {
    const out = await createMetrics({ defaultMetrics: false }).registry.metrics();
    for (const result of ['success', 'error']) {
      expect(value(out, `canaryd_reconcile_duration_seconds_count{result="${result}"}`)).toBe(0);
      expect(value(out, `canaryd_prometheus_query_duration_seconds_count{result="${result}"}`)).toBe(0);
    }
    for (const code of [...Object.keys(METRIC_QUERY_ERROR_CODES), 'unknown']) {
      expect(value(out, `canaryd_prometheus_query_errors_total{code="${code}"}`)).toBe(0);
    }
  });

  it('per configured notification receiver: sent, failed, dropped by reason and queued', async () => {
    const registry = new Registry();
    const url = (key: string) => ({ secretKeyRef: { namespace: 'canaryd-system', name: 'notify', key } });
    const settings = notificationSettings.parse({
      receivers: [
        { name: 'audit', type: 'webhook', url: url('audit') },
        { name: 'chat', type: 'webhook', url: url('chat') },
      ],
    });
    new Notifier(settings, {
      secrets: { value: async () => 'unused' },
      events: { record: async () => undefined },
      metrics: notifyMetrics(registry),
      log: { info: () => undefined, warn: () => undefined },
    });
    const out = await registry.metrics();
    for (const receiver of ['audit', 'chat']) {
      expect(value(out, `canaryd_notifications_sent_total{receiver="${receiver}"}`)).toBe(0);
      expect(value(out, `canaryd_notifications_failed_total{receiver="${receiver}"}`)).toBe(0);
      for (const reason of ['queueFull', 'deadline', 'rejected']) {
        expect(value(out, `canaryd_notifications_dropped_total{receiver="${receiver}",reason="${reason}"}`)).toBe(0);
      }
      expect(value(out, `canaryd_notifications_queued{receiver="${receiver}"}`)).toBe(0);
    }
  });
});
