// One analysis round: run each check's queries through the MetricProvider and judge them.
// Every failure is caught and becomes an inconclusive measurement: Prometheus being down must
// neither promote nor roll back a release.
import type { AnalysisSpec, CheckSpec, DataPlaneMetrics } from '../policy/schema.ts';
import { parseDuration } from '../schedule/duration.ts';
import type { AnalysisTarget, CheckQueries } from './builtin.ts';
import { checkProblems, isRelative, judge, type Observation, thresholdsOf, type Verdict } from './checks.ts';
import { BUILTIN_QUERIES } from './data-plane.ts';
import { promDuration, renderQuery } from './promql.ts';
import { isMetricQueryError, type MetricProvider } from './provider.ts';
import { evaluateSequential, type SequentialEvidence } from './sequential-check.ts';
import { type QueryWindow, roundWindow } from './window.ts';

/** One check evaluated once. Plain JSON-safe data: the engine persists it in the release state. */
export interface Measurement {
  check: string;
  critical: boolean;
  /** When the round ran (ISO 8601), by the controller's clock. */
  at: string;
  query: string;
  /** Finite canary value; null for no data, NaN, ±Inf or an error (the reason says which). */
  value: number | null;
  stableQuery?: string;
  stableValue?: number | null;
  sampleQuery?: string;
  /** Canary requests (samples) in the window; null when not counted or not known. */
  sample: number | null;
  /** First instant the round counted (ISO 8601): the window cut at the release's and step's start. */
  from?: string;
  verdict: Verdict;
  reason: string;
  /** Sequential checks: the evidence after this round (counts, bounds, conclusion). */
  sequential?: SequentialEvidence;
}

export interface RoundContext {
  target: AnalysisTarget;
  /** The configured window in ms; each round cuts it at the release's and the step's start (window.ts). */
  windowMs: number;
  /** The controller's clock at the start of the round: every query is evaluated at it. */
  now: Date;
  /** When the release's steps began: nothing before counts (a reused canary backend's old errors). */
  releaseStartedAt?: Date | undefined;
  /** When the current step's weight was set: evidence from before it does not count for it. */
  stepStartedAt?: Date | undefined;
  signal?: AbortSignal;
  /** Whose metrics the built-in checks read (spec.analysis.metrics); default ingress-nginx. */
  metrics?: DataPlaneMetrics;
  /** spec.analysis.interval in ms: a sequential check's evidence starts one interval before its first round. */
  intervalMs?: number;
  /** Sequential checks' evidence so far, by check name (persisted with the counters). */
  evidence?: Readonly<Record<string, SequentialEvidence>>;
}

const MIN_DEFAULT_WINDOW_MS = 60_000;

/** The query window: `window` if set, else the interval but at least 1m (rate() needs 2+ scrapes). */
export function analysisWindowMs(spec: Pick<AnalysisSpec, 'interval' | 'window'>): number {
  if (spec.window !== undefined) return parseDuration(spec.window);
  return Math.max(parseDuration(spec.interval), MIN_DEFAULT_WINDOW_MS);
}

/**
 * The PromQL a check runs for this release over `window`: built-ins count from its start,
 * custom queries get its span as {{interval}}. Throws TemplateError for a bad custom query.
 */
export function queriesFor(
  check: CheckSpec,
  target: AnalysisTarget,
  window: Pick<QueryWindow, 'fromMs' | 'rangeMs'>,
  metrics: DataPlaneMetrics = 'ingress-nginx',
): CheckQueries {
  const relative = isRelative(thresholdsOf(check));
  switch (check.type) {
    case 'successRate':
    case 'latency': {
      const queries = BUILTIN_QUERIES[metrics];
      const build =
        check.type === 'successRate'
          ? (track: 'canary' | 'stable') => queries.successRate(target, track, window.fromMs)
          : (track: 'canary' | 'stable') => queries.latency(target, track, window.fromMs, check.quantile);
      return {
        canary: build('canary'),
        stable: relative ? build('stable') : undefined,
        sample: queries.canaryRequests(target, window.fromMs),
      };
    }
    case 'sequential':
      throw new Error('sequential checks count requests: see sequential-queries.ts');
    case 'custom': {
      const values = { ...target, ingress: target.ingresses, interval: promDuration(window.rangeMs) };
      const render = (template: string | undefined) =>
        template === undefined ? undefined : renderQuery(template, values);
      return {
        canary: render(check.query) ?? '',
        stable: relative ? render(check.stableQuery) : undefined,
        sample: render(check.sampleQuery),
      };
    }
  }
}

