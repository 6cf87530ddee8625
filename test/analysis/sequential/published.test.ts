// Known values from published reference implementations (issue 17: "known values against
// published examples"). Every expected number below is copied from the cited source, never
// computed by canaryd's code; only the translation of the source's parameters into canaryd's
// (counts, rate, prior) is ours, and it is spelled out next to each case.
//
// What is covered and what is not: both sources compute the beta-binomial mixture likelihood ratio
// B(a + s, b + n − s) / B(a, b) / (p^s (1 − p)^(n − s)) — canaryd's one-sample statistic
// (rate.ts: logMixtureRatio, rateInterval), which canaryd runs with a Jeffreys prior and the
// sources with their own priors (passed here explicitly). canaryd's two-sample ratio test
// (ratio.ts) conditions on the errors exactly as Lindon et al. do, but mixes over ρ with its own
// prior (normal in ln ρ on a grid) where the sources use a Beta (Dirichlet) prior on θ, so no
// published number exists for its mixture; only the orientation and maximum of its likelihood are
// checked here (its mixture is checked against a direct computation in ratio.test.ts).
import { describe, expect, it } from 'vitest';
import {
  EMPTY_RATIO,
  foldInterval,
  logMixtureRatio,
  RATIO_GRID,
  rateInterval,
} from '../../../src/analysis/sequential/index.ts';

/** |actual − printed| within half a unit of the printed value's last digit. */
function expectPrinted(actual: number, printed: number, decimals: number): void {
  expect(Math.abs(actual - printed)).toBeLessThanOrEqual(0.5 * 10 ** -decimals + 1e-12);
}

// Source: Howard, Ramdas, McAuliffe & Sekhon, "Time-uniform, nonparametric, nonasymptotic
// confidence sequences" (Ann. Statist. 2021), reference implementation `confseq`
// (https://github.com/gostevehoward/confseq), file test/uniform_boundaries_unittest.cpp at commit
// 53f1ce83ec3a1c0ce3b6903a289741fecbeed1a2, TEST(MixtureTest, TestTwoSidedBetaBinomialMixture):
//
//   BetaBinomialMixture mixture(100, 0.05, 0.2, 0.8, false);   // v_opt, alpha_opt, g, h, two-sided
//   EXPECT_NEAR(mixture.log_superMG(10, 100), -0.6941012, 1e-5);
//   EXPECT_NEAR(mixture.bound(100, log(1 / 0.05)), 31.4308, 1e-5);
//
// and TEST(MixtureTest, TestTwoSidedNormalMixture): best_rho(100, 0.05) = 12.60056. The file says
// "all target values are from a reference implementation in R".
//
// Translation (uniform_boundaries.h, BetaBinomialMixture::log_superMG): for Bernoulli requests
// with failure rate p, confseq's centred sum and intrinsic time are s = failed − n·p and
// v = p(1 − p)·n, with range g = p, h = 1 − p. Substituting, its log_superMG(s, v) is exactly
// ln B(r/h + failed, r/g + n − failed) − ln B(r/h, r/g) − ln(p^failed (1 − p)^(n − failed)),
// i.e. canaryd's logMixtureRatio with prior a = r/h, b = r/g, where
// r = best_rho(v_opt, alpha_opt) − g·h and best_rho(v, α) = v / (2 ln(1/α) + ln(1 + 2 ln(1/α))).
// Here p = 0.2: v = 100 is n = 625 requests, s = 10 is 135 failed.
describe('the beta-binomial mixture against confseq (Howard et al.)', () => {
  const g = 0.2;
  const h = 0.8;
  const logInverseAlpha = Math.log(1 / 0.05);
  const bestRho = 100 / (2 * logInverseAlpha + Math.log(1 + 2 * logInverseAlpha));
  const r = bestRho - g * h;
  const prior = { a: r / h, b: r / g };
  const n = 625; // v = g·h·n = 100

  it('uses the mixing parameter confseq publishes (best_rho(100, 0.05) = 12.60056)', () => {
    expect(Math.abs(bestRho - 12.60056)).toBeLessThanOrEqual(1e-5);
    expect(g * h * n).toBeCloseTo(100, 12);
  });

  it('log_superMG(s = 10, v = 100) = −0.6941012: 135 failed of 625 at p = 0.2', () => {
    expect(Math.abs(logMixtureRatio({ failed: 135, total: n }, g, prior) - -0.6941012)).toBeLessThanOrEqual(1e-5);
  });

  it('bound(v = 100, ln 20) = 31.4308: the mixture reaches 20 at 125 + 31.4308 failed of 625', () => {
    // The statistic is smooth in the count, so the published crossing point can be checked directly.
    const failed = 125 + 31.4308; // s = failed − n·p
    expect(Math.abs(logMixtureRatio({ failed, total: n }, g, prior) - logInverseAlpha)).toBeLessThanOrEqual(1e-5);
  });
});

