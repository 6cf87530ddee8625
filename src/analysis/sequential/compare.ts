// The sequential comparison of canary and stable: "canary rate ≤ stable rate + δ", tested after
// every look, with both mistakes bounded by α however often one looks.
//
// Three confidence sequences, each anytime-valid on its own (rate.ts, ratio.ts):
//   - the ratio ρ = p_canary / p_stable, from how the errors split between the sides (α/2): the
//     two-sample test, which needs no estimate of stable's rate and carries the decision when
//     errors are rare and the canary's share small;
//   - the canary's rate and the stable's rate, each from its own counts (α/4 each): they bound
//     the rates themselves, which a ratio cannot (no errors at all; a stable without errors).
// By the union bound all three cover their true values, at every look at once, with probability
// ≥ 1 − α. The difference p_canary − p_stable then lies in the range it takes over every pair of
// rates the three allow; so:
//   - regression proven when that range lies above δ: if in truth p_c ≤ p_s + δ, this happens
//     at some look with probability ≤ α (a false rollback);
//   - no regression beyond δ proven when it lies below δ: if in truth p_c ≥ p_s + δ, this happens
//     with probability ≤ α (a false early advance);
//   - otherwise undecided: keep looking.
// Assumption: within one side, requests fail independently with a rate that stays constant over
// the release (the model every error-rate SLO uses), and errors are rare enough that a side's
// errors over a look are Poisson (ratio.ts). Canary and stable are compared on the same range.
import { type Counts, DEFAULT_PRIOR, type Interval, type Prior, rateInterval } from './rate.ts';
import { EMPTY_RATIO, foldInterval, type RatioEvidence, type RatioInterval, ratioInterval } from './ratio.ts';

export type SequentialOutcome = 'regression' | 'no-regression' | 'undecided';

export interface ComparisonSettings {
  /** Tolerated excess of the canary's rate over stable's, as a fraction (0.001 = 0.1 points). */
  delta: number;
  /** Probability bound of each wrong conclusion, over the whole release. */
  alpha: number;
  prior?: Prior;
}

export interface Comparison {
  outcome: SequentialOutcome;
  canary: Interval;
  stable: Interval;
  ratio: RatioInterval;
  /** Anytime-valid bounds on p_canary − p_stable. */
  difference: Interval;
}

/** How α is shared between the three confidence sequences. */
export const ALPHA_SHARE = { ratio: 0.5, canary: 0.25, stable: 0.25 } as const;

/**
 * The range of p_c − p_s over p_c ∈ canary, p_s ∈ stable, ρ_L·p_s ≤ p_c ≤ ρ_U·p_s; null when the
 * three sets allow no pair (one of them has missed, which happens with probability ≤ α).
 */
export function differenceRange(canary: Interval, stable: Interval, ratio: RatioInterval): Interval | null {
  const stableLow = Math.max(stable.lower, ratio.upper === Infinity ? 0 : canary.lower / ratio.upper);
  const stableHigh = Math.min(stable.upper, ratio.lower === 0 ? Infinity : canary.upper / ratio.lower);
  if (stableLow > stableHigh) return null;
  // Smallest canary rate for a stable rate p: max(L_c, ρ_L p), convex in p: least at an end or at the kink.
  const least = (p: number) => Math.max(canary.lower, ratio.lower * p) - p;
  const most = (p: number) => (ratio.upper === Infinity ? canary.upper : Math.min(canary.upper, ratio.upper * p)) - p;
  const inside = (p: number) => p >= stableLow && p <= stableHigh;
  const lows = [stableLow, stableHigh, ratio.lower > 0 ? canary.lower / ratio.lower : stableHigh].filter(inside);
  const highs = [stableLow, stableHigh, ratio.upper < Infinity ? canary.upper / ratio.upper : stableLow].filter(inside);
  return {
    lower: Math.min(...lows.filter(Number.isFinite).map(least)),
    upper: Math.max(...highs.filter(Number.isFinite).map(most)),
  };
}

export function compareRates(
  canary: Counts,
  stable: Counts,
  ratioEvidence: RatioEvidence,
  settings: ComparisonSettings,
): Comparison {
  const prior = settings.prior ?? DEFAULT_PRIOR;
  const c = rateInterval(canary, settings.alpha * ALPHA_SHARE.canary, prior);
  const s = rateInterval(stable, settings.alpha * ALPHA_SHARE.stable, prior);
  const ratio = ratioInterval(ratioEvidence, settings.alpha * ALPHA_SHARE.ratio);
  const range = differenceRange(c, s, ratio);
  // Disagreeing sets decide nothing; the one-sample bounds are still reported.
  const difference = range ?? { lower: c.lower - s.upper, upper: c.upper - s.lower };
  let outcome: SequentialOutcome = 'undecided';
  if (range !== null && range.lower > settings.delta) outcome = 'regression';
  else if (range !== null && range.upper < settings.delta) outcome = 'no-regression';
  return { outcome, canary: c, stable: s, ratio, difference };
}

/** The comparison of counts seen at one look, as one interval (a test that looked only now). */
export function compareOnce(canary: Counts, stable: Counts, settings: ComparisonSettings): Comparison {
  return compareRates(canary, stable, foldInterval(EMPTY_RATIO, canary, stable), settings);
}

/**
 * Canary requests a regression needs before it can be proven, for planning (docs/analysis.md):
 * the smallest n at which counts at exactly the expected rates (canary p_c on n requests, stable
 * p_s on n × stableShare / canaryShare requests) prove it. At a constant share, the ratio test's
 * evidence after many looks equals that of one look at the totals, so this is what a release at
 * that weight needs, whatever its analysis interval. Deterministic, not a simulation.
 */
export function requestsToProve(
  canaryRate: number,
  stableRate: number,
  canaryShare: number,
  settings: ComparisonSettings,
): number | null {
  const prove = (n: number) => {
    const stableTotal = Math.round((n * (1 - canaryShare)) / canaryShare);
    return (
      compareOnce(
        { failed: Math.round(n * canaryRate), total: n },
        { failed: Math.round(stableTotal * stableRate), total: stableTotal },
        settings,
      ).outcome === 'regression'
    );
  };
  let hi = 16;
  while (!prove(hi)) {
    hi *= 2;
    if (hi > 1e10) return null;
  }
  let lo = hi / 2;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (prove(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}