async function observe(provider: MetricProvider, query: string, at: Date, signal?: AbortSignal): Promise<Observation> {
  try {
    return await provider.query(query, signal ? { at, signal } : { at });
  } catch (error) {
    // The reason names the failure's code (docs/analysis.md), so a person and a test can tell
    // "Prometheus is down" from "the query is wrong" without parsing the message.
    if (isMetricQueryError(error)) return { kind: 'error', message: `${error.code}: ${error.message}` };
    return { kind: 'error', message: error instanceof Error ? error.message : String(error) };
  }
}

function unusable(check: CheckSpec, now: Date, reason: string): Measurement {
  return {
    check: check.name,
    critical: check.critical,
    at: now.toISOString(),
    query: check.query ?? '',
    value: null,
    sample: null,
    verdict: 'inconclusive',
    reason,
  };
}

/** Evaluates one check. Never rejects: every failure is an inconclusive measurement with a reason. */
export async function evaluateCheck(
  check: CheckSpec,
  provider: MetricProvider,
  context: RoundContext,
): Promise<Measurement> {
  const metrics = context.metrics ?? 'ingress-nginx';
  if (check.type === 'sequential' && check.counts === undefined) {
    const problem = BUILTIN_QUERIES[metrics].unusable(context.target);
    if (problem !== null) return unusable(check, context.now, `built-in sequential check ${problem}`);
  }
  const problems = checkProblems(check);
  if (check.type === 'sequential') {
    if (problems.length > 0) return unusable(check, context.now, `check cannot be judged: ${problems.join('; ')}`);
    return evaluateSequential(check, provider, context, observe);
  }
  const noRoute = check.type === 'custom' ? null : BUILTIN_QUERIES[metrics].unusable(context.target);
  if (noRoute !== null) return unusable(check, context.now, `built-in ${check.type} check ${noRoute}`);
  if (problems.length > 0) return unusable(check, context.now, `check cannot be judged: ${problems.join('; ')}`);
  const window = roundWindow(context);
  if (window.tooShort !== null) return unusable(check, context.now, `nothing to count yet: ${window.tooShort}`);
  let queries: CheckQueries;
  try {
    queries = queriesFor(check, context.target, window, metrics);
  } catch (error) {
    return unusable(check, context.now, `cannot build the query: ${(error as Error).message}`);
  }
  const [canary, stable, sample] = await Promise.all([
    observe(provider, queries.canary, context.now, context.signal),
    queries.stable === undefined ? undefined : observe(provider, queries.stable, context.now, context.signal),
    queries.sample === undefined ? undefined : observe(provider, queries.sample, context.now, context.signal),
  ]);
  const judgement = judge(check, { canary, stable, sample });
  const measurement: Measurement = {
    check: check.name,
    critical: check.critical,
    at: context.now.toISOString(),
    query: queries.canary,
    value: judgement.value,
    sample: judgement.sample,
    from: new Date(window.fromMs).toISOString(),
    verdict: judgement.verdict,
    reason: judgement.reason,
  };
  if (queries.stable !== undefined) {
    measurement.stableQuery = queries.stable;
    measurement.stableValue = judgement.stableValue;
  }
  if (queries.sample !== undefined) measurement.sampleQuery = queries.sample;
  return measurement;
}

/** Evaluates every check of the policy concurrently: one measurement per check, in policy order. */
export function evaluateRound(
  spec: Pick<AnalysisSpec, 'checks'>,
  provider: MetricProvider,
  context: RoundContext,
): Promise<Measurement[]> {
  return Promise.all(spec.checks.map((check) => evaluateCheck(check, provider, context)));
}
