// A sequential check, one round: count canary and stable requests (and the failed or slow ones)
// over the whole range since the evidence started, and run the anytime-valid comparison
// (sequential/compare.ts) on those counts. The evidence (its start and the counts) is persisted
// with the analysis counters, so a restarted controller continues the same test.
import type { CheckSpec } from '../policy/schema.ts';
import { formatNumber, type Observation } from './checks.ts';
import type { Measurement, RoundContext } from './evaluate.ts';
import type { MetricProvider } from './provider.ts';
import {
  type Counts,
  compareRates,
  EMPTY_RATIO,
  foldInterval,
  type RatioEvidence,
  type SequentialOutcome,
  wholeCounts,
} from './sequential/index.ts';
import {
  builtinCountQueries,
  customCountQueries,
  type SequentialCountQueries,
  sequentialMetric,
  type TrackCountQueries,
} from './sequential-queries.ts';

/** Defaults of a sequential check (docs/analysis.md explains them). */
export const SEQUENTIAL_DEFAULTS = {
  alpha: 0.05,
  delta: { errorRate: 0.1, latency: 1 },
} as const;

/** What a sequential check knows after a round. Plain JSON-safe data (status). */
export interface SequentialEvidence {
  /** The start of the evidence: every count query covers [since, round]. */
  since: string;
  canary: Counts;
  stable: Counts;
  outcome: SequentialOutcome;
  /** Anytime-valid bounds on canary − stable, in percentage points. */
  difference: { lower: number; upper: number };
  /** Anytime-valid bounds on canary ÷ stable (the rates' ratio); null: unbounded above. */
  ratio: { lower: number; upper: number | null };
  /**
   * The two-sample test's state (sequential/ratio.ts): its log-likelihood on the ratio grid, fed
   * with each look's new counts. Kept in the round counters only, not in the measurement log.
   */
  ratioTest?: RatioEvidence;
  /** Percentage points. */
  delta: number;
  alpha: number;
  advanceOnEvidence: boolean;
  /** false: a guard, which never holds a step (absent from evidence written before the field existed). */
  holdWhileUndecided?: boolean;
}

export interface SequentialSettings {
  delta: number;
  alpha: number;
  advanceOnEvidence: boolean;
  holdWhileUndecided: boolean;
}

export function sequentialSettings(check: CheckSpec): SequentialSettings {
  return {
    delta: check.delta ?? SEQUENTIAL_DEFAULTS.delta[sequentialMetric(check)],
    alpha: check.alpha ?? SEQUENTIAL_DEFAULTS.alpha,
    advanceOnEvidence: check.advanceOnEvidence ?? false,
    holdWhileUndecided: check.holdWhileUndecided ?? true,
  };
}

type Observe = (query: string) => Promise<Observation>;

/** Counts over a longer range grow, and never by more failures than requests. */
const grew = (now: Counts, before: Counts) =>
  now.failed >= before.failed && now.total - before.total >= now.failed - before.failed;
const minus = (now: Counts, before: Counts): Counts => ({
  failed: now.failed - before.failed,
  total: now.total - before.total,
});

/**
 * The evidence after this look. The ratio test takes what was counted since the previous look as
 * one interval (a look with a failed query merges into the next; evidence from before the ratio
 * test existed enters as one interval). Counts over a longer range never shrink; when they do,
 * Prometheus lost samples (a restart without storage), or extrapolating custom queries
 * (increase()) disagree: the earlier look's evidence is kept, which stays valid, and the next
 * look that grows past it continues from there.
 */
