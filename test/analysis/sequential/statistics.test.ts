import { describe, expect, it } from 'vitest';
import { binomial, seededRandom } from '../../../bench/lib/random.ts';
import {
  compareOnce,
  compareRates,
  differenceRange,
  EMPTY_RATIO,
  foldInterval,
  lnGamma,
  logMixtureRatio,
  rateInterval,
  requestsToProve,
  wholeCounts,
} from '../../../src/analysis/sequential/index.ts';

describe('lnGamma', () => {
  it('matches factorials and Γ(½) = √π', () => {
    for (let n = 1; n <= 20; n++) {
      let factorial = 1;
      for (let k = 2; k < n; k++) factorial *= k;
      expect(lnGamma(n)).toBeCloseTo(Math.log(factorial), 10);
    }
    expect(lnGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 12);
    // Stirling's series at 1e6 (its error is below 1e-13 there).
    const x = 1e6;
    const stirling = (x - 0.5) * Math.log(x) - x + 0.5 * Math.log(2 * Math.PI) + 1 / (12 * x);
    expect(lnGamma(x)).toBeCloseTo(stirling, 6);
  });
});

describe('the beta-binomial mixture', () => {
  it('equals the mixture integral computed numerically', () => {
    // M(p) = ∫ q^s (1-q)^(n-s) Beta(q; ½, ½) dq / (p^s (1-p)^(n-s)), by the midpoint rule in θ
    // where q = sin²θ (the Jeffreys density becomes uniform in θ on [0, π/2]).
    const s = 3;
    const n = 40;
    const steps = 200_000;
    let integral = 0;
    for (let i = 0; i < steps; i++) {
      const q = Math.sin(((i + 0.5) / steps) * (Math.PI / 2)) ** 2;
      integral += q ** s * (1 - q) ** (n - s);
    }
    integral /= steps;
    for (const p of [0.01, 0.075, 0.3]) {
      const expected = Math.log(integral) - s * Math.log(p) - (n - s) * Math.log(1 - p);
      expect(logMixtureRatio({ failed: s, total: n }, p)).toBeCloseTo(expected, 6);
    }
  });

  it('puts the interval bounds where the mixture ratio reaches 1/α', () => {
    const counts = { failed: 12, total: 5000 };
    const alpha = 0.025;
    const { lower, upper } = rateInterval(counts, alpha);
    expect(lower).toBeLessThan(12 / 5000);
    expect(upper).toBeGreaterThan(12 / 5000);
    expect(logMixtureRatio(counts, lower)).toBeCloseTo(Math.log(1 / alpha), 6);
    expect(logMixtureRatio(counts, upper)).toBeCloseTo(Math.log(1 / alpha), 6);
  });

  it('starts at [0, 1], reaches 0 without failures and narrows with evidence', () => {
    expect(rateInterval({ failed: 0, total: 0 }, 0.05)).toEqual({ lower: 0, upper: 1 });
    expect(rateInterval({ failed: 0, total: 100 }, 0.05).lower).toBe(0);
    expect(rateInterval({ failed: 100, total: 100 }, 0.05).upper).toBe(1);
    const small = rateInterval({ failed: 10, total: 1000 }, 0.05);
    const large = rateInterval({ failed: 100, total: 10_000 }, 0.05);
    expect(large.upper - large.lower).toBeLessThan(small.upper - small.lower);
  });

  it('rounds extrapolated Prometheus counts to whole, consistent numbers', () => {
    expect(wholeCounts(2.4, 999.6)).toEqual({ failed: 2, total: 1000 });
    expect(wholeCounts(5, 3.2)).toEqual({ failed: 3, total: 3 });
    expect(wholeCounts(-0.2, -1)).toEqual({ failed: 0, total: 0 });
  });
});

