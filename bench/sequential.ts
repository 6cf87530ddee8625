// Benchmark "sequential" (no cluster): how fast and how safely the sequential check decides,
// against canaryd's threshold check and a classical z-test, on simulated traffic of 100
// requests/s with one analysis round every 30 s (bench/lib/sequential-sim.ts). Seeded: the same
// flags print the same numbers.
import { type Flags, intFlag, percentile, round, say, table, writeResults } from './lib/common.ts';
import { seededRandom } from './lib/random.ts';
import {
  type Decider,
  fixedHorizonCanaryRequests,
  peekingZDecider,
  ROUND_S,
  RPS,
  roundsToRollback,
  sequentialDecider,
  simulateRound,
  thresholdDecider,
  waldBoundCanaryRequests,
  wilson,
  Z_95,
  zStatistic,
} from './lib/sequential-sim.ts';

const STABLE = 0.001;
const CANARY = 0.005;
const WEIGHTS = [0.01, 0.05];
const MAX_HOURS = 8;

const deciders: Array<() => Decider> = [
  sequentialDecider(0.1),
  sequentialDecider(0),
  thresholdDecider('threshold: successRate min 99 (default), failureLimit 2', {}, { windowRounds: 2, failureLimit: 2 }),
  thresholdDecider(
    'threshold: relative maxBelow 0.5, min 95, critical (docs example)',
    { relative: { maxBelow: 0.5 }, min: 95, critical: true },
    { windowRounds: 2, failureLimit: 2 },
  ),
];

const minutes = (rounds: number) => (rounds * ROUND_S) / 60;

/** Median and p90 over every trial, an undetected trial counting as "never" (null beyond). */
function quantiles(values: Array<number | null>, p: number): number | null {
  const detected = values.filter((v): v is number => v !== null);
  const rank = Math.ceil((p / 100) * values.length);
  if (rank > detected.length) return null;
  return percentile(detected, (rank / detected.length) * 100);
}

function regression(trials: number) {
  const rows: Array<Array<string | number | null>> = [];
  const results = [];
  for (const weight of WEIGHTS) {
    const maxRounds = (MAX_HOURS * 3600) / ROUND_S;
    for (const make of deciders) {
      const random = seededRandom(1000 + weight * 1000);
      const times: Array<number | null> = [];
      const requests: Array<number | null> = [];
      let name = '';
      for (let t = 0; t < trials; t++) {
        const decider = make();
        name = decider.name;
        const outcome = roundsToRollback(random, decider, weight, { canary: CANARY, stable: STABLE }, maxRounds);
        times.push(outcome.round === null ? null : minutes(outcome.round));
        requests.push(outcome.round === null ? null : outcome.canaryRequests);
      }
      const detected = times.filter((v) => v !== null).length / trials;
      const row = {
        weight: weight * 100,
        method: name,
        rolledBackWithin8h: round(detected, 3),
        medianMinutes: round(quantiles(times, 50), 1),
        p90Minutes: round(quantiles(times, 90), 1),
        medianCanaryRequests: quantiles(requests, 50),
        p90CanaryRequests: quantiles(requests, 90),
      };
      results.push(row);
      rows.push(Object.values(row));
    }
    // Fixed horizon: decide once, after the sample a z-test needs for 80 % power.
    const needed = fixedHorizonCanaryRequests(CANARY, STABLE, weight);
    const random = seededRandom(2000 + weight * 1000);
    let rejected = 0;
    for (let t = 0; t < trials; t++) {
      const canary = { failed: 0, total: 0 };
      const stable = { failed: 0, total: 0 };
      while (canary.total < needed) {
        const r = simulateRound(random, weight, { canary: CANARY, stable: STABLE });
        canary.failed += r.canary.failed;
        canary.total += r.canary.total;
        stable.failed += r.stable.failed;
        stable.total += r.stable.total;
      }
      if (zStatistic(canary, stable) > Z_95) rejected++;
    }
    const horizonMinutes = needed / (RPS * weight) / 60;
    const row = {
      weight: weight * 100,
      method: 'fixed-horizon z-test (α 0.05, 80 % power), decides once',
      rolledBackWithin8h: round(rejected / trials, 3),
      medianMinutes: round(horizonMinutes, 1),
      p90Minutes: round(horizonMinutes, 1),
      medianCanaryRequests: needed,
      p90CanaryRequests: needed,
    };
    results.push(row);
    rows.push(Object.values(row));
  }
  say(`regression: stable ${STABLE * 100} %, canary ${CANARY * 100} % errors, ${RPS} req/s, ${trials} trials each`);
  table(['weight %', 'method', 'rolled back', 'median min', 'p90 min', 'median canary req', 'p90 canary req'], rows);
  const bound = waldBoundCanaryRequests(CANARY, STABLE, 0.05);
  const waldBound = WEIGHTS.map((weight) => ({
    weight: weight * 100,
    meanCanaryRequests: Math.ceil(bound),
    meanMinutes: round(bound / (RPS * weight) / 60, 1),
  }));
  say(
    `any test with false rollbacks ≤ 0.05 that always rolls back needs on average ≥ ${Math.ceil(bound)} canary requests ` +
      `(Wald, stable's rate known): ${waldBound.map((w) => `${w.meanMinutes} min at ${w.weight} %`).join(', ')}`,
  );
  return { rows: results, waldBound };
}

