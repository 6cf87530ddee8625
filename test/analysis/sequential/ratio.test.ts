// The two-sample ratio test (src/analysis/sequential/ratio.ts): its values against a direct,
// independent computation, its bounds against a brute-force confidence set, and its error rate
// under optional stopping with weights that change mid-release (seeded simulations).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { binomial, seededRandom } from '../../../bench/lib/random.ts';
import {
  type Counts,
  EMPTY_RATIO,
  foldInterval,
  logMixture,
  RATIO_GRID,
  type RatioEvidence,
  ratioInterval,
} from '../../../src/analysis/sequential/index.ts';

interface Interval {
  canary: Counts;
  stable: Counts;
}

const fold = (intervals: Interval[]): RatioEvidence =>
  intervals.reduce((evidence, i) => foldInterval(evidence, i.canary, i.stable), EMPTY_RATIO);

/**
 * ln L(ρ) of the intervals computed from scratch: the canary's share of each interval's errors is
 * Binomial(e, θ), θ = n_c ρ / (n_c ρ + n_s). The binomial coefficient is left out (it cancels).
 */
function directLogLikelihood(intervals: Interval[], rho: number): number {
  let sum = 0;
  for (const { canary, stable } of intervals) {
    if (canary.total === 0 || stable.total === 0) continue;
    const theta = (canary.total * rho) / (canary.total * rho + stable.total);
    const x = canary.failed;
    const e = canary.failed + stable.failed;
    sum += x * Math.log(theta) + (e - x) * Math.log(1 - theta);
  }
  return sum;
}

/** The mixture's prior from its definition: normal in ln ρ, σ = ln 4, on ρ = 2^(j/4), j = −16 … 32. */
function directPrior(): number[] {
  const raw: number[] = [];
  for (let j = -16; j <= 32; j++) raw.push(Math.exp(-((j * 0.25 * Math.LN2) ** 2) / (2 * Math.log(4) ** 2)));
  const total = raw.reduce((a, b) => a + b, 0);
  return raw.map((w) => w / total);
}

/** M / L(ρ) computed directly: Σ_j π_j Π_k L_k(ρ_j) / L_k(ρ). */
function directMixtureRatio(intervals: Interval[], rho: number): number {
  const prior = directPrior();
  const base = directLogLikelihood(intervals, rho);
  let sum = 0;
  for (let j = -16; j <= 32; j++) sum += prior[j + 16]! * Math.exp(directLogLikelihood(intervals, 2 ** (j / 4)) - base);
  return sum;
}

const twoSteps: Interval[] = [
  // 1 % weight, then 5 %: each interval is judged at its own share.
  { canary: { failed: 3, total: 300 }, stable: { failed: 30, total: 29_700 } },
  { canary: { failed: 9, total: 1500 }, stable: { failed: 31, total: 28_500 } },
];

