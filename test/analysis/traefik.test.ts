import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AnalysisTarget } from '../../src/analysis/builtin.ts';
import { BUILTIN_QUERIES } from '../../src/analysis/data-plane.ts';
import { evaluateCheck } from '../../src/analysis/evaluate.ts';
import type { MetricProvider, QueryResult } from '../../src/analysis/provider.ts';
import {
  traefikCanaryRequestsQuery,
  traefikGatewayMatchers,
  traefikIngressNginxMatchers,
  traefikLatencyQuery,
  traefikNormalize,
  traefikSuccessRateQuery,
} from '../../src/analysis/traefik.ts';
import { checkSpec } from '../../src/policy/schema.ts';
import * as q from './builtin-queries.ts';

const { target, gatewayTarget } = q;

/** The regular expressions of a query's `service=~"…"` / `service!~"…"` matchers, unquoted. */
function serviceMatchers(query: string): { positive: RegExp[]; negative: RegExp[] } {
  const positive: RegExp[] = [];
  const negative: RegExp[] = [];
  for (const match of query.matchAll(/service(=~|!~)("(?:[^"\\]|\\.)*")/g)) {
    // PromQL double-quoted strings unescape like JSON for what canaryd writes; RE2 matchers are anchored.
    const regex = new RegExp(`^(?:${JSON.parse(match[2]!) as string})$`, 'u');
    (match[1] === '=~' ? positive : negative).push(regex);
  }
  return { positive, negative };
}

/** Does a series with this `service` label fall under the query's matchers? */
function selects(query: string, service: string): boolean {
  const { positive, negative } = serviceMatchers(query);
  return positive.every((regex) => regex.test(service)) && !negative.some((regex) => regex.test(service));
}

describe("built-in queries on Traefik's metrics, ingress-nginx provider", () => {
  it('measures success rate, latency and sample of the canary and stable backends', () => {
    expect(traefikSuccessRateQuery(target, 'canary', q.FROM_MS)).toBe(q.TRAEFIK_SUCCESS_RATE_CANARY);
    expect(traefikSuccessRateQuery(target, 'stable', q.FROM_MS)).toBe(q.TRAEFIK_SUCCESS_RATE_STABLE);
    expect(traefikLatencyQuery(target, 'canary', q.FROM_MS, 0.99)).toBe(q.TRAEFIK_LATENCY_CANARY);
    expect(traefikLatencyQuery(target, 'stable', q.FROM_MS, 0.99)).toBe(q.TRAEFIK_LATENCY_STABLE);
    expect(traefikCanaryRequestsQuery(target, q.FROM_MS)).toBe(q.TRAEFIK_CANARY_REQUESTS);
    expect(traefikLatencyQuery(target, 'canary', q.FROM_MS, 0.5)).toContain('histogram_quantile(0.5,');
  });

  it("selects exactly the backends Traefik names for the Ingress' paths, port by number or by name", () => {
    const canary = traefikCanaryRequestsQuery(target, q.FROM_MS);
    const stable = traefikSuccessRateQuery(target, 'stable', q.FROM_MS);
    for (const port of ['80', 'http', 'http-web']) {
      expect(selects(canary, `shop-web-web-${port}-canary@kubernetesingressnginx`)).toBe(true);
      expect(selects(stable, `shop-web-web-${port}-canary@kubernetesingressnginx`)).toBe(false);
      expect(selects(stable, `shop-web-web-${port}@kubernetesingressnginx`)).toBe(true);
      expect(selects(canary, `shop-web-web-${port}@kubernetesingressnginx`)).toBe(false);
      // the weighted pair Traefik puts in front of both is neither
      expect(selects(stable, `shop-web-web-${port}-wrr@kubernetesingressnginx`)).toBe(false);
      expect(selects(canary, `shop-web-web-${port}-wrr@kubernetesingressnginx`)).toBe(false);
    }
    // another namespace, Ingress, Service or provider is not this release
    for (const other of [
      'prod-web-web-80-canary@kubernetesingressnginx',
      'shop-api-web-80-canary@kubernetesingressnginx',
      'shop-web-web-80-canary@kubernetescrd',
      'xshop-web-web-80-canary@kubernetesingressnginx',
    ]) {
      expect(selects(canary, other)).toBe(false);
    }
  });

  it("matches every Ingress of the release, with names normalized as Traefik does ('.' becomes '-')", () => {
    const two: AnalysisTarget = { ...target, ingresses: ['web', 'web.admin'] };
    expect(traefikIngressNginxMatchers(two, 'canary')).toBe(
      'service=~"(?:shop-web-web|shop-web-admin-web)-[^@]+-canary@kubernetesingressnginx"',
    );
    const query = traefikCanaryRequestsQuery(two, q.FROM_MS);
    expect(selects(query, 'shop-web-admin-web-80-canary@kubernetesingressnginx')).toBe(true);
    expect(selects(query, 'shop-web-web-80-canary@kubernetesingressnginx')).toBe(true);
  });

  it('keeps hostile names inside their matchers', () => {
    const hostile: AnalysisTarget = { ...target, namespace: 'a"} or vector(1) #', service: 's\\".*' };
    // Traefik's own normalization leaves letters and digits only; escaping still applies.
    expect(traefikIngressNginxMatchers(hostile, 'canary')).toBe(
      'service=~"a-or-vector-1-web-s-[^@]+-canary@kubernetesingressnginx"',
    );
  });
});

