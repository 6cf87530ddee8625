// The pure part of a check: from what the queries answered to a verdict and a reason a person
// can read. Nothing here talks to Prometheus; evaluate.ts does that and calls judge().
import type { CheckSpec } from '../policy/schema.ts';
import type { QueryResult } from './provider.ts';

export type Verdict = 'pass' | 'fail' | 'inconclusive';

/** What one query gave: an answer, or the error message when it failed. */
export type Observation = QueryResult | { kind: 'error'; message: string };

export interface Observations {
  canary: Observation;
  /** Present when the check has relative thresholds. */
  stable?: Observation | undefined;
  /** Present when the check counts its sample (built-ins always, custom with sampleQuery). */
  sample?: Observation | undefined;
}

export interface Judgement {
  verdict: Verdict;
  reason: string;
  /** Finite canary value, or null when there was none (no data, NaN, ±Inf, error). */
  value: number | null;
  stableValue: number | null;
  sample: number | null;
}

export interface Thresholds {
  min?: number | undefined;
  max?: number | undefined;
  maxAbove?: number | undefined;
  maxBelow?: number | undefined;
  maxRatio?: number | undefined;
}

/** successRate without any threshold means "at least 99 % of canary requests are not 5xx". */
export const DEFAULT_SUCCESS_RATE_MIN = 99;

type ThresholdFields = Pick<CheckSpec, 'type' | 'min' | 'max' | 'relative'>;

/** The thresholds a check is judged by, with the successRate default applied. */
export function thresholdsOf(check: ThresholdFields): Thresholds {
  const thresholds: Thresholds = { min: check.min, max: check.max, ...check.relative };
  if (check.type === 'successRate' && !hasThreshold(thresholds)) thresholds.min = DEFAULT_SUCCESS_RATE_MIN;
  return thresholds;
}

export function hasThreshold(t: Thresholds): boolean {
  return [t.min, t.max, t.maxAbove, t.maxBelow, t.maxRatio].some((v) => v !== undefined);
}

export function isRelative(t: Thresholds): boolean {
  return t.maxAbove !== undefined || t.maxBelow !== undefined || t.maxRatio !== undefined;
}

/**
 * Problems that make a check unable to ever give a verdict, as `field: reason` strings, for the
 * policy validator and `kubectl canary validate`. Empty when the check is usable.
 */
export function checkProblems(check: ProblemFields): string[] {
  if (check.type === 'sequential') return sequentialProblems(check);
  const problems: string[] = SEQUENTIAL_ONLY.filter((field) => check[field] !== undefined).map(
    (field) => `checks[${check.name}].${field}: only sequential checks take ${field}; use type: sequential`,
  );
  const thresholds = thresholdsOf(check);
  if (!hasThreshold(thresholds)) {
    problems.push(`checks[${check.name}]: a ${check.type} check needs min, max or relative thresholds`);
  }
  if (check.min !== undefined && check.max !== undefined && check.min > check.max) {
    problems.push(`checks[${check.name}].min: ${check.min} is above max ${check.max}; the check could never pass`);
  }
  if (check.type === 'custom') {
    if (!check.query) problems.push(`checks[${check.name}].query: a custom check needs a query`);
    if (isRelative(thresholds) && !check.stableQuery) {
      problems.push(`checks[${check.name}].stableQuery: relative thresholds need a stableQuery`);
    }
  } else if (check.query || check.stableQuery) {
    problems.push(`checks[${check.name}].query: only custom checks take queries; use type: custom`);
  }
  return problems;
}

type ProblemFields = Pick<
  CheckSpec,
  | 'name'
  | 'type'
  | 'min'
  | 'max'
  | 'relative'
  | 'query'
  | 'stableQuery'
  | 'sampleQuery'
  | 'metric'
  | 'delta'
  | 'alpha'
  | 'advanceOnEvidence'
  | 'holdWhileUndecided'
  | 'slowerThan'
  | 'counts'
>;

const SEQUENTIAL_ONLY = [
  'metric',
  'delta',
  'alpha',
  'advanceOnEvidence',
  'holdWhileUndecided',
  'slowerThan',
  'counts',
] as const;
const THRESHOLD_AND_QUERY = ['min', 'max', 'relative', 'query', 'stableQuery', 'sampleQuery'] as const;

/** A sequential check is judged by its test, not by thresholds; latency needs its bucket bound. */
function sequentialProblems(check: ProblemFields): string[] {
  const problems = THRESHOLD_AND_QUERY.filter((field) => check[field] !== undefined).map(
    (field) =>
      `checks[${check.name}].${field}: a sequential check compares canary with stable by its test and takes no ${field}; custom counts go in counts`,
  );
  const latency = check.metric === 'latency';
  if (latency && check.slowerThan === undefined && check.counts === undefined) {
    problems.push(
      `checks[${check.name}].slowerThan: a sequential latency check needs slowerThan (seconds, a bucket bound of the duration histogram) or counts`,
    );
  }
  if (!latency && check.slowerThan !== undefined) {
    problems.push(`checks[${check.name}].slowerThan: only metric: latency takes slowerThan`);
  }
  // delta 0 can never prove "no regression" (a canary as good as stable is not better): it can
  // only roll back, so it must not hold steps or promise an early advance.
  if (check.delta === 0 && check.advanceOnEvidence === true) {
    problems.push(
      `checks[${check.name}].advanceOnEvidence: with delta 0 "no regression" can never be proven; set delta > 0 or drop advanceOnEvidence`,
    );
  }
  if (check.delta === 0 && check.holdWhileUndecided !== false) {
    problems.push(
      `checks[${check.name}].holdWhileUndecided: with delta 0 the check never concludes "no regression", so every step would hold until timeouts.release; set holdWhileUndecided: false (roll back on a proven regression only) or delta > 0`,
    );
  }
  return problems;
}

