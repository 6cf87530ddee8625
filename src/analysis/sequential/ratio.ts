// An anytime-valid confidence sequence for the ratio of two error rates, ρ = p_canary / p_stable,
// from the errors alone: the two-sample test of Lindon et al., "Rapid Regression Detection in
// Software Deployments through Sequential Testing" (KDD 2022), made to carry weights that change.
//
// Model: each side's errors arrive as a Poisson process in its requests (rate p per request; the
// usual model of rare errors). Given the requests of an interval — n_c canary, n_s stable — and
// the errors e counted in it, the canary's share x of those errors is Binomial(e, θ) with
//
//   θ(ρ) = n_c ρ / (n_c ρ + n_s),
//
// whatever the stable rate: conditioning on e removes the unknown p_stable. The likelihood of
// ρ over intervals k is Π_k θ_k^x_k (1 − θ_k)^(e_k − x_k), kept as its log on a grid of ρ. The
// mixture M = Σ_j π_j L(ρ_j) / L(ρ) is, under the true ρ, a nonnegative martingale from the
// first look with M_0 = 1 (a product of per-interval likelihood ratios, mixed), so by Ville's
// inequality the set {ρ : M < 1/α} covers the true ρ at every look at once with probability
// ≥ 1 − α. Intervals may be any length (a failed round merges two), and each carries its own
// weight: the canary's share of the requests it counted.
//
// Bounds between grid points: ln L is concave in ln ρ, so between grid points it lies below the
// lines through neighbouring grid points (extended); the reported bounds use those lines and only
// ever widen the set, never narrow it.
import type { Counts } from './rate.ts';

/** Grid of ln ρ: ρ = 2^(j/4) for j = −16 … 32, i.e. 1/16 … 256 in steps of 19 %. */
const STEP = Math.LN2 / 4;
const FIRST = -16;
const LAST = 32;
export const RATIO_GRID: readonly number[] = Array.from({ length: LAST - FIRST + 1 }, (_, i) => (FIRST + i) * STEP);

/**
 * The mixing weights π_j: normal in ln ρ around 1 (σ = ln 4), so ratios up to about 16 and down
 * to about 1/16 carry weight. The spread is a trade: a narrower prior concludes sooner on the
 * ratios it favours, later on the others.
 */
const SIGMA = Math.log(4);
const LOG_PRIOR: readonly number[] = (() => {
  const raw = RATIO_GRID.map((eta) => -(eta * eta) / (2 * SIGMA * SIGMA));
  const norm = logSumExp(raw);
  return raw.map((v) => v - norm);
})();

/**
 * What the ratio test carries from look to look: ln L(ρ_j) on the grid, shifted so its maximum is 0
 * (only differences matter), and how many intervals were folded in.
 */
export interface RatioEvidence {
  logLikelihood: number[];
  looks: number;
}

export const EMPTY_RATIO: RatioEvidence = { logLikelihood: RATIO_GRID.map(() => 0), looks: 0 };

export interface RatioInterval {
  /** 0 when unbounded below. */
  lower: number;
  /** Infinity when unbounded above. */
  upper: number;
}

function logSumExp(values: readonly number[]): number {
  const max = Math.max(...values);
  if (max === Number.NEGATIVE_INFINITY) return max;
  let sum = 0;
  for (const v of values) sum += Math.exp(v - max);
  return max + Math.log(sum);
}

/** ln(a·e^η + b) for a, b > 0, without overflow. */
function logAffineExp(logA: number, eta: number, logB: number): number {
  const u = logA + eta;
  const hi = Math.max(u, logB);
  return hi + Math.log1p(Math.exp(Math.min(u, logB) - hi));
}

/**
 * The evidence after one more interval: what the canary and stable counted in it (increments, not
 * totals). An interval in which one side had no requests says nothing about ρ and is skipped.
 */