/** Healthy releases (canary = stable): how many does each decider roll back? */
function healthy(releases: number, schedule: Array<{ weight: number; rounds: number }>, label: string) {
  const makers: Array<() => Decider> = [...deciders, peekingZDecider];
  const rows: Array<Array<string | number | null>> = [];
  const results = [];
  for (const make of makers) {
    const random = seededRandom(3000);
    let rollbacks = 0;
    let name = '';
    for (let r = 0; r < releases; r++) {
      const decider = make();
      name = decider.name;
      let index = 0;
      let rolledBack = false;
      for (const step of schedule) {
        for (let i = 0; i < step.rounds && !rolledBack; i++) {
          rolledBack = decider.observe(simulateRound(random, step.weight, { canary: STABLE, stable: STABLE }), index++);
        }
      }
      if (rolledBack) rollbacks++;
    }
    const [low, high] = wilson(rollbacks, releases);
    const row = {
      schedule: label,
      method: name,
      falseRollbacks: rollbacks,
      rate: round(rollbacks / releases, 4),
      interval95: `[${round(low, 4)}, ${round(high, 4)}]`,
    };
    results.push(row);
    rows.push(Object.values(row));
  }
  say(`healthy releases (canary = stable = ${STABLE * 100} % errors), ${releases} each, ${label}`);
  table(['schedule', 'method', 'false rollbacks', 'rate', 'Wilson 95 %'], rows);
  return results;
}

/** A +20 % latency shift: with lognormal latency (σ 0.5), the share above stable's p99 goes 1 % → 2.49 %. */
function latency(trials: number) {
  const slowStable = 0.01;
  // P(1.2·X > q99) = 1 − Φ(2.3263 − ln 1.2 / 0.5)
  const slowCanary = 0.02491;
  const rows: Array<Array<string | number | null>> = [];
  const results = [];
  for (const weight of WEIGHTS) {
    for (const delta of [1, 0.5, 0]) {
      const random = seededRandom(4000 + weight * 1000 + delta * 10);
      const times: Array<number | null> = [];
      for (let t = 0; t < trials; t++) {
        const outcome = roundsToRollback(
          random,
          sequentialDecider(delta)(),
          weight,
          { canary: slowCanary, stable: slowStable },
          (MAX_HOURS * 3600) / ROUND_S,
        );
        times.push(outcome.round === null ? null : minutes(outcome.round));
      }
      const row = {
        weight: weight * 100,
        delta,
        detectedWithin8h: round(times.filter((v) => v !== null).length / trials, 3),
        medianMinutes: round(quantiles(times, 50), 1),
        p90Minutes: round(quantiles(times, 90), 1),
      };
      results.push(row);
      rows.push(Object.values(row));
    }
  }
  say(`latency: +20 % at every quantile (lognormal σ 0.5), slowerThan = stable p99: slow share 1 % → 2.49 %`);
  table(['weight %', 'delta pt', 'detected', 'median min', 'p90 min'], rows);
  return results;
}

export async function sequential(flags: Flags): Promise<{ ok: boolean }> {
  const trials = intFlag(flags, 'trials', 200);
  const releases = intFlag(flags, 'releases', 10_000);
  const regressionResults = regression(trials);
  const defaultSteps = [1, 5, 25, 50].map((w) => ({ weight: w / 100, rounds: (5 * 60) / ROUND_S }));
  const healthyDefault = healthy(releases, defaultSteps, 'steps 1/5/25/50 %, 5m each');
  const longReleases = intFlag(flags, 'long-releases', 2000);
  const healthyLong = healthy(longReleases, [{ weight: 0.05, rounds: (2 * 3600) / ROUND_S }], '2h at 5 %');
  const latencyResults = latency(trials);
  writeResults('sequential', {
    settings: {
      rps: RPS,
      roundSeconds: ROUND_S,
      stableErrorRate: STABLE,
      canaryErrorRate: CANARY,
      trials,
      releases,
      longReleases,
    },
    regression: regressionResults.rows,
    waldBound: regressionResults.waldBound,
    healthy: [...healthyDefault, ...healthyLong],
    latency: latencyResults,
  });
  // Pass when every sequential false-rollback rate is within α (0.05).
  const ok = [...healthyDefault, ...healthyLong]
    .filter((r) => r.method.startsWith('sequential'))
    .every((r) => (r.rate ?? 1) <= 0.05);
  return { ok };
}
