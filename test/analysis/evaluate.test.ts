import { describe, expect, it } from 'vitest';
import type { AnalysisTarget } from '../../src/analysis/builtin.ts';
import { analysisWindowMs, evaluateCheck, evaluateRound, type RoundContext } from '../../src/analysis/evaluate.ts';
import { type MetricProvider, MetricQueryError, type QueryResult } from '../../src/analysis/provider.ts';
import { analysisSpec, type CheckSpec, checkSpec } from '../../src/policy/schema.ts';

const at = new Date('2026-03-01T12:00:00Z');
const target: AnalysisTarget = {
  namespace: 'shop',
  deployment: 'web',
  canary: 'web-canary',
  service: 'web',
  ingresses: ['web'],
  canaryHash: '6b9c4d',
};
const context: RoundContext = { target, windowMs: 120_000, now: at };
const value = (v: number): QueryResult => ({ kind: 'value', value: v, at });

/** A provider answering by the first rule whose needle the query contains; records every query. */
function fakeProvider(rules: [needle: string, answer: QueryResult | Error][]): MetricProvider & { seen: string[] } {
  const seen: string[] = [];
  return {
    seen,
    async query(promql) {
      seen.push(promql);
      // A needle starting with ^ matches the query's start (the sample query is `sum(…)`).
      const rule = rules.find(([needle]) =>
        needle.startsWith('^') ? promql.startsWith(needle.slice(1)) : promql.includes(needle),
      );
      if (rule === undefined) throw new Error(`unexpected query ${promql}`);
      if (rule[1] instanceof Error) throw rule[1];
      return rule[1];
    },
  };
}

const check = (fields: Partial<CheckSpec> & Pick<CheckSpec, 'type'>): CheckSpec =>
  checkSpec.parse({ name: 'error-rate', ...fields });

