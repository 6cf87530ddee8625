// Simulated releases for `npm run bench -- sequential`: 100 requests/s split between canary and
// stable, one analysis round every 30 s, each request failing independently at its side's rate.
// Three deciders look at the same simulated traffic: the sequential check (the product code), a
// threshold check judged exactly like canaryd's (src/analysis/checks.ts), and a classical
// two-proportion z-test (at a fixed horizon, or peeked at every round).
import { judge } from '../../src/analysis/checks.ts';
import { compareRates, EMPTY_RATIO, foldInterval } from '../../src/analysis/sequential/index.ts';
import { type CheckSpec, checkSpec } from '../../src/policy/schema.ts';
import { binomial } from './random.ts';

export const RPS = 100;
export const ROUND_S = 30;

export interface Side {
  failed: number;
  total: number;
}
export interface Round {
  canary: Side;
  stable: Side;
}

/** One round of traffic: each of RPS × ROUND_S requests goes to the canary with probability `weight`. */
export function simulateRound(random: () => number, weight: number, rates: { canary: number; stable: number }): Round {
  const requests = RPS * ROUND_S;
  const canary = binomial(random, requests, weight);
  const stable = requests - canary;
  return {
    canary: { failed: binomial(random, canary, rates.canary), total: canary },
    stable: { failed: binomial(random, stable, rates.stable), total: stable },
  };
}

const add = (a: Side, b: Side): Side => ({ failed: a.failed + b.failed, total: a.total + b.total });

/** A decider sees every round and says when it would roll back. */
export interface Decider {
  name: string;
  /** True: roll back now. */
  observe(round: Round, index: number): boolean;
}

export function sequentialDecider(delta: number, alpha = 0.05): () => Decider {
  return () => {
    let canary = { failed: 0, total: 0 };
    let stable = { failed: 0, total: 0 };
    // The product's evidence: cumulative counts per side, and the ratio test fed each round's new counts.
    let ratio = EMPTY_RATIO;
    return {
      name: `sequential δ ${delta} pt${delta === 0 ? ' (guard)' : ''}, α ${alpha}`,
      observe(round) {
        canary = add(canary, round.canary);
        stable = add(stable, round.stable);
        ratio = foldInterval(ratio, round.canary, round.stable);
        return compareRates(canary, stable, ratio, { delta: delta / 100, alpha }).outcome === 'regression';
      },
    };
  };
}

/**
 * canaryd's threshold check on the success rate over a `windowRounds` window, rolling back like
 * decide.ts: at once when critical, else when failed rounds exceed failureLimit.
 */
export function thresholdDecider(
  label: string,
  fields: Partial<CheckSpec>,
  options: { windowRounds: number; failureLimit: number },
): () => Decider {
  const check = checkSpec.parse({ name: 'success', type: 'successRate', ...fields });
  return () => {
    const recent: Round[] = [];
    let failed = 0;
    return {
      name: label,
      observe(round) {
        recent.push(round);
        if (recent.length > options.windowRounds) recent.shift();
        const canary = recent.map((r) => r.canary).reduce(add);
        const stable = recent.map((r) => r.stable).reduce(add);
        const rate = (s: Side) =>
          s.total === 0 ? { kind: 'nan' as const, at: new Date(0) } : value((100 * (s.total - s.failed)) / s.total);
        const judgement = judge(check, { canary: rate(canary), stable: rate(stable), sample: value(canary.total) });
        if (judgement.verdict !== 'fail') return false;
        failed++;
        return check.critical || failed > options.failureLimit;
      },
    };
  };
}

const value = (v: number) => ({ kind: 'value' as const, value: v, at: new Date(0) });

/** One-sided two-proportion z statistic for "canary rate > stable rate" (pooled variance). */
export function zStatistic(canary: Side, stable: Side): number {
  if (canary.total === 0 || stable.total === 0) return 0;
  const pooled = (canary.failed + stable.failed) / (canary.total + stable.total);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / canary.total + 1 / stable.total));
  if (se === 0) return 0;
  return (canary.failed / canary.total - stable.failed / stable.total) / se;
}

export const Z_95 = 1.6448536269514722;

/** The z-test looked at after every round (peeking): what a fixed-horizon test becomes when re-run. */
export function peekingZDecider(): Decider {
  let canary = { failed: 0, total: 0 };
  let stable = { failed: 0, total: 0 };
  return {
    name: 'z-test peeking every round',
    observe(round) {
      canary = add(canary, round.canary);
      stable = add(stable, round.stable);
      return canary.failed >= 1 && zStatistic(canary, stable) > Z_95;
    },
  };
}

/**
 * Canary requests a one-sided two-proportion z-test at α 0.05 needs for 80 % power (z 0.8416),
 * with stable getting (1 − w)/w times as many: the classical fixed-horizon sample size.
 */
export function fixedHorizonCanaryRequests(canaryRate: number, stableRate: number, weight: number): number {
  const k = (1 - weight) / weight;
  const pooled = (canaryRate + k * stableRate) / (1 + k);
  const a = Z_95 * Math.sqrt(pooled * (1 - pooled) * (1 + 1 / k));
  const b = 0.8416212335729143 * Math.sqrt(canaryRate * (1 - canaryRate) + (stableRate * (1 - stableRate)) / k);
  return Math.ceil(((a + b) / (canaryRate - stableRate)) ** 2);
}

/** Runs a decider over rounds until it rolls back or `maxRounds` pass; the round index or null. */
export function roundsToRollback(
  random: () => number,
  decider: Decider,
  weight: number,
  rates: { canary: number; stable: number },
  maxRounds: number,
): { round: number | null; canaryRequests: number } {
  let canaryRequests = 0;
  for (let i = 0; i < maxRounds; i++) {
    const round = simulateRound(random, weight, rates);
    canaryRequests += round.canary.total;
    if (decider.observe(round, i)) return { round: i + 1, canaryRequests };
  }
  return { round: null, canaryRequests };
}

/** Wilson 95 % interval of a proportion. */
export function wilson(successes: number, n: number): [number, number] {
  const z = 1.959963984540054;
  const p = successes / n;
  const centre = (p + (z * z) / (2 * n)) / (1 + (z * z) / n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / (1 + (z * z) / n);
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

/**
 * Wald's bound on the expected canary requests of ANY test that keeps false rollbacks ≤ α over
 * an unlimited release and always rolls back the regression, even one told stable's rate
 * exactly: E[N] ≥ ln(1/α) / KL(canary ‖ stable), the Kullback–Leibler divergence per canary
 * request (Wald 1947, §4.3; β → 0). A threshold check gets under it only by giving up the α
 * bound: its false rollbacks grow with every round it looks.
 */
export function waldBoundCanaryRequests(canaryRate: number, stableRate: number, alpha: number): number {
  const kl =
    canaryRate * Math.log(canaryRate / stableRate) + (1 - canaryRate) * Math.log((1 - canaryRate) / (1 - stableRate));
  return Math.log(1 / alpha) / kl;
}
