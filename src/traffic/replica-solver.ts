// Replica-ratio arithmetic: without a proxy that weighs requests, a Service spreads connections
// evenly over its ready endpoints, so the canary's share is canary / (stable + canary) pods.
// Integer pods make small shares coarse (1 canary beside 10 stable is 9.1 %, not 5 %); surging
// the stable side within a budget gets closer (1 beside 19 is 5 %).
//
// Bounds, and why:
// - stable in [S, S + budget]: the stable side never shrinks below what the user runs;
// - canary in [1, maxCanary] when the weight is above 0, 0 at weight 0;
// - maxCanary defaults to S: a canary is never bigger than the version it replaces, so shares
//   above 50 % are not reachable (promotion rolls the stable Deployment instead). A weight of
//   100 therefore gives S canary beside S stable, 50 %, and the plan warns about it.

export interface ReplicaSplit {
  canaryReplicas: number;
  stableReplicas: number;
  /** canary / (stable + canary), in percent. */
  achievedShare: number;
  /** Stable replicas added above the baseline (stableReplicas - S). */
  extra: number;
  /** |achievedShare - weight|, in percentage points. */
  shareError: number;
}

export interface SolveOptions {
  /** Extra stable replicas allowed above the baseline. Default 0. */
  surgeBudget?: number;
  /** Most canary replicas. Default: the stable baseline. */
  maxCanaryReplicas?: number;
}

// Weights are compared exactly in units of 1e-6 %, so 0.1 and 1/3-ish floats do not tie wrongly.
const UNITS = 1_000_000;

const checkInputs = (weight: number, stableReplicas: number, surgeBudget: number, maxCanary: number): void => {
  if (!Number.isFinite(weight) || weight < 0 || weight > 100) {
    throw new RangeError(`weight ${weight} is not a percent between 0 and 100`);
  }
  if (!Number.isInteger(stableReplicas) || stableReplicas < 1) {
    throw new RangeError(`stable replicas ${stableReplicas}: replica-ratio needs at least 1 stable replica`);
  }
  if (!Number.isInteger(surgeBudget) || surgeBudget < 0) {
    throw new RangeError(`surge budget ${surgeBudget} is not a non-negative integer`);
  }
  if (!Number.isInteger(maxCanary) || maxCanary < 1) {
    throw new RangeError(`max canary replicas ${maxCanary} is not a positive integer`);
  }
};

const split = (canary: number, stable: number, baseline: number, weight: number): ReplicaSplit => {
  const achievedShare = canary === 0 ? 0 : (canary * 100) / (canary + stable);
  return {
    canaryReplicas: canary,
    stableReplicas: stable,
    achievedShare,
    extra: stable - baseline,
    shareError: Math.abs(achievedShare - weight),
  };
};

/** Is (c1, s1) strictly better than (c2, s2) for weight w (percent × UNITS)? */
const better = (w: number, c1: number, s1: number, c2: number, s2: number): boolean => {
  // |c/(c+s) - w/(100·UNITS)| compared without division: errors are e/(c+s) with e below.
  const e1 = Math.abs(c1 * 100 * UNITS - w * (c1 + s1));
  const e2 = Math.abs(c2 * 100 * UNITS - w * (c2 + s2));
  const lhs = e1 * (c2 + s2);
  const rhs = e2 * (c1 + s1);
  if (lhs !== rhs) return lhs < rhs;
  if (c1 + s1 !== c2 + s2) return c1 + s1 < c2 + s2; // fewest pods
  return s1 < s2; // fewest extra stable pods
};

/**
 * The canary and stable replica counts whose share is closest to `weight` percent; ties go to
 * the fewest pods in total, then the fewest extra stable pods.
 */
export const solveReplicaSplit = (weight: number, stableReplicas: number, options: SolveOptions = {}): ReplicaSplit => {
  const surgeBudget = options.surgeBudget ?? 0;
  const maxCanary = options.maxCanaryReplicas ?? stableReplicas;
  checkInputs(weight, stableReplicas, surgeBudget, maxCanary);
  if (weight === 0) return split(0, stableReplicas, stableReplicas, 0);
  const w = Math.round(weight * UNITS);
  let best: [number, number] | undefined;
  for (let stable = stableReplicas; stable <= stableReplicas + surgeBudget; stable++) {
    // c/(c+s) grows with c, so the best c for this s is next to the exact c = w·s/(100 - w).
    const exact = w >= 100 * UNITS ? maxCanary : (w * stable) / (100 * UNITS - w);
    const around = new Set([Math.floor(exact), Math.ceil(exact)].map((c) => Math.min(maxCanary, Math.max(1, c))));
    for (const canary of around) {
      if (best === undefined || better(w, canary, stable, best[0], best[1])) best = [canary, stable];
    }
  }
  const [canary, stable] = best!;
  return split(canary, stable, stableReplicas, weight);
};

/** Percent with at most 2 decimals, for messages. */
export const formatShare = (percent: number): string => `${Number(percent.toFixed(2))} %`;

/** The smallest surge budget (up to `limit`) whose split is within `maxShareError` points. */
const budgetNeeded = (
  weight: number,
  stableReplicas: number,
  maxShareError: number,
  limit: number,
  maxCanaryReplicas?: number,
): number | undefined => {
  for (let surgeBudget = 0; surgeBudget <= limit; surgeBudget++) {
    const options = maxCanaryReplicas === undefined ? { surgeBudget } : { surgeBudget, maxCanaryReplicas };
    if (solveReplicaSplit(weight, stableReplicas, options).shareError <= maxShareError) return surgeBudget;
  }
  return undefined;
};

/**
 * Plan warnings: one line per step weight the replica-ratio router cannot meet. With
 * maxShareError, a step is flagged when its share is off by more points than that; without it,
 * when the share is off by more than a fifth of the weight (5 % served as 9.1 % is flagged,
 * 25 % served as 23.1 % is not). Each warning says what would help: the smallest surge budget
 * that meets the tolerance (when it at most doubles the stable side), else an Ingress.
 */
export const replicaRatioWarnings = (
  weights: number[],
  stableReplicas: number,
  surgeBudget: number,
  maxShareError?: number,
): string[] => {
  const warnings: string[] = [];
  for (const weight of weights) {
    if (weight === 0) continue;
    const result = solveReplicaSplit(weight, stableReplicas, { surgeBudget });
    const tolerance = maxShareError ?? weight / 5;
    if (result.shareError <= tolerance + 1e-9) continue;
    const pods = `${result.canaryReplicas} canary beside ${result.stableReplicas} stable`;
    let advice: string;
    // A surge worth suggesting at most doubles the stable side; beyond that, use an Ingress.
    const needed = budgetNeeded(weight, stableReplicas, tolerance + 1e-9, Math.min(100, stableReplicas));
    if (needed !== undefined) {
      advice = `a surge budget of ${needed} would reach ${formatShare(
        solveReplicaSplit(weight, stableReplicas, { surgeBudget: needed }).achievedShare,
      )}`;
    } else if (weight > 50) {
      advice =
        'replica-ratio never makes the canary bigger than the stable side (at most 50 %); promotion takes it to 100 %';
    } else {
      advice = 'use an Ingress (router ingress-nginx) for precise weights';
    }
    const limit = maxShareError === undefined ? '' : ` (maxShareError ${maxShareError})`;
    warnings.push(
      `step ${weight} %: replica-ratio reaches ${formatShare(result.achievedShare)} with ${pods}${limit}; ${advice}`,
    );
  }
  return warnings;
};
