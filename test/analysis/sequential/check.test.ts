// A sequential check against a fake MetricProvider (canaryd's own port): the count queries it
// sends, how it carries its evidence from round to round, and what the round counters make of it.
import { describe, expect, it } from 'vitest';
import type { AnalysisTarget } from '../../../src/analysis/builtin.ts';
import { decide, INITIAL_COUNTERS, recordRound } from '../../../src/analysis/decide.ts';
import { evaluateCheck, type RoundContext } from '../../../src/analysis/evaluate.ts';
import { appendMeasurements } from '../../../src/analysis/log.ts';
import type { MetricProvider, QueryResult } from '../../../src/analysis/provider.ts';
import { EMPTY_RATIO, foldInterval } from '../../../src/analysis/sequential/index.ts';
import { bucketMatcher, builtinCountQueries } from '../../../src/analysis/sequential-queries.ts';
import { analysisSpec, type CheckSpec, checkSpec } from '../../../src/policy/schema.ts';

const t0 = new Date('2026-03-01T12:00:00Z');
const later = (seconds: number) => new Date(t0.getTime() + seconds * 1000);
const target: AnalysisTarget = {
  namespace: 'shop',
  deployment: 'web',
  canary: 'web-canary',
  service: 'web',
  ingresses: ['web'],
};
const value = (v: number): QueryResult => ({ kind: 'value', value: v, at: t0 });

/** Answers by track (canary/stable) and kind (failed/total), records the queries. */
function counts(answers: { canary: [number, number]; stable: [number, number] }): MetricProvider & { seen: string[] } {
  const seen: string[] = [];
  return {
    seen,
    async query(promql) {
      seen.push(promql);
      const track = promql.includes('-canary@') ? answers.canary : answers.stable;
      return value(promql.includes('code=~"5.."') ? track[0] : track[1]);
    },
  };
}

const sequential = (fields: Partial<CheckSpec> = {}): CheckSpec =>
  checkSpec.parse({ name: 'errors', type: 'sequential', ...fields });
const context = (now: Date, evidence?: RoundContext['evidence']): RoundContext => ({
  target,
  windowMs: 60_000,
  intervalMs: 30_000,
  now,
  metrics: 'traefik',
  evidence,
});