describe('compareRates (one look)', () => {
  const settings = { delta: 0.001, alpha: 0.05 };

  it('proves a clear regression, proves its absence, and stays undecided on little data', () => {
    expect(compareOnce({ failed: 60, total: 2000 }, { failed: 40, total: 40_000 }, settings).outcome).toBe(
      'regression',
    );
    expect(compareOnce({ failed: 2, total: 50_000 }, { failed: 50, total: 500_000 }, settings).outcome).toBe(
      'no-regression',
    );
    expect(compareOnce({ failed: 1, total: 100 }, { failed: 2, total: 2000 }, settings).outcome).toBe('undecided');
  });

  it('needs more canary requests for a smaller regression', () => {
    const big = requestsToProve(0.05, 0.001, 0.05, settings)!;
    const small = requestsToProve(0.005, 0.001, 0.05, settings)!;
    expect(big).toBeLessThan(small);
    expect(small).toBeGreaterThan(1000);
  });
});

/** Looks after every batch until a conclusion or the horizon; which conclusion (if any) came first. */
function simulateRelease(
  random: () => number,
  rates: { canary: number; stable: number },
  batch: { canary: number; stable: number } | ((look: number) => { canary: number; stable: number }),
  looks: number,
  settings: { delta: number; alpha: number },
): 'regression' | 'no-regression' | 'undecided' {
  const canary = { failed: 0, total: 0 };
  const stable = { failed: 0, total: 0 };
  let ratio = EMPTY_RATIO;
  for (let look = 0; look < looks; look++) {
    const sizes = typeof batch === 'function' ? batch(look) : batch;
    const c = { failed: binomial(random, sizes.canary, rates.canary), total: sizes.canary };
    const s = { failed: binomial(random, sizes.stable, rates.stable), total: sizes.stable };
    canary.failed += c.failed;
    canary.total += c.total;
    stable.failed += s.failed;
    stable.total += s.total;
    ratio = foldInterval(ratio, c, s);
    const outcome = compareRates(canary, stable, ratio, settings).outcome;
    if (outcome !== 'undecided') return outcome;
  }
  return 'undecided';
}

describe('the difference the three confidence sets allow', () => {
  it('is the one-sample difference when the ratio is unbounded', () => {
    const range = differenceRange(
      { lower: 0.01, upper: 0.03 },
      { lower: 0.001, upper: 0.002 },
      { lower: 0, upper: Infinity },
    );
    expect(range!.lower).toBeCloseTo(0.008, 12);
    expect(range!.upper).toBeCloseTo(0.029, 12);
  });

  it('narrows by the ratio: canary ≥ 3 × stable with stable ≥ 0.1 % is at least 0.2 points worse', () => {
    const range = differenceRange({ lower: 0, upper: 0.05 }, { lower: 0.001, upper: 0.0012 }, { lower: 3, upper: 6 });
    // Least at p_s = 0.001, p_c = 0.003; most at p_s = 0.0012, p_c = 0.0072.
    expect(range!.lower).toBeCloseTo(0.002, 12);
    expect(range!.upper).toBeCloseTo(0.006, 12);
  });

  it('proves a canary worse when stable has no errors at all, from the canary’s own bound', () => {
    const range = differenceRange(
      { lower: 0.02, upper: 0.08 },
      { lower: 0, upper: 0.001 },
      { lower: 20, upper: Infinity },
    );
    expect(range!.lower).toBeCloseTo(0.019, 12);
  });

  it('allows nothing when the sets contradict each other', () => {
    expect(
      differenceRange({ lower: 0.01, upper: 0.02 }, { lower: 0.01, upper: 0.02 }, { lower: 3, upper: 4 }),
    ).toBeNull();
  });
});