describe("built-in queries on Traefik's metrics, Gateway API provider", () => {
  it('measures the canary and stable backendRefs of the HTTPRoute', () => {
    expect(traefikSuccessRateQuery(gatewayTarget, 'canary', q.FROM_MS)).toBe(q.TRAEFIK_GATEWAY_SUCCESS_RATE_CANARY);
    expect(traefikSuccessRateQuery(gatewayTarget, 'stable', q.FROM_MS)).toBe(q.TRAEFIK_GATEWAY_SUCCESS_RATE_STABLE);
    expect(traefikLatencyQuery(gatewayTarget, 'canary', q.FROM_MS, 0.99)).toBe(q.TRAEFIK_GATEWAY_LATENCY_CANARY);
    expect(traefikCanaryRequestsQuery(gatewayTarget, q.FROM_MS)).toBe(q.TRAEFIK_GATEWAY_CANARY_REQUESTS);
  });

  it('selects exactly the backendRefs Traefik names (router, "-svc-", namespace, Service, index)', () => {
    const router = 'httproute-shop-web-gw-infra-edge-ep-web-0-1c0cf64bde';
    const canary = traefikCanaryRequestsQuery(gatewayTarget, q.FROM_MS);
    const stable = traefikSuccessRateQuery(gatewayTarget, 'stable', q.FROM_MS);
    expect(selects(canary, `${router}-svc-shop-web-canary-1@kubernetesgateway`)).toBe(true);
    expect(selects(stable, `${router}-svc-shop-web-canary-1@kubernetesgateway`)).toBe(false);
    expect(selects(stable, `${router}-svc-shop-web-0@kubernetesgateway`)).toBe(true);
    expect(selects(canary, `${router}-svc-shop-web-0@kubernetesgateway`)).toBe(false);
    expect(selects(stable, `${router}-wrr@kubernetesgateway`)).toBe(false);
    expect(selects(canary, `${router}-wrr@kubernetesgateway`)).toBe(false);
    // another HTTPRoute, namespace or Service
    expect(
      selects(stable, 'httproute-shop-api-gw-infra-edge-ep-web-0-1c0cf64bde-svc-shop-web-0@kubernetesgateway'),
    ).toBe(false);
    expect(selects(stable, `${router}-svc-prod-web-0@kubernetesgateway`)).toBe(false);
    expect(selects(stable, `${router}-svc-shop-api-0@kubernetesgateway`)).toBe(false);
  });

  it('uses the canary Service it is given, and any HTTPRoute when none is named', () => {
    expect(traefikGatewayMatchers({ ...gatewayTarget, canaryService: 'web-next' }, 'canary')).toBe(
      'service=~"httproute-shop-web-gw-.+-svc-shop-web-next-[0-9]+@kubernetesgateway"',
    );
    expect(traefikGatewayMatchers({ ...gatewayTarget, httpRoutes: [] }, 'stable')).toBe(
      'service=~"httproute-.+-svc-shop-web-[0-9]+@kubernetesgateway"',
    );
  });

  it('keeps hostile names inside their matchers: escaped for the regex, then for the string', () => {
    const hostile: AnalysisTarget = { ...gatewayTarget, service: 'web.+|"} or vector(1)' };
    expect(traefikGatewayMatchers(hostile, 'stable')).toBe(
      'service=~"httproute-shop-web-gw-.+-svc-shop-web\\\\.\\\\+\\\\|\\"\\\\} or vector\\\\(1\\\\)-[0-9]+@kubernetesgateway"',
    );
    const query = traefikSuccessRateQuery(hostile, 'stable', q.FROM_MS);
    expect(selects(query, 'httproute-shop-web-gw-g-ep-e-0-ab-svc-shop-web.+|"} or vector(1)-0@kubernetesgateway')).toBe(
      true,
    );
    expect(selects(query, 'httproute-shop-web-gw-g-ep-e-0-ab-svc-shop-webxx-0@kubernetesgateway')).toBe(false);
  });
});