describe('the count queries', () => {
  it('counts 5xx and all requests per track exactly since the evidence start, a new series whole', () => {
    const q = builtinCountQueries({}, target, 1_700_000_000_000, 'traefik');
    const failed = q.canary.total.match(
      /^sum\(\((traefik_service_requests_total\{[^}]*-canary@kubernetesingressnginx")\}/,
    )?.[1];
    expect(failed).toBeDefined();
    const series = `${failed},code=~"5.."}`;
    expect(q.canary.failed).toBe(`sum((${series} - ${series} @ 1700000000.000 >= 0 or ${series}))`);
    expect(q.stable.total).toContain('service!~');
    const nginx = builtinCountQueries({}, target, 1_700_000_000_000, 'ingress-nginx');
    expect(nginx.canary.failed).toContain('canary!=""');
    expect(nginx.canary.failed).toContain('status=~"5.."');
  });

  it('counts requests within the slowerThan bucket for latency, either spelling of a whole bound', () => {
    const q = builtinCountQueries({ metric: 'latency', slowerThan: 0.25 }, target, 1_700_000_000_000, 'traefik');
    expect(q.canary.total).toContain('traefik_service_request_duration_seconds_count');
    expect(q.canary.fast).toContain('le=~"0\\\\.25"');
    expect(bucketMatcher(1)).toBe('le=~"1|1\\\\.0"');
  });
});

describe('a sequential check round by round', () => {
  it('starts its evidence one interval back, then keeps that start and widens the range', async () => {
    const provider = counts({ canary: [1, 300], stable: [30, 30_000] });
    const first = await evaluateCheck(sequential(), provider, context(t0));
    expect(first.sequential?.since).toBe(later(-30).toISOString());
    expect(provider.seen[0]).toContain(`@ ${(later(-30).getTime() / 1000).toFixed(3)}`);
    expect(first.verdict).toBe('inconclusive');
    expect(first.sequential?.outcome).toBe('undecided');
    const again = counts({ canary: [2, 600], stable: [60, 60_000] });
    const second = await evaluateCheck(sequential(), again, context(later(30), { errors: first.sequential! }));
    expect(second.sequential?.since).toBe(first.sequential?.since);
    // the same start, so the same series difference now spans 60 s
    expect(again.seen[0]).toContain(`@ ${(later(-30).getTime() / 1000).toFixed(3)}`);
    expect(second.sequential?.canary).toEqual({ failed: 2, total: 600 });
  });

  it('never starts its evidence before the release began (the previous canary counted under the same name)', async () => {
    const provider = counts({ canary: [0, 100], stable: [10, 10_000] });
    const round = await evaluateCheck(sequential(), provider, { ...context(t0), releaseStartedAt: later(-10) });
    expect(round.sequential?.since).toBe(later(-10).toISOString());
    expect(provider.seen[0]).toContain(`@ ${(later(-10).getTime() / 1000).toFixed(3)}`);
  });

  it('fails on a proven regression and says by how much', async () => {
    const m = await evaluateCheck(sequential(), counts({ canary: [60, 2000], stable: [40, 40_000] }), context(t0));
    expect(m.verdict).toBe('fail');
    expect(m.sequential?.outcome).toBe('regression');
    expect(m.reason).toContain('canary 3 % (60/2000) vs stable 0.1 % (40/40000)');
    expect(m.reason).toContain('regression beyond delta proven 0.1');
    expect(m.value).toBe(3);
  });

  it('passes once no regression beyond delta is proven', async () => {
    const m = await evaluateCheck(
      sequential({ delta: 1, advanceOnEvidence: true }),
      counts({ canary: [5, 20_000], stable: [50, 200_000] }),
      context(t0),
    );
    expect(m.verdict).toBe('pass');
    expect(m.sequential).toMatchObject({ outcome: 'no-regression', delta: 1, alpha: 0.05, advanceOnEvidence: true });
  });

  it('keeps the earlier, larger counts when Prometheus suddenly counts fewer requests', async () => {
    const first = await evaluateCheck(sequential(), counts({ canary: [1, 300], stable: [30, 30_000] }), context(t0));
    const after = await evaluateCheck(
      sequential(),
      counts({ canary: [0, 10], stable: [0, 100] }),
      context(later(30), { errors: first.sequential! }),
    );
    expect(after.sequential?.canary).toEqual({ failed: 1, total: 300 });
    expect(after.sequential?.ratioTest).toEqual(first.sequential?.ratioTest);
    expect(after.reason).toContain('the earlier counts are kept');
  });

  it('feeds the two-sample test only what was counted since the previous look', async () => {
    const first = await evaluateCheck(sequential(), counts({ canary: [1, 300], stable: [30, 30_000] }), context(t0));
    const second = await evaluateCheck(
      sequential(),
      counts({ canary: [5, 1800], stable: [58, 58_500] }),
      context(later(30), { errors: first.sequential! }),
    );
    const expected = foldInterval(
      foldInterval(EMPTY_RATIO, { failed: 1, total: 300 }, { failed: 30, total: 30_000 }),
      { failed: 4, total: 1500 },
      { failed: 28, total: 28_500 },
    );
    expect(second.sequential?.ratioTest?.looks).toBe(2);
    second.sequential?.ratioTest?.logLikelihood.forEach((l, j) => {
      expect(l).toBeCloseTo(expected.logLikelihood[j]!, 8);
    });
    expect(second.reason).toMatch(/canary ÷ stable in \[[\d.]+, [\d.∞]+\]/);
  });

  it('continues evidence written before the two-sample test existed as one interval', async () => {
    const first = await evaluateCheck(sequential(), counts({ canary: [1, 300], stable: [30, 30_000] }), context(t0));
    const { ratioTest: _, ...older } = first.sequential!;
    const next = await evaluateCheck(
      sequential(),
      counts({ canary: [5, 1800], stable: [58, 58_500] }),
      context(later(30), { errors: older }),
    );
    const whole = foldInterval(EMPTY_RATIO, { failed: 5, total: 1800 }, { failed: 58, total: 58_500 });
    expect(next.sequential?.ratioTest?.looks).toBe(1);
    next.sequential?.ratioTest?.logLikelihood.forEach((l, j) => {
      expect(l).toBeCloseTo(whole.logLikelihood[j]!, 8);
    });
  });

  it('keeps the test state in the round counters and out of the measurement log', async () => {
    const m = await evaluateCheck(sequential(), counts({ canary: [1, 300], stable: [30, 30_000] }), context(t0));
    expect(recordRound(INITIAL_COUNTERS, [m], t0).sequential?.errors?.ratioTest?.looks).toBe(1);
    const [logged] = appendMeasurements([], [m]);
    expect(logged?.sequential?.ratioTest).toBeUndefined();
    expect(logged?.sequential?.ratio).toEqual(m.sequential?.ratio);
  });

  it('keeps the earlier counts when new failures outnumber new requests (extrapolated custom counts)', async () => {
    const first = await evaluateCheck(sequential(), counts({ canary: [1, 300], stable: [30, 30_000] }), context(t0));
    const after = await evaluateCheck(
      sequential(),
      counts({ canary: [5, 302], stable: [31, 31_000] }),
      context(later(30), { errors: first.sequential! }),
    );
    expect(after.sequential?.canary).toEqual({ failed: 1, total: 300 });
    expect(after.sequential?.ratioTest?.looks).toBe(1);
    expect(after.reason).toContain('the earlier counts are kept');
  });

  it('is inconclusive, without new evidence, when a count query fails', async () => {
    const provider: MetricProvider = {
      async query() {
        throw new Error('connection refused');
      },
    };
    const m = await evaluateCheck(sequential(), provider, context(t0));
    expect(m.verdict).toBe('inconclusive');
    expect(m.sequential).toBeUndefined();
    expect(m.reason).toContain('connection refused');
  });

  it('names a slowerThan that is no bucket bound', async () => {
    const provider: MetricProvider = {
      async query(promql) {
        return promql.includes('le=~') ? { kind: 'empty' } : value(100);
      },
    };
    const m = await evaluateCheck(sequential({ metric: 'latency', slowerThan: 0.2 }), provider, context(t0));
    expect(m.verdict).toBe('inconclusive');
    expect(m.reason).toContain('slowerThan must be a bucket bound');
  });

  it('renders custom count queries with {{interval}} as the evidence range', async () => {
    const provider = counts({ canary: [0, 0], stable: [0, 0] });
    await evaluateCheck(
      sequential({
        counts: {
          canaryFailed: 'sum(increase(app_errors{track="canary"}[{{interval}}]))',
          canaryTotal: 'sum(increase(app_requests{track="canary"}[{{interval}}]))',
          stableFailed: 'sum(increase(app_errors{track="stable"}[{{interval}}]))',
          stableTotal: 'sum(increase(app_requests{track="stable"}[{{interval}}]))',
        },
      }),
      provider,
      context(t0),
    );
    expect(provider.seen).toContain('sum(increase(app_errors{track="canary"}[30s]))');
  });
});

describe('sequential evidence in the round counters and decisions', () => {
  const spec = analysisSpec.parse({ checks: [{ name: 'errors', type: 'sequential', advanceOnEvidence: true }] });
  const decideAt = (counters: ReturnType<typeof recordRound>, now: Date) =>
    decide(spec, counters, { now, stepStartedAt: t0 });

  it('gathering evidence is undecided, not missing data: it never reaches inconclusiveLimit', async () => {
    let counters = INITIAL_COUNTERS;
    for (let i = 1; i <= 10; i++) {
      const m = await evaluateCheck(
        spec.checks[0]!,
        counts({ canary: [0, 10 * i], stable: [1, 1000 * i] }),
        context(later(30 * i)),
      );
      counters = recordRound(counters, [m], later(30 * i));
    }
    expect(counters.consecutiveInconclusiveRounds).toBe(0);
    expect(counters.sequential?.errors?.canary.total).toBe(100);
    expect(decideAt(counters, later(300)).action).toBe('undecided');
  });

  it('a proven regression rolls back at once, whatever failureLimit', async () => {
    const m = await evaluateCheck(
      spec.checks[0]!,
      counts({ canary: [60, 2000], stable: [40, 40_000] }),
      context(later(30)),
    );
    const counters = recordRound(INITIAL_COUNTERS, [m], later(30));
    const decision = decideAt(counters, later(30));
    expect(decision.action).toBe('rollback');
    expect(decision.reason).toContain('sequential check errors proved a regression');
  });

  it('proven healthy with advanceOnEvidence lets the step end now', async () => {
    const m = await evaluateCheck(
      checkSpec.parse({ name: 'errors', type: 'sequential', advanceOnEvidence: true, delta: 1 }),
      counts({ canary: [5, 20_000], stable: [50, 200_000] }),
      context(later(30)),
    );
    const counters = recordRound(INITIAL_COUNTERS, [m], later(30));
    expect(decideAt(counters, later(30)).action).toBe('advance-now');
  });

  it('a guard (delta 0, holdWhileUndecided: false) passes while undecided: the step advances on its hold', async () => {
    const guardSpec = analysisSpec.parse({
      checks: [{ name: 'errors', type: 'sequential', delta: 0, holdWhileUndecided: false }],
    });
    const m = await evaluateCheck(
      guardSpec.checks[0]!,
      counts({ canary: [1, 300], stable: [30, 30_000] }),
      context(later(30)),
    );
    expect(m.sequential?.outcome).toBe('undecided');
    expect(m.verdict).toBe('pass');
    expect(m.reason).toContain('the step is not held');
    const counters = recordRound(INITIAL_COUNTERS, [m], later(30));
    expect(decide(guardSpec, counters, { now: later(30), stepStartedAt: t0 }).action).toBe('advance-allowed');
  });

  it('a guard rolls back a proven regression at once', async () => {
    const guard = checkSpec.parse({ name: 'errors', type: 'sequential', delta: 0, holdWhileUndecided: false });
    // 0.1 % vs 0.5 % at 5 % weight, about 17 minutes of 100 requests/s.
    const m = await evaluateCheck(guard, counts({ canary: [26, 5100], stable: [97, 96_900] }), context(later(30)));
    expect(m.sequential?.outcome).toBe('regression');
    expect(m.sequential?.ratio.lower).toBeGreaterThan(1);
    const counters = recordRound(INITIAL_COUNTERS, [m], later(30));
    expect(decideAt(counters, later(30)).action).toBe('rollback');
  });

  it('a guard beside an advancing check does not stand in the way of the early advance; a gate does', async () => {
    const both = (extra: object) =>
      analysisSpec.parse({
        checks: [
          { name: 'errors', type: 'sequential', delta: 1, advanceOnEvidence: true },
          { name: 'other', type: 'sequential', ...extra },
        ],
      });
    const healthy = counts({ canary: [5, 20_000], stable: [50, 200_000] });
    for (const [extra, expected] of [
      [{ delta: 0, holdWhileUndecided: false }, 'advance-now'],
      [{ delta: 1 }, 'advance-allowed'],
    ] as const) {
      const spec2 = both(extra);
      const round = await Promise.all(spec2.checks.map((c) => evaluateCheck(c, healthy, context(later(30)))));
      const counters = recordRound(INITIAL_COUNTERS, round, later(30));
      expect(decide(spec2, counters, { now: later(30), stepStartedAt: t0 }).action).toBe(expected);
    }
  });

  it('proven healthy without advanceOnEvidence waits for the hold like any passing round', async () => {
    const m = await evaluateCheck(
      checkSpec.parse({ name: 'errors', type: 'sequential', delta: 1 }),
      counts({ canary: [5, 20_000], stable: [50, 200_000] }),
      context(later(30)),
    );
    const counters = recordRound(INITIAL_COUNTERS, [m], later(30));
    expect(decideAt(counters, later(30)).action).toBe('advance-allowed');
  });
});
