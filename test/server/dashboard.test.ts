// The dashboard's server side through inject(): whoami, charts, events, ETags, the static files
// and the same authentication and RBAC as the rest of /api. Prometheus is a fake range-query port.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics/index.ts';
import type { DashboardReader } from '../../src/server/dashboard-kube.ts';
import { build, releaseReaderOf, type UserInfo } from '../../src/server/index.ts';
import { chartPlan, chartSpan, seriesOf } from '../../src/server/series.ts';
import { measurement, policyObject, runningRelease, runningStatus } from './fixtures.ts';

const NOW = new Date('2026-03-01T10:06:30.000Z');
const alice: UserInfo = { username: 'alice', groups: ['sre'] };
const bob: UserInfo = { username: 'bob', groups: ['dev'] };

function app(options: { uiDir?: string | false } = {}) {
  const policies = [policyObject('checkout', 'shop', { status: runningStatus() })];
  const dashboard: DashboardReader = {
    charts: async (_namespace, name) =>
      name === 'checkout'
        ? seriesOf(
            chartPlan(
              [{ name: 'success-rate', type: 'successRate', critical: false, min: 0.99 } as never],
              [measurement()],
              runningRelease(),
              NOW,
            ),
            async () => [
              [1, 0.999],
              [2, 0.97],
            ],
          )
        : undefined,
    events: async () => [
      {
        type: 'Normal',
        reason: 'StepAdvanced',
        message: 'step 2/4',
        object: 'CanaryPolicy/checkout',
        count: 1,
        lastSeen: NOW.toISOString(),
      },
    ],
  };
  return build({
    releases: releaseReaderOf(
      () => policies,
      () => NOW,
    ),
    operations: { request: async () => {} },
    authenticator: { authenticate: async (token) => ({ 'alice-token': alice, 'bob-token': bob })[token] ?? null },
    // alice reads shop; bob reads nothing.
    authorizer: { allowed: async (user, _verb, namespace) => user.username === 'alice' && namespace === 'shop' },
    readiness: () => ({ ready: true, reason: 'test' }),
    registry: createMetrics({ defaultMetrics: false }).registry,
    dashboard,
    ...(options.uiDir === undefined ? {} : { uiDir: options.uiDir }),
  });
}

const auth = (token: string) => ({ authorization: `Bearer ${token}` });

describe('dashboard API', () => {
  it('whoami names the token holder and needs a token', async () => {
    const server = app({ uiDir: false });
    expect((await server.inject({ url: '/api/v1/whoami', headers: auth('bob-token') })).json()).toEqual({
      username: 'bob',
      groups: ['dev'],
    });
    expect((await server.inject({ url: '/api/v1/whoami' })).statusCode).toBe(401);
  });

  it('charts and events answer the person RBAC allows and refuse others with the reason', async () => {
    const server = app({ uiDir: false });
    const charts = await server.inject({
      url: '/api/v1/namespaces/shop/releases/checkout/charts',
      headers: auth('alice-token'),
    });
    expect(charts.statusCode).toBe(200);
    expect(charts.json().checks[0]).toMatchObject({
      name: 'success-rate',
      thresholds: { min: 0.99 },
      canary: [
        [1, 0.999],
        [2, 0.97],
      ],
    });
    const refused = await server.inject({
      url: '/api/v1/namespaces/shop/releases/checkout/events',
      headers: auth('bob-token'),
    });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().message).toBe('User "bob" cannot get canarypolicies/checkout.canaryd.dev in namespace shop.');
    const missing = await server.inject({
      url: '/api/v1/namespaces/shop/releases/nope/charts',
      headers: auth('alice-token'),
    });
    expect(missing.json().code).toBe('release-not-found');
  });

  it('an unchanged GET is a 304 for the same ETag', async () => {
    const server = app({ uiDir: false });
    const url = '/api/v1/namespaces/shop/releases/checkout';
    const first = await server.inject({ url, headers: auth('alice-token') });
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^W\/"/);
    const again = await server.inject({ url, headers: { ...auth('alice-token'), 'if-none-match': etag } });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
  });

  it('serves the built files under /ui with a CSP that allows nothing from elsewhere', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'canaryd-ui-'));
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'index.html'), '<!doctype html><div id="app"></div>');
    writeFileSync(join(dir, 'app.js'), 'console.log(1)');
    const server = app({ uiDir: dir });
    expect((await server.inject({ url: '/ui' })).headers.location).toBe('/ui/');
    const index = await server.inject({ url: '/ui/' });
    expect(index.statusCode).toBe(200);
    expect(index.headers['content-type']).toContain('text/html');
    expect(index.headers['content-security-policy']).toContain("default-src 'none'; script-src 'self'");
    expect((await server.inject({ url: '/ui/app.js' })).headers['content-type']).toContain('text/javascript');
    expect((await server.inject({ url: '/ui/../package.json' })).statusCode).toBe(404);
    expect((await server.inject({ url: '/ui/%2e%2e/%2e%2e/etc/passwd' })).statusCode).toBe(404);
    const unbuilt = app({ uiDir: join(dir, 'missing') });
    expect((await unbuilt.inject({ url: '/ui/' })).json().message).toMatch(/npm run build:ui/);
  });
});

describe('chart plan', () => {
  const check = {
    name: 'error-rate',
    type: 'custom',
    critical: true,
    query: 'q',
    relative: { maxAbove: 0.05 },
  } as never;

  it('charts the queries canaryd last measured, canary and stable, with the thresholds', async () => {
    const plan = chartPlan(
      [check],
      [
        measurement({ check: 'error-rate', query: 'old' }),
        measurement({ check: 'error-rate', query: 'canary q', stableQuery: 'stable q' }),
      ],
      runningRelease(),
      NOW,
    );
    expect(plan.checks[0]).toMatchObject({
      query: 'canary q',
      stableQuery: 'stable q',
      thresholds: { maxAbove: 0.05 },
    });
    const asked: string[] = [];
    const charts = await seriesOf(plan, async (query) => {
      asked.push(query);
      if (query === 'stable q') throw Object.assign(new Error('Prometheus down'), { code: 'unreachable' });
      return [[1, 0.01]];
    });
    expect(asked.sort()).toEqual(['canary q', 'stable q']);
    expect(charts.checks[0]).toMatchObject({ canary: [[1, 0.01]], error: 'unreachable: Prometheus down' });
  });

  it('a check not measured yet says so instead of querying', async () => {
    const charts = await seriesOf(chartPlan([check], [], runningRelease(), NOW), async () => {
      throw new Error('not called');
    });
    expect(charts.checks[0]?.error).toMatch(/not measured yet/);
  });

  it('spans the running release from a minute before it started, at most 240 points', () => {
    const span = chartSpan(runningRelease(), NOW);
    expect(span.start.toISOString()).toBe('2026-03-01T09:59:05.000Z');
    expect(span.end).toEqual(NOW);
    expect(span.stepSeconds).toBe(5);
    const long = chartSpan(runningRelease(), new Date('2026-03-01T20:00:00.000Z'));
    expect((long.end.getTime() - long.start.getTime()) / 1000 / long.stepSeconds).toBeLessThanOrEqual(240);
  });
});