export function nextLook(
  previous: SequentialEvidence | undefined,
  canary: Counts,
  stable: Counts,
): { canary: Counts; stable: Counts; ratioTest: RatioEvidence; kept: boolean } {
  if (previous === undefined) {
    return { canary, stable, ratioTest: compact(foldInterval(EMPTY_RATIO, canary, stable)), kept: false };
  }
  if (!grew(canary, previous.canary) || !grew(stable, previous.stable)) {
    const ratioTest = previous.ratioTest ?? foldInterval(EMPTY_RATIO, previous.canary, previous.stable);
    return { canary: previous.canary, stable: previous.stable, ratioTest, kept: true };
  }
  const ratioTest =
    previous.ratioTest === undefined
      ? foldInterval(EMPTY_RATIO, canary, stable)
      : foldInterval(previous.ratioTest, minus(canary, previous.canary), minus(stable, previous.stable));
  return { canary, stable, ratioTest: compact(ratioTest), kept: false };
}

/** Nine decimals of a log-likelihood keep the status short: per look, a factor of at most e^(1e-9) on the test. */
const compact = (evidence: RatioEvidence): RatioEvidence => ({
  looks: evidence.looks,
  logLikelihood: evidence.logLikelihood.map((v) => Math.round(v * 1e9) / 1e9),
});

/** A count from one answer: no series means nothing was counted; anything else is an error text. */
function countOf(observation: Observation, query: string): number | string {
  if (observation.kind === 'empty') return 0;
  if (observation.kind === 'value') return observation.value;
  const what = observation.kind === 'error' ? `failed: ${observation.message}` : `returned ${observation.kind}`;
  return `count query ${query} ${what}`;
}

async function countTrack(queries: TrackCountQueries, observe: Observe, latency: boolean): Promise<Counts | string> {
  const second = queries.failed ?? queries.fast ?? '';
  const [totalAnswer, secondAnswer] = await Promise.all([observe(queries.total), observe(second)]);
  const total = countOf(totalAnswer, queries.total);
  if (typeof total === 'string') return total;
  if (latency && secondAnswer.kind === 'empty' && total > 0) {
    return `no histogram bucket matches ${second}: slowerThan must be a bucket bound (le) of the duration histogram`;
  }
  const other = countOf(secondAnswer, second);
  if (typeof other === 'string') return other;
  return queries.failed !== undefined ? wholeCounts(other, total) : wholeCounts(total - other, total);
}

const percent = (fraction: number): string => `${formatNumber(fraction * 100)} %`;

function describeCounts(name: string, counts: Counts): string {
  const rate = counts.total === 0 ? 'no requests' : `${percent(counts.failed / counts.total)}`;
  return `${name} ${rate} (${counts.failed}/${counts.total})`;
}

const CONCLUSIONS: Record<SequentialOutcome, string> = {
  regression: 'regression beyond delta proven',
  'no-regression': 'no regression beyond delta proven',
  undecided: 'not decided yet, gathering evidence',
};

const GUARD_NOTE = ' (holdWhileUndecided: false, the step is not held)';

