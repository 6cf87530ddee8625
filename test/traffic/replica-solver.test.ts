import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { replicaRatioWarnings, solveReplicaSplit } from '../../src/traffic/replica-solver.ts';

// The reference: every (stable, canary) pair in the bounds, compared with exact rationals.
const bruteForce = (weight: number, stableReplicas: number, surgeBudget: number) => {
  let best = { canary: 0, stable: stableReplicas, error: Number.POSITIVE_INFINITY };
  if (weight === 0) return { canary: 0, stable: stableReplicas, error: 0 };
  for (let stable = stableReplicas; stable <= stableReplicas + surgeBudget; stable++) {
    for (let canary = 1; canary <= stableReplicas; canary++) {
      const error = Math.abs(canary / (canary + stable) - weight / 100);
      const total = canary + stable;
      const bestTotal = best.canary + best.stable;
      if (
        error < best.error - 1e-12 ||
        (Math.abs(error - best.error) <= 1e-12 && (total < bestTotal || (total === bestTotal && stable < best.stable)))
      ) {
        best = { canary, stable, error };
      }
    }
  }
  return best;
};

describe('solveReplicaSplit', () => {
  it('gives the issue example: 5 % on 10 stable is 1 canary (9.1 %), and exactly 5 % with a surge budget of 9', () => {
    expect(solveReplicaSplit(5, 10)).toMatchObject({ canaryReplicas: 1, stableReplicas: 10, extra: 0 });
    expect(solveReplicaSplit(5, 10).achievedShare).toBeCloseTo(9.0909, 3);
    expect(solveReplicaSplit(5, 10, { surgeBudget: 9 })).toMatchObject({
      canaryReplicas: 1,
      stableReplicas: 19,
      achievedShare: 5,
      extra: 9,
      shareError: 0,
    });
  });

  it('runs no canary at weight 0 and never more canary than stable pods (100 % gives 50 %)', () => {
    expect(solveReplicaSplit(0, 7, { surgeBudget: 5 })).toMatchObject({ canaryReplicas: 0, stableReplicas: 7 });
    expect(solveReplicaSplit(100, 4)).toMatchObject({ canaryReplicas: 4, stableReplicas: 4, achievedShare: 50 });
    expect(solveReplicaSplit(50, 4, { surgeBudget: 3 })).toMatchObject({ canaryReplicas: 4, stableReplicas: 4 });
  });

  it('is optimal within the budget for every weight 0.1..100 (step 0.1), replicas 1-50 and budgets 0, 1, 3, 10', () => {
    let checked = 0;
    for (const surgeBudget of [0, 1, 3, 10]) {
      for (let stableReplicas = 1; stableReplicas <= 50; stableReplicas++) {
        for (let tenths = 1; tenths <= 1000; tenths++) {
          const weight = tenths / 10;
          const got = solveReplicaSplit(weight, stableReplicas, { surgeBudget });
          const want = bruteForce(weight, stableReplicas, surgeBudget);
          if (got.canaryReplicas !== want.canary || got.stableReplicas !== want.stable) {
            expect({ weight, stableReplicas, surgeBudget, got }).toEqual({
              weight,
              stableReplicas,
              surgeBudget,
              got: { ...got, canaryReplicas: want.canary, stableReplicas: want.stable },
            });
          }
          checked++;
        }
      }
    }
    expect(checked).toBe(4 * 50 * 1000);
  });

  it('keeps its bounds and reports the share of the pods it chose, for any input', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 100, noNaN: true }),
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 0, max: 100 }),
        (weight, stableReplicas, surgeBudget) => {
          const split = solveReplicaSplit(weight, stableReplicas, { surgeBudget });
          expect(split.stableReplicas).toBeGreaterThanOrEqual(stableReplicas);
          expect(split.stableReplicas).toBeLessThanOrEqual(stableReplicas + surgeBudget);
          expect(split.canaryReplicas).toBeLessThanOrEqual(stableReplicas);
          expect(split.canaryReplicas === 0).toBe(weight === 0);
          const share =
            split.canaryReplicas === 0
              ? 0
              : (100 * split.canaryReplicas) / (split.canaryReplicas + split.stableReplicas);
          expect(split.achievedShare).toBeCloseTo(share, 9);
          expect(split.shareError).toBeCloseTo(Math.abs(share - weight), 9);
        },
      ),
    );
  });

  it('rejects weights and replica counts it cannot honour', () => {
    expect(() => solveReplicaSplit(101, 3)).toThrow(/between 0 and 100/);
    expect(() => solveReplicaSplit(Number.NaN, 3)).toThrow(/between 0 and 100/);
    expect(() => solveReplicaSplit(5, 0)).toThrow(/at least 1 stable replica/);
    expect(() => solveReplicaSplit(5, 3, { surgeBudget: -1 })).toThrow(/surge budget/);
  });
});

describe('replicaRatioWarnings (for `kubectl canary plan`)', () => {
  it('warns about steps the pods cannot approach and says which surge budget would', () => {
    const warnings = replicaRatioWarnings([1, 5, 25, 50], 10, 0);
    expect(warnings).toEqual([
      'step 1 %: replica-ratio reaches 9.09 % with 1 canary beside 10 stable; use an Ingress (router ingress-nginx) for precise weights',
      'step 5 %: replica-ratio reaches 9.09 % with 1 canary beside 10 stable; a surge budget of 6 would reach 5.88 %',
    ]);
  });

  it('uses maxShareError, in points, when the policy sets it', () => {
    expect(replicaRatioWarnings([25], 10, 0, 1)).toEqual([
      'step 25 %: replica-ratio reaches 23.08 % with 3 canary beside 10 stable (maxShareError 1); a surge budget of 2 would reach 25 %',
    ]);
    expect(replicaRatioWarnings([25], 10, 0, 2)).toEqual([]);
  });

  it('says why shares above 50 % are not reached, and is silent for weights that are met', () => {
    expect(replicaRatioWarnings([100], 4, 0)[0]).toMatch(/at most 50 %.*promotion/);
    expect(replicaRatioWarnings([0, 10, 50], 9, 0)).toEqual([]);
  });
});