describe('the ratio test', () => {
  it('equals the mixture computed directly from binomial likelihoods (an independent computation)', () => {
    const evidence = fold(twoSteps);
    const atOne = RATIO_GRID.indexOf(0);
    expect(atOne).toBe(16);
    const ours = Math.exp(logMixture(evidence) - evidence.logLikelihood[atOne]!);
    expect(ours / directMixtureRatio(twoSteps, 1)).toBeCloseTo(1, 12);
    // By hand: canary 12 of 73 errors on ~3.5 % of the requests; ρ = 1 is rejected at α = 0.05
    // only if the e-value M/L(1) exceeds 20.
    expect(directMixtureRatio(twoSteps, 1)).toBeGreaterThan(20);
    expect(ratioInterval(evidence, 0.05).lower).toBeGreaterThan(1);
  });

  it('at a constant share, many looks carry the same evidence as one look at the totals', () => {
    const looks = Array.from({ length: 10 }, (_, i) => ({
      canary: { failed: i % 3, total: 500 },
      stable: { failed: 4 + (i % 2), total: 9500 },
    }));
    const once = foldInterval(EMPTY_RATIO, { failed: 9, total: 5000 }, { failed: 45, total: 95_000 });
    const many = fold(looks);
    for (let j = 0; j < RATIO_GRID.length; j++) {
      expect(many.logLikelihood[j]!).toBeCloseTo(once.logLikelihood[j]!, 9);
    }
    expect(many.looks).toBe(10);
  });

  it('is unbounded without errors, and skips an interval in which one side had no requests', () => {
    expect(ratioInterval(EMPTY_RATIO, 0.05)).toEqual({ lower: 0, upper: Number.POSITIVE_INFINITY });
    const quiet = foldInterval(EMPTY_RATIO, { failed: 0, total: 100 }, { failed: 0, total: 9900 });
    expect(ratioInterval(quiet, 0.05)).toEqual({ lower: 0, upper: Number.POSITIVE_INFINITY });
    const oneSided = foldInterval(EMPTY_RATIO, { failed: 0, total: 0 }, { failed: 7, total: 9900 });
    expect(oneSided.logLikelihood).toEqual(EMPTY_RATIO.logLikelihood);
    expect(oneSided.looks).toBe(1);
    expect(() => foldInterval(EMPTY_RATIO, { failed: -1, total: 10 }, { failed: 0, total: 10 })).toThrow(/failed/);
  });

  it('never reports a narrower interval than the exact confidence set (brute force, any counts)', () => {
    const counts = fc.record({
      canaryTotal: fc.integer({ min: 1, max: 5000 }),
      stableTotal: fc.integer({ min: 1, max: 100_000 }),
      canaryRate: fc.double({ min: 0, max: 0.3, noNaN: true }),
      stableRate: fc.double({ min: 0, max: 0.3, noNaN: true }),
    });
    fc.assert(
      fc.property(fc.array(counts, { minLength: 1, maxLength: 4 }), fc.constantFrom(0.01, 0.05, 0.2), (raw, alpha) => {
        const intervals = raw.map((r) => ({
          canary: { failed: Math.round(r.canaryTotal * r.canaryRate), total: r.canaryTotal },
          stable: { failed: Math.round(r.stableTotal * r.stableRate), total: r.stableTotal },
        }));
        const { lower, upper } = ratioInterval(fold(intervals), alpha);
        expect(lower).toBeLessThanOrEqual(upper);
        // Every ρ the exact set holds (M/L(ρ) < 1/α) lies inside the reported bounds.
        for (let eta = -8; eta <= 9; eta += 0.02) {
          const rho = Math.exp(eta);
          if (directMixtureRatio(intervals, rho) < 1 / alpha) {
            expect(rho).toBeGreaterThanOrEqual(lower * (1 - 1e-9));
            expect(rho).toBeLessThanOrEqual(upper * (1 + 1e-9));
          }
        }
      }),
      { numRuns: 40, seed: 17 },
    );
  }, 60_000);

  it('is not much wider than the exact set: within a grid step (19 %) of its edges', () => {
    const evidence = fold(twoSteps);
    const alpha = 0.05;
    const inside: number[] = [];
    for (let eta = -3; eta <= 5; eta += 0.001) {
      if (directMixtureRatio(twoSteps, Math.exp(eta)) < 1 / alpha) inside.push(Math.exp(eta));
    }
    const { lower, upper } = ratioInterval(evidence, alpha);
    expect(lower).toBeLessThanOrEqual(inside[0]!);
    expect(lower).toBeGreaterThan(inside[0]! / 1.19);
    expect(upper).toBeGreaterThanOrEqual(inside.at(-1)!);
    expect(upper).toBeLessThan(inside.at(-1)! * 1.19);
  });
});

/**
 * Releases with the canary's weight stepping 1 → 5 → 25 → 50 %, Bernoulli errors, a look after
 * every interval: how often does the confidence set miss the true ratio at any look?
 */
function missRate(
  seed: number,
  rates: (look: number) => { canary: number; stable: number },
  alpha: number,
  releases: number,
): number {
  const random = seededRandom(seed);
  const weights = [0.01, 0.05, 0.25, 0.5];
  let misses = 0;
  for (let r = 0; r < releases; r++) {
    let evidence = EMPTY_RATIO;
    for (let look = 0; look < 40; look++) {
      const weight = weights[Math.floor(look / 10)]!;
      const requests = 3000;
      const canaryTotal = binomial(random, requests, weight);
      const { canary, stable } = rates(look);
      evidence = foldInterval(
        evidence,
        { failed: binomial(random, canaryTotal, canary), total: canaryTotal },
        { failed: binomial(random, requests - canaryTotal, stable), total: requests - canaryTotal },
      );
      const { lower, upper } = ratioInterval(evidence, alpha);
      const truth = canary / stable;
      if (truth < lower || truth > upper) {
        misses++;
        break;
      }
    }
  }
  return misses / releases;
}

describe('optional stopping with changing weights (seeded simulation)', () => {
  const releases = 1000;
  const alpha = 0.1;

  it('misses a true ratio of 1 at some look in at most α of releases', () => {
    expect(missRate(1, () => ({ canary: 0.002, stable: 0.002 }), alpha, releases)).toBeLessThanOrEqual(alpha);
  }, 60_000);

  it('misses a true ratio of 3 at some look in at most α of releases', () => {
    expect(missRate(2, () => ({ canary: 0.006, stable: 0.002 }), alpha, releases)).toBeLessThanOrEqual(alpha);
  }, 60_000);

  it('stays valid when load makes both sides fail more over the release (a common drift)', () => {
    // Both rates triple from the first look to the last; their ratio (2) does not change.
    const drifting = (look: number) => {
      const stable = 0.002 * (1 + (2 * look) / 39);
      return { canary: 2 * stable, stable };
    };
    expect(missRate(3, drifting, alpha, releases)).toBeLessThanOrEqual(alpha);
  }, 60_000);
});