// Source: the Python package `savvi` (safe anytime-valid inference, by Luís Assunção), which
// implements Lindon & Malek, "Anytime-Valid Inference for Multinomial Count Data" (NeurIPS 2022);
// its class InhomogeneousPoissonProcess is documented as the "canary software release test" of
// Lindon et al. (KDD 2022). Its worked example, "Inhomogeneous Poisson Process"
// (https://assuncaolfi.github.io/savvi/examples/InhomogeneousPoissonProcess.html; rendered output
// stored in https://github.com/assuncaolfi/savvi, _freeze/examples/InhomogeneousPoissonProcess/
// execute-results/html.json at commit 3a5e09bc00f4c7cc9605aa32d3c6614314e6c868), runs
// InhomogeneousPoissonProcess(alpha = 0.05, rho = [0.8, 0.2], weights = [[-1, 1]]) with the
// default prior concentration k = 100 (Dirichlet α₀ = k·rho = [80, 20]) on one error at a time and
// stops at the first p-value ≤ 0.05, printing:
//
//   | −δ0 + δ1 | Estimate 0.5162 | CI Lower 0.0046 | CI Upper 0.7549 |
//   Sample size: 210, P-value: 0.0456
//
// Translation: rho is each process's share of the traffic (stable 0.8, canary 0.2), δ1 − δ0 = ln ρ
// (canary rate ÷ stable rate), and an error is the canary's with probability θ = 0.2ρ / (0.2ρ + 0.8).
// The example prints only the sample size, not the split; the estimate ln(4·x/(210 − x)) = 0.5162
// holds for x = 62 canary errors alone (61 gives 0.4932, 63 gives 0.5390), so the counts are 62 of
// 210. savvi's p-value is 1 / Bayes factor, with Bayes factor B(α₀ + counts) / B(α₀) / Π θ₀^counts:
// canaryd's logMixtureRatio of 62 failed of 210 at p = θ₀ = 0.2 with prior Beta(20, 80). Its
// confidence set for θ is canaryd's rateInterval with the same prior, mapped by δ = ln(4θ / (1 − θ)).
// savvi reports the running intersection of its sets; at the first look whose p-value is ≤ 0.05 the
// lower bound has just left 0, so it is this look's own bound. The upper bound 0.7549 comes from an
// earlier look (this look's own is 0.99) and cannot be checked without the example's random draws.
describe('the canary test of Lindon et al. against savvi’s worked example', () => {
  const counts = { failed: 62, total: 210 };
  const prior = { a: 20, b: 80 };

  it('recovers the published split from the published estimate', () => {
    expectPrinted(Math.log((4 * 62) / 148), 0.5162, 4);
    for (const other of [61, 63]) {
      expect(Math.abs(Math.log((4 * other) / (210 - other)) - 0.5162)).toBeGreaterThan(0.02);
    }
  });

  it('P-value 0.0456 after 210 errors: 1 / the beta-binomial mixture ratio at θ₀ = 0.2', () => {
    expectPrinted(Math.exp(-logMixtureRatio(counts, 0.2, prior)), 0.0456, 4);
  });

  it('CI Lower 0.0046 for ln(canary rate ÷ stable rate): the lower edge of the 95 % set', () => {
    const { lower } = rateInterval(counts, 0.05, prior);
    expectPrinted(Math.log((4 * lower) / (1 - lower)), 0.0046, 4);
  });

  it('canaryd’s ratio test reads the same errors the same way round: its likelihood peaks at the estimate', () => {
    // 62 canary and 148 stable errors on a 20 % / 80 % split of the requests, as one look.
    const evidence = foldInterval(EMPTY_RATIO, { failed: 62, total: 200 }, { failed: 148, total: 800 });
    const peak = evidence.logLikelihood.indexOf(Math.max(...evidence.logLikelihood));
    const step = RATIO_GRID[1]! - RATIO_GRID[0]!;
    expect(Math.abs(RATIO_GRID[peak]! - 0.5162)).toBeLessThan(step / 2);
  });
});