describe('optional stopping (seeded simulation)', () => {
  const settings = { delta: 0.01, alpha: 0.05 };
  const runs = 500;
  const long = { timeout: 60_000 };

  it(
    'rolls back a canary exactly δ worse than stable in at most α of releases, looking after every batch',
    () => {
      const random = seededRandom(17);
      let rollbacks = 0;
      for (let i = 0; i < runs; i++) {
        const outcome = simulateRelease(
          random,
          { canary: 0.03, stable: 0.02 },
          { canary: 50, stable: 450 },
          100,
          settings,
        );
        if (outcome === 'regression') rollbacks++;
      }
      expect(rollbacks / runs).toBeLessThanOrEqual(settings.alpha);
    },
    long.timeout,
  );

  it(
    'advances early a canary exactly δ worse than stable in at most α of releases',
    () => {
      const random = seededRandom(18);
      let advances = 0;
      for (let i = 0; i < runs; i++) {
        const outcome = simulateRelease(
          random,
          { canary: 0.03, stable: 0.02 },
          { canary: 50, stable: 450 },
          100,
          settings,
        );
        if (outcome === 'no-regression') advances++;
      }
      expect(advances / runs).toBeLessThanOrEqual(settings.alpha);
    },
    long.timeout,
  );

  it(
    'catches a clear regression (2 % → 8 %) in almost every release, and early',
    () => {
      const random = seededRandom(19);
      let caught = 0;
      for (let i = 0; i < 300; i++) {
        const outcome = simulateRelease(
          random,
          { canary: 0.08, stable: 0.02 },
          { canary: 50, stable: 450 },
          40,
          settings,
        );
        if (outcome === 'regression') caught++;
      }
      expect(caught / 300).toBeGreaterThan(0.95);
    },
    long.timeout,
  );

  it(
    'proves a healthy canary healthy in almost every release',
    () => {
      const random = seededRandom(20);
      let proven = 0;
      for (let i = 0; i < 300; i++) {
        const outcome = simulateRelease(
          random,
          { canary: 0.02, stable: 0.02 },
          { canary: 100, stable: 900 },
          200,
          settings,
        );
        if (outcome === 'no-regression') proven++;
      }
      expect(proven / 300).toBeGreaterThan(0.95);
    },
    long.timeout,
  );
});

describe('optional stopping with the weight stepping 1 → 5 → 25 → 50 % (seeded simulation)', () => {
  const runs = 1000;
  /** 3,000 requests a look, split by the step's weight; 15 looks a step. */
  const steps = (look: number) => {
    const weight = [0.01, 0.05, 0.25, 0.5][Math.min(3, Math.floor(look / 15))]!;
    return { canary: Math.round(3000 * weight), stable: 3000 - Math.round(3000 * weight) };
  };

  it('rolls back a canary as good as stable (δ 0, rare errors) in at most α of releases', () => {
    const random = seededRandom(21);
    let rollbacks = 0;
    for (let i = 0; i < runs; i++) {
      const outcome = simulateRelease(random, { canary: 0.001, stable: 0.001 }, steps, 60, { delta: 0, alpha: 0.05 });
      if (outcome === 'regression') rollbacks++;
    }
    expect(rollbacks / runs).toBeLessThanOrEqual(0.05);
  }, 60_000);

  it('rolls back a canary exactly δ worse at high error rates (10 % vs 10.5 %) in at most α of releases', () => {
    const random = seededRandom(22);
    let rollbacks = 0;
    for (let i = 0; i < runs; i++) {
      const outcome = simulateRelease(random, { canary: 0.105, stable: 0.1 }, steps, 60, {
        delta: 0.005,
        alpha: 0.05,
      });
      if (outcome === 'regression') rollbacks++;
    }
    expect(rollbacks / runs).toBeLessThanOrEqual(0.05);
  }, 60_000);

  it('advances early a canary exactly δ worse (0.1 % vs 0.2 %) in at most α of releases', () => {
    const random = seededRandom(23);
    let advances = 0;
    for (let i = 0; i < runs; i++) {
      const outcome = simulateRelease(random, { canary: 0.002, stable: 0.001 }, steps, 60, {
        delta: 0.001,
        alpha: 0.05,
      });
      if (outcome === 'no-regression') advances++;
    }
    expect(advances / runs).toBeLessThanOrEqual(0.05);
  }, 60_000);

  it('rolls back a 0.1 % → 0.5 % canary at 5 % weight within 20 minutes in most releases (δ 0)', () => {
    // 100 requests/s, a look every 30 s: 150 canary requests a look.
    const random = seededRandom(24);
    let caught = 0;
    for (let i = 0; i < 300; i++) {
      const outcome = simulateRelease(random, { canary: 0.005, stable: 0.001 }, { canary: 150, stable: 2850 }, 40, {
        delta: 0,
        alpha: 0.05,
      });
      if (outcome === 'regression') caught++;
    }
    expect(caught / 300).toBeGreaterThan(0.9);
  }, 60_000);
});
