// The sequential comparison of canary and stable: "canary rate ≤ stable rate + δ", tested after
// every look, with both mistakes bounded by α however often one looks.
//
// Each side gets its own confidence sequence (rate.ts) at level 1 − α/2. While both cover their
// true rates — at every look at once, with probability ≥ 1 − α (union bound) — the difference
// p_canary − p_stable lies in [L_c − U_s, U_c − L_s]. So:
//   - regression proven when L_c − U_s > δ: if in truth p_c ≤ p_s + δ, this happens at some look
//     with probability ≤ α (a false rollback);
//   - no regression beyond δ proven when U_c − L_s < δ: if in truth p_c ≥ p_s + δ, this happens
//     with probability ≤ α (a false early advance);
//   - otherwise undecided: keep looking.
// Assumption: within one side, requests fail independently with a constant rate over the
// release (the same model every error-rate SLO uses). Rates that drift with load over the
// release weaken the guarantee; canary and stable are compared on the same time range.
import { type Counts, DEFAULT_PRIOR, type Interval, type Prior, rateInterval } from './rate.ts';

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
  /** Anytime-valid bounds on p_canary − p_stable. */
  difference: Interval;
}

export function compareRates(canary: Counts, stable: Counts, settings: ComparisonSettings): Comparison {
  const prior = settings.prior ?? DEFAULT_PRIOR;
  const side = settings.alpha / 2;
  const c = rateInterval(canary, side, prior);
  const s = rateInterval(stable, side, prior);
  const difference = { lower: c.lower - s.upper, upper: c.upper - s.lower };
  let outcome: SequentialOutcome = 'undecided';
  if (difference.lower > settings.delta) outcome = 'regression';
  else if (difference.upper < settings.delta) outcome = 'no-regression';
  return { outcome, canary: c, stable: s, difference };
}

/**
 * Canary requests a regression needs before it can be proven, for planning (docs/analysis.md):
 * the smallest n at which counts at exactly the expected rates (canary p_c on n requests, stable
 * p_s on n × stableShare / canaryShare requests) prove it. Deterministic, not a simulation.
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
      compareRates(
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