/** Evaluates a sequential check. Never rejects: a failed query is an inconclusive measurement. */
export async function evaluateSequential(
  check: CheckSpec,
  provider: MetricProvider,
  context: RoundContext,
  observe: (provider: MetricProvider, query: string, at: Date, signal?: AbortSignal) => Promise<Observation>,
): Promise<Measurement> {
  const settings = sequentialSettings(check);
  const metric = sequentialMetric(check);
  const previous = context.evidence?.[check.name];
  const lookBackMs = context.intervalMs ?? context.windowMs;
  // One interval back, but never before the release began: the data plane reuses the canary
  // backend's name, so earlier counts may be the previous canary's (window.ts).
  const releaseStartMs = context.releaseStartedAt?.getTime() ?? Number.NEGATIVE_INFINITY;
  const since = previous?.since ?? new Date(Math.max(context.now.getTime() - lookBackMs, releaseStartMs)).toISOString();
  const rangeMs = Math.max(1000, Math.round((context.now.getTime() - Date.parse(since)) / 1000) * 1000);
  const base = {
    check: check.name,
    critical: check.critical,
    at: context.now.toISOString(),
    value: null,
    sample: null,
  };
  let queries: SequentialCountQueries;
  try {
    queries =
      check.counts !== undefined
        ? customCountQueries(check.counts, context.target, rangeMs)
        : builtinCountQueries(check, context.target, Date.parse(since), context.metrics ?? 'ingress-nginx');
  } catch (error) {
    return {
      ...base,
      query: '',
      verdict: 'inconclusive',
      reason: `cannot build the query: ${(error as Error).message}`,
    };
  }
  const query = queries.canary.failed ?? queries.canary.fast ?? queries.canary.total;
  const run: Observe = (promql) => observe(provider, promql, context.now, context.signal);
  const latency = metric === 'latency' && check.counts === undefined;
  const [canaryCounts, stableCounts] = await Promise.all([
    countTrack(queries.canary, run, latency),
    countTrack(queries.stable, run, latency),
  ]);
  if (typeof canaryCounts === 'string' || typeof stableCounts === 'string') {
    const reason = [canaryCounts, stableCounts].filter((c) => typeof c === 'string').join('; ');
    // No evidence attached: the counters keep the earlier evidence, and the round counts as
    // missing data (inconclusiveLimit), not as evidence still being gathered.
    return { ...base, query, verdict: 'inconclusive', reason };
  }
  const looked = nextLook(previous, canaryCounts, stableCounts);
  const { canary, stable, ratioTest } = looked;
  const note = looked.kept
    ? '; Prometheus now counts fewer requests (or more new failures than new requests) than before, the earlier counts are kept'
    : '';
  const comparison = compareRates(canary, stable, ratioTest, { delta: settings.delta / 100, alpha: settings.alpha });
  const evidence: SequentialEvidence = {
    since,
    canary,
    stable,
    outcome: comparison.outcome,
    difference: { lower: comparison.difference.lower * 100, upper: comparison.difference.upper * 100 },
    ratio: {
      lower: comparison.ratio.lower,
      upper: comparison.ratio.upper === Number.POSITIVE_INFINITY ? null : comparison.ratio.upper,
    },
    ratioTest,
    delta: settings.delta,
    alpha: settings.alpha,
    advanceOnEvidence: settings.advanceOnEvidence,
    holdWhileUndecided: settings.holdWhileUndecided,
  };
  const what = metric === 'latency' ? `slower than ${formatNumber(check.slowerThan ?? 0)}s` : 'failed';
  const reason =
    `${describeCounts('canary', canary)} vs ${describeCounts('stable', stable)} ${what} since ${since}; ` +
    `canary − stable in [${formatNumber(evidence.difference.lower)}, ${formatNumber(evidence.difference.upper)}] points, ` +
    `canary ÷ stable in [${formatNumber(evidence.ratio.lower)}, ${evidence.ratio.upper === null ? '∞' : formatNumber(evidence.ratio.upper)}] ` +
    `(alpha ${formatNumber(settings.alpha)}): ${CONCLUSIONS[comparison.outcome]} ${formatNumber(settings.delta)}` +
    `${comparison.outcome === 'undecided' && !settings.holdWhileUndecided ? GUARD_NOTE : ''}${note}`;
  // Undecided holds the step (inconclusive, gathering) unless the check only guards against a
  // proven regression (holdWhileUndecided: false): then it passes like a threshold check within limits.
  const undecided = settings.holdWhileUndecided ? 'inconclusive' : 'pass';
  const verdict =
    comparison.outcome === 'regression' ? 'fail' : comparison.outcome === 'no-regression' ? 'pass' : undecided;
  return {
    ...base,
    query,
    value: canary.total === 0 ? null : (100 * canary.failed) / canary.total,
    stableQuery: queries.stable.failed ?? queries.stable.fast ?? queries.stable.total,
    stableValue: stable.total === 0 ? null : (100 * stable.failed) / stable.total,
    sample: canary.total,
    verdict,
    reason,
    sequential: evidence,
  };
}