describe('evaluating a check against a metric provider', () => {
  it('measures a built-in success rate with its sample and stable figure', async () => {
    const provider = fakeProvider([
      ['^sum(', value(1200)],
      ['canary!=""', value(99.2)],
      ['canary=""', value(99.8)],
    ]);
    const m = await evaluateCheck(
      check({ type: 'successRate', relative: { maxBelow: 0.5 }, critical: true }),
      provider,
      context,
    );
    expect(m).toMatchObject({
      check: 'error-rate',
      critical: true,
      at: '2026-03-01T12:00:00.000Z',
      value: 99.2,
      stableValue: 99.8,
      sample: 1200,
      verdict: 'fail',
      reason: 'canary 99.2 is more than 0.5 below stable 99.8',
    });
    expect(m.query).toContain('canary!=""');
    // Counted from 2 minutes (the window) before the round.
    expect(m.query).toContain('@ 1772366280.000');
    expect(m.from).toBe('2026-03-01T11:58:00.000Z');
    expect(m.stableQuery).toContain('canary=""');
    expect(m.sampleQuery).toMatch(/^sum\(.*canary!="".*@ 1772366280\.000/);
    expect(provider.seen).toHaveLength(3);
    expect(JSON.parse(JSON.stringify(m))).toEqual(m);
  });

  it('does not ask for the stable figure when no threshold needs it', async () => {
    const provider = fakeProvider([
      ['^sum(', value(500)],
      ['histogram_quantile(0.95', value(0.12)],
    ]);
    const m = await evaluateCheck(check({ type: 'latency', quantile: 0.95, max: 0.3 }), provider, context);
    expect(m).toMatchObject({ verdict: 'pass', value: 0.12, sample: 500 });
    expect(m.stableQuery).toBeUndefined();
    expect(provider.seen).toHaveLength(2);
  });

  it('turns Prometheus being down into an inconclusive measurement that says why', async () => {
    const down = new MetricQueryError(
      'unreachable',
      'cannot reach Prometheus: ECONNREFUSED (query … at http://p:9090)',
    );
    const provider = fakeProvider([['', down]]);
    const m = await evaluateCheck(check({ type: 'successRate' }), provider, context);
    expect(m.verdict).toBe('inconclusive');
    expect(m.reason).toContain('ECONNREFUSED');
    // The failure code is named, as docs/analysis.md promises.
    expect(m.reason).toMatch(/failed: unreachable: cannot reach Prometheus/);
    expect(m.value).toBeNull();
  });

  it('survives a provider that throws something that is not an Error', async () => {
    const provider: MetricProvider = {
      query: () => Promise.reject('socket closed'),
    };
    const m = await evaluateCheck(check({ type: 'custom', query: 'x', max: 1 }), provider, context);
    expect(m).toMatchObject({ verdict: 'inconclusive', reason: 'canary query failed: socket closed' });
  });

  it('renders custom queries with the release variables and the window', async () => {
    const provider = fakeProvider([
      ['errors', value(0.01)],
      ['requests', value(300)],
    ]);
    const m = await evaluateCheck(
      check({
        type: 'custom',
        query: 'sum(rate(errors{pod=~"{{canary}}-{{canaryHash}}-.*"}[{{interval}}]))',
        sampleQuery: 'sum(increase(requests{namespace="{{namespace}}"}[{{interval}}]))',
        max: 0.05,
      }),
      provider,
      context,
    );
    expect(m).toMatchObject({ verdict: 'pass', value: 0.01, sample: 300 });
    expect(m.query).toBe('sum(rate(errors{pod=~"web-canary-6b9c4d-.*"}[120s]))');
    expect(m.sampleQuery).toBe('sum(increase(requests{namespace="shop"}[120s]))');
  });

  it('is inconclusive, without querying, when a custom query cannot be rendered', async () => {
    const provider = fakeProvider([]);
    const m = await evaluateCheck(
      check({ type: 'custom', query: 'x{pod=~".*{{stableHash}}"}', max: 1 }),
      provider,
      context,
    );
    expect(m.verdict).toBe('inconclusive');
    expect(m.reason).toBe('cannot build the query: {{stableHash}} is not known yet for this release');
    expect(provider.seen).toEqual([]);
  });

  it('is inconclusive, without querying, for a check that could never be judged', async () => {
    const provider = fakeProvider([]);
    const m = await evaluateCheck(check({ type: 'latency' }), provider, context);
    expect(m.verdict).toBe('inconclusive');
    expect(m.reason).toContain('needs min, max or relative thresholds');
    expect(provider.seen).toEqual([]);
  });

  it('is inconclusive for a built-in check when no Ingress splits the traffic', async () => {
    const m = await evaluateCheck(check({ type: 'successRate' }), fakeProvider([]), {
      ...context,
      target: { ...target, ingresses: [] },
    });
    expect(m).toMatchObject({
      verdict: 'inconclusive',
      reason: expect.stringContaining('needs an ingress-nginx Ingress'),
    });
  });

  it('passes the caller signal to every query', async () => {
    const signals: (AbortSignal | undefined)[] = [];
    const provider: MetricProvider = {
      async query(_promql, options) {
        signals.push(options?.signal);
        return value(100);
      },
    };
    const controller = new AbortController();
    await evaluateCheck(check({ type: 'successRate' }), provider, { ...context, signal: controller.signal });
    expect(signals).toEqual([controller.signal, controller.signal]);
  });
});

describe('an analysis round', () => {
  it('gives one measurement per check, in policy order', async () => {
    const spec = analysisSpec.parse({
      checks: [
        { name: 'success', type: 'successRate' },
        { name: 'p99', type: 'latency', max: 0.5 },
      ],
    });
    const provider = fakeProvider([
      ['^sum(', value(100)],
      ['histogram_quantile', value(0.9)],
      ['status!~', value(100)],
    ]);
    const round = await evaluateRound(spec, provider, context);
    expect(round.map((m) => [m.check, m.verdict])).toEqual([
      ['success', 'pass'],
      ['p99', 'fail'],
    ]);
  });

  it('derives the window from the interval, at least one minute, unless set', () => {
    expect(analysisWindowMs({ interval: '30s', window: undefined })).toBe(60_000);
    expect(analysisWindowMs({ interval: '2m', window: undefined })).toBe(120_000);
    expect(analysisWindowMs({ interval: '30s', window: '45s' })).toBe(45_000);
  });
});

describe('the span a round counts (issue 11: a reused canary backend carries old errors)', () => {
  const provider = () =>
    fakeProvider([
      ['^sum(', value(400)],
      ['errors', value(0.01)],
      ['requests', value(300)],
      ['status!~', value(99.5)],
    ]);

  it('counts the built-in checks from the step start when the window reaches back before it', async () => {
    const p = provider();
    const m = await evaluateCheck(check({ type: 'successRate' }), p, {
      ...context,
      releaseStartedAt: new Date('2026-03-01T11:59:00Z'),
      stepStartedAt: new Date('2026-03-01T11:59:30Z'),
    });
    expect(m).toMatchObject({ verdict: 'pass', from: '2026-03-01T11:59:30.000Z', sample: 400 });
    for (const query of p.seen) expect(query).toContain('@ 1772366370.000');
  });

  it('gives custom queries the capped span as {{interval}}', async () => {
    const m = await evaluateCheck(
      check({
        type: 'custom',
        query: 'sum(rate(errors[{{interval}}]))',
        sampleQuery: 'sum(increase(requests[{{interval}}]))',
        max: 0.05,
      }),
      provider(),
      { ...context, releaseStartedAt: new Date('2026-03-01T11:59:15Z') },
    );
    expect(m.query).toBe('sum(rate(errors[45s]))');
    expect(m.sampleQuery).toBe('sum(increase(requests[45s]))');
  });

  it('evaluates every query at the round instant', async () => {
    const instants: (Date | undefined)[] = [];
    const recording: MetricProvider = {
      async query(_promql, options) {
        instants.push(options?.at);
        return value(100);
      },
    };
    await evaluateCheck(check({ type: 'successRate' }), recording, context);
    expect(instants).toEqual([at, at]);
  });

  it('is inconclusive, without querying, when the step started less than a second ago', async () => {
    const p = provider();
    const m = await evaluateCheck(check({ type: 'successRate' }), p, {
      ...context,
      stepStartedAt: new Date(at.getTime() - 400),
    });
    expect(m.verdict).toBe('inconclusive');
    expect(m.reason).toBe('nothing to count yet: the step start was 400 ms ago; a round needs at least 1000 ms of it');
    expect(p.seen).toEqual([]);
  });
});