/** Numbers in reasons: short but exact enough to compare (99.8731 not 99.87310000001). */
export function formatNumber(value: number): string {
  return String(Number(value.toPrecision(6)));
}

function describe(observation: Observation): string {
  switch (observation.kind) {
    case 'error':
      return `failed: ${observation.message}`;
    case 'empty':
      return 'returned no data';
    case 'nan':
      return 'returned NaN';
    case 'infinite':
      return `returned ${observation.sign > 0 ? '+Inf' : '-Inf'}`;
    case 'value':
      return `returned ${formatNumber(observation.value)}`;
  }
}

const finite = (o: Observation | undefined): number | null => (o?.kind === 'value' ? o.value : null);

/** The verdict of one check from its observations. Order: usable check, sample, canary value, absolute, relative. */
export function judge(check: CheckSpec, observations: Observations): Judgement {
  const thresholds = thresholdsOf(check);
  const value = finite(observations.canary);
  const stableValue = finite(observations.stable);
  let sample: number | null = null;
  const result = (verdict: Verdict, reason: string): Judgement => ({ verdict, reason, value, stableValue, sample });

  if (!hasThreshold(thresholds)) return result('inconclusive', `check has no thresholds to judge by`);
  if (isRelative(thresholds) && observations.stable === undefined) {
    return result('inconclusive', 'relative thresholds but no stable query');
  }

  if (observations.sample !== undefined) {
    const counted = observations.sample;
    // No series at all means no request was counted.
    if (counted.kind === 'empty') sample = 0;
    else if (counted.kind === 'value') sample = counted.value;
    else return result('inconclusive', `sample query ${describe(counted)}`);
    if (sample < check.minSample) {
      return result(
        'inconclusive',
        `only ${formatNumber(sample)} canary requests in the window, fewer than minSample ${check.minSample}`,
      );
    }
  }

  if (value === null) return result('inconclusive', `canary query ${describe(observations.canary)}`);

  const breaches: string[] = [];
  if (thresholds.min !== undefined && below(value, thresholds.min)) {
    breaches.push(`canary ${formatNumber(value)} is below min ${formatNumber(thresholds.min)}`);
  }
  if (thresholds.max !== undefined && above(value, thresholds.max)) {
    breaches.push(`canary ${formatNumber(value)} is above max ${formatNumber(thresholds.max)}`);
  }
  // An absolute breach stands on its own: it does not wait for the stable figure.
  if (breaches.length > 0) return result('fail', breaches.join('; '));

  if (isRelative(thresholds)) {
    if (stableValue === null) return result('inconclusive', `stable query ${describe(observations.stable!)}`);
    breaches.push(...relativeBreaches(value, stableValue, thresholds));
    if (breaches.length > 0) return result('fail', breaches.join('; '));
  }

  const compared = isRelative(thresholds) ? ` (stable ${formatNumber(stableValue!)})` : '';
  return result('pass', `canary ${formatNumber(value)}${compared} is within ${describeThresholds(thresholds)}`);
}

// Bounds computed in binary floating point (99.9 - 0.5) miss their decimal value by ~1e-14;
// a canary exactly on a bound passes, so compare with a tolerance far below any real SLO step.
const tolerance = (bound: number): number => 1e-9 * Math.max(1, Math.abs(bound));
const above = (value: number, bound: number): boolean => value > bound + tolerance(bound);
const below = (value: number, bound: number): boolean => value < bound - tolerance(bound);

function relativeBreaches(value: number, stable: number, t: Thresholds): string[] {
  const breaches: string[] = [];
  const v = formatNumber(value);
  const s = formatNumber(stable);
  if (t.maxAbove !== undefined && above(value, stable + t.maxAbove)) {
    breaches.push(`canary ${v} is more than ${formatNumber(t.maxAbove)} above stable ${s}`);
  }
  if (t.maxBelow !== undefined && below(value, stable - t.maxBelow)) {
    breaches.push(`canary ${v} is more than ${formatNumber(t.maxBelow)} below stable ${s}`);
  }
  if (t.maxRatio !== undefined && above(value, stable * t.maxRatio)) {
    breaches.push(
      `canary ${v} is more than ${formatNumber(t.maxRatio)} × stable ${s} = ${formatNumber(stable * t.maxRatio)}`,
    );
  }
  return breaches;
}

export function describeThresholds(t: Thresholds): string {
  const parts: string[] = [];
  if (t.min !== undefined) parts.push(`min ${formatNumber(t.min)}`);
  if (t.max !== undefined) parts.push(`max ${formatNumber(t.max)}`);
  if (t.maxAbove !== undefined) parts.push(`stable + ${formatNumber(t.maxAbove)}`);
  if (t.maxBelow !== undefined) parts.push(`stable - ${formatNumber(t.maxBelow)}`);
  if (t.maxRatio !== undefined) parts.push(`stable × ${formatNumber(t.maxRatio)}`);
  return parts.join(', ');
}