describe('Traefik name normalization', () => {
  it.each([
    ['shop-web.admin-web', 'shop-web-admin-web'],
    ['a--b..c', 'a-b-c'],
    ['-x-', 'x'],
    ['ns-ünï-1', 'ns-ünï-1'],
  ])('%s -> %s', (name, normalized) => {
    expect(traefikNormalize(name)).toBe(normalized);
  });
});

describe('the queries are valid PromQL (promtool check rules)', () => {
  it('parses every built-in query of both data planes, hostile names included', () => {
    const hostile: AnalysisTarget = {
      ...target,
      namespace: 'a"} or vector(1) #',
      service: 'web.+|\\"`',
      ingresses: ['web', 'web.admin'],
    };
    const targets = [target, gatewayTarget, hostile, { ...hostile, ingresses: [], httpRoutes: ['r.1', 'r2'] }];
    const expressions: string[] = [];
    for (const metrics of ['ingress-nginx', 'traefik'] as const) {
      const queries = BUILTIN_QUERIES[metrics];
      for (const t of metrics === 'ingress-nginx' ? [target, hostile] : targets) {
        for (const track of ['canary', 'stable'] as const) {
          expressions.push(queries.successRate(t, track, q.FROM_MS), queries.latency(t, track, q.FROM_MS, 0.95));
        }
        expressions.push(queries.canaryRequests(t, q.FROM_MS));
      }
    }
    const dir = mkdtempSync(join(tmpdir(), 'canaryd-promql-'));
    try {
      const file = join(dir, 'rules.yaml');
      const rules = expressions.map((expr, index) => ({ record: `canaryd:builtin_${index}`, expr }));
      // JSON is YAML: every expression stays one quoted scalar.
      writeFileSync(file, JSON.stringify({ groups: [{ name: 'canaryd-builtin', rules }] }));
      const output = execFileSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
      expect(output).toContain(`SUCCESS: ${expressions.length} rules found`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('evaluating a built-in check on Traefik metrics', () => {
  const at = new Date('2026-03-01T12:00:00Z');
  const value = (v: number): QueryResult => ({ kind: 'value', value: v, at });

  it('runs the Traefik queries when spec.analysis.metrics is traefik', async () => {
    const seen: string[] = [];
    const provider: MetricProvider = {
      async query(promql) {
        seen.push(promql);
        return promql.startsWith('sum(') ? value(800) : value(80);
      },
    };
    const check = checkSpec.parse({ name: 'errors', type: 'successRate', min: 99 });
    const m = await evaluateCheck(check, provider, { target, windowMs: 60_000, now: at, metrics: 'traefik' });
    expect(seen.sort()).toEqual([q.TRAEFIK_CANARY_REQUESTS, q.TRAEFIK_SUCCESS_RATE_CANARY].sort());
    expect(m).toMatchObject({ verdict: 'fail', value: 80, sample: 800, query: q.TRAEFIK_SUCCESS_RATE_CANARY });
  });

  it('is inconclusive, without a query, when neither an Ingress nor an HTTPRoute carries the traffic', async () => {
    const provider: MetricProvider = {
      async query() {
        throw new Error('no query expected');
      },
    };
    const check = checkSpec.parse({ name: 'errors', type: 'successRate' });
    const m = await evaluateCheck(check, provider, {
      target: { ...target, ingresses: [] },
      windowMs: 60_000,
      now: at,
      metrics: 'traefik',
    });
    expect(m).toMatchObject({
      verdict: 'inconclusive',
      reason:
        "built-in successRate check on Traefik's metrics needs an Ingress or an HTTPRoute in front of the Service; there is none",
    });
  });
});
