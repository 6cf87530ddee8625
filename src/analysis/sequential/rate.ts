// An anytime-valid confidence sequence for one Bernoulli rate: Robbins' beta-binomial mixture.
//
// For requests that fail independently with rate p, after n requests with s failures the mixture
// likelihood ratio against the point p is
//
//   M_n(p) = B(a + s, b + n − s) / B(a, b)  /  (p^s (1 − p)^(n − s))
//
// (the Beta(a, b) prior mixes the alternatives). Under p it is a nonnegative martingale with
// M_0 = 1, so by Ville's inequality P(∃n: M_n(p) ≥ 1/α) ≤ α. The set {p : M_n(p) < 1/α} therefore
// covers the true rate at every n simultaneously with probability ≥ 1 − α: it may be looked at
// after every request (every scrape) and the process stopped whenever, without inflating α.
// Robbins 1970, "Statistical methods related to the law of the iterated logarithm"; Howard et al.
// 2021, "Time-uniform, nonparametric, nonasymptotic confidence sequences", §3.
import { lnBeta } from './special.ts';

export interface Counts {
  /** Requests that failed (or were slow). Whole, 0 ≤ failed ≤ total. */
  failed: number;
  total: number;
}

export interface Interval {
  lower: number;
  upper: number;
}

/** The prior of the mixture. Jeffreys' Beta(½, ½) keeps mass near 0, where error rates live. */
export const DEFAULT_PRIOR = { a: 0.5, b: 0.5 } as const;

export interface Prior {
  a: number;
  b: number;
}

/** ln M_n(p): the log mixture likelihood ratio of the counts against rate p. */
export function logMixtureRatio(counts: Counts, p: number, prior: Prior = DEFAULT_PRIOR): number {
  const { failed: s, total: n } = counts;
  const logPrior = lnBeta(prior.a + s, prior.b + n - s) - lnBeta(prior.a, prior.b);
  return logPrior - logLikelihood(s, n, p);
}

function logLikelihood(s: number, n: number, p: number): number {
  const fails = s === 0 ? 0 : s * Math.log(p);
  const passes = n - s === 0 ? 0 : (n - s) * Math.log1p(-p);
  return fails + passes;
}

/** Counts made whole and consistent: Prometheus' increase() extrapolates to fractions. */
export function wholeCounts(failed: number, total: number): Counts {
  const t = Math.max(0, Math.round(total));
  const f = Math.min(t, Math.max(0, Math.round(failed)));
  return { failed: f, total: t };
}

const BISECTIONS = 50;

/**
 * The confidence sequence at level 1 − α after these counts: every p with M_n(p) < 1/α. The set is
 * an interval because −ln(p^s (1−p)^(n−s)) is convex in p, smallest at s/n. Bounds are found by
 * bisection to 2^-50 of the search range, rounded outwards.
 */
export function rateInterval(counts: Counts, alpha: number, prior: Prior = DEFAULT_PRIOR): Interval {
  const { failed: s, total: n } = counts;
  if (n === 0) return { lower: 0, upper: 1 };
  const threshold = Math.log(1 / alpha);
  const logPrior = lnBeta(prior.a + s, prior.b + n - s) - lnBeta(prior.a, prior.b);
  // Inside the set: logPrior − logLikelihood(p) < threshold, i.e. logLikelihood(p) > logPrior − threshold.
  const floor = logPrior - threshold;
  const inside = (p: number) => logLikelihood(s, n, p) > floor;
  const centre = s / n;
  const lower = s === 0 ? 0 : edge(inside, centre, 0);
  const upper = s === n ? 1 : edge(inside, centre, 1);
  return { lower, upper };
}

/** Bisection between a point inside the set and a point outside (or the end of [0, 1]). */
function edge(inside: (p: number) => boolean, from: number, to: number): number {
  if (inside(to)) return to;
  let a = from;
  let b = to;
  for (let i = 0; i < BISECTIONS; i++) {
    const mid = (a + b) / 2;
    if (inside(mid)) a = mid;
    else b = mid;
  }
  // The outside end: the reported interval never excludes a point the set holds.
  return b;
}