export function foldInterval(evidence: RatioEvidence, canary: Counts, stable: Counts): RatioEvidence {
  for (const c of [canary, stable]) {
    if (!(c.failed >= 0 && c.total >= c.failed && Number.isFinite(c.total))) {
      throw new RangeError(`interval counts must satisfy 0 ≤ failed ≤ total, got ${c.failed}/${c.total}`);
    }
  }
  const errors = canary.failed + stable.failed;
  if (canary.total === 0 || stable.total === 0 || errors === 0) {
    return { logLikelihood: evidence.logLikelihood, looks: evidence.looks + 1 };
  }
  const logC = Math.log(canary.total);
  const logS = Math.log(stable.total);
  // ln θ^x (1−θ)^(e−x) = x·(ln n_c + η) + (e − x)·ln n_s − e·ln(n_c e^η + n_s); the η-free terms are
  // the same at every grid point and drop out.
  const next = evidence.logLikelihood.map(
    (l, j) => l + canary.failed * RATIO_GRID[j]! - errors * logAffineExp(logC, RATIO_GRID[j]!, logS),
  );
  const max = Math.max(...next);
  return { logLikelihood: next.map((v) => v - max), looks: evidence.looks + 1 };
}

/** ln of the mixture Σ_j π_j L(ρ_j), on the same shifted scale as the grid. */
export function logMixture(evidence: RatioEvidence): number {
  return logSumExp(evidence.logLikelihood.map((l, j) => l + LOG_PRIOR[j]!));
}

interface Line {
  at: number;
  value: number;
  slope: number;
}

/** The η where a line exceeds `level`, as an open interval (possibly unbounded or empty). */
function above(line: Line, level: number): [number, number] {
  if (line.slope === 0) {
    return line.value > level ? [-Infinity, Infinity] : [Infinity, -Infinity];
  }
  const cross = line.at + (level - line.value) / line.slope;
  return line.slope > 0 ? [cross, Infinity] : [-Infinity, cross];
}

/**
 * Segments of ln ρ, each with the lines that bound the concave ln L from above there: a grid
 * interval by the chords of its two neighbours (extended), the two ends by the outermost chords.
 */
function envelope(l: readonly number[]): Array<{ from: number; to: number; lines: Line[] }> {
  const last = l.length - 1;
  const chord = (j: number): Line => ({ at: RATIO_GRID[j]!, value: l[j]!, slope: (l[j + 1]! - l[j]!) / STEP });
  const segments = [{ from: -Infinity, to: RATIO_GRID[0]!, lines: [chord(0)] }];
  for (let j = 0; j < last; j++) {
    const lines: Line[] = [];
    if (j >= 1) lines.push(chord(j - 1));
    if (j + 1 <= last - 1) lines.push(chord(j + 1));
    segments.push({ from: RATIO_GRID[j]!, to: RATIO_GRID[j + 1]!, lines });
  }
  segments.push({ from: RATIO_GRID[last]!, to: Infinity, lines: [chord(last - 1)] });
  return segments;
}

/**
 * The confidence sequence for ρ at level 1 − α: every ρ with M < 1/α, i.e. ln L(ρ) > ln M − ln(1/α),
 * widened to the envelope's resolution.
 */
export function ratioInterval(evidence: RatioEvidence, alpha: number): RatioInterval {
  const level = logMixture(evidence) - Math.log(1 / alpha);
  let lower = Infinity;
  let upper = -Infinity;
  for (const segment of envelope(evidence.logLikelihood)) {
    let from = segment.from;
    let to = segment.to;
    for (const line of segment.lines) {
      const [a, b] = above(line, level);
      from = Math.max(from, a);
      to = Math.min(to, b);
    }
    if (from < to) {
      lower = Math.min(lower, from);
      upper = Math.max(upper, to);
    }
  }
  // The set always holds the grid's maximum (ln M ≤ max ln L), so it is never empty.
  return { lower: Math.exp(lower), upper: Math.exp(upper) };
}
