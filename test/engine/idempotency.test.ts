// Level-triggered and crash-safe: deciding twice on the same inputs never advances twice, and a
// controller killed between any two writes (state persisted first) finishes the release
// correctly, with invariant 1 holding throughout and no step skipped or repeated.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide, initialState } from '../../src/engine/index.ts';
import type { AnalysisDecision } from '../../src/engine/observed.ts';
import type { ManualOperation, ReleaseState } from '../../src/engine/types.ts';
import type { CanaryPolicy } from '../../src/policy/schema.ts';
import { CHECKS, policy, T0 } from './fixtures.ts';
import { Cluster, type Driver, drive, persistAndExecute } from './sim.ts';

const POLICIES: Record<string, CanaryPolicy> = {
  canary: policy(),
  analysed: policy({ analysis: CHECKS }),
  stepPause: policy({
    strategy: { steps: [{ weight: 1, hold: '2m' }, { weight: 10, hold: '2m', pause: true }, { weight: 50 }] },
  }),
  testersFirst: policy({ routing: { header: { name: 'x-canary' }, testersFirst: '3m' }, analysis: CHECKS }),
  blueGreen: policy({ strategy: { type: 'blueGreen' }, analysis: CHECKS }),
  windows: policy({ schedule: { advanceWindows: [{ cron: '*/20 * * * *', duration: '10m' }] } }),
};

type Event =
  | { kind: 'wait'; ms: number }
  | { kind: 'template'; hash: string }
  | { kind: 'op'; op: ManualOperation['op']; toRevision?: number }
  | { kind: 'crash'; keep: number };

const eventArb: fc.Arbitrary<Event> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 20 * 60_000 }) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('template' as const), hash: fc.constantFrom('v1', 'v2', 'v3', 'v4') }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('op' as const),
      op: fc.constantFrom('pause', 'resume', 'promote', 'promoteFull', 'abort', 'retry', 'undo'),
      toRevision: fc.integer({ min: 1, max: 4 }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('crash' as const), keep: fc.integer({ min: 0, max: 4 }) }) },
);

/** The fields that say how far a release got. */
const progress = (state: ReleaseState) => ({
  phase: state.phase,
  stable: state.stable?.revision,
  revision: state.current?.revision,
  stepIndex: state.current?.stepIndex,
  stepStartedAt: state.current?.stepStartedAt,
  weight: state.current?.weight,
  failed: state.failedRevisions,
  history: state.history.length,
});

function scenario(policyName: string, events: Event[], decisions: AnalysisDecision[], opCounter = { n: 0 }) {
  const p = POLICIES[policyName]!;
  let roundIndex = 0;
  const cluster = new Cluster({ analyst: () => decisions[roundIndex++ % decisions.length] ?? 'advance-allowed' });
  let state = initialState();
  let now = T0;
  let keep: number | undefined;
  const steps: Array<{ revision: number; stepIndex: number }> = [];
  for (const item of events) {
    if (item.kind === 'wait') now = new Date(now.getTime() + item.ms);
    if (item.kind === 'template') cluster.setTemplate(item.hash);
    if (item.kind === 'op') {
      opCounter.n += 1;
      cluster.operation = {
        id: `op${opCounter.n}`,
        op: item.op,
        toRevision: item.toRevision,
        by: 'prop',
        at: now.toISOString(),
      };
    }
    if (item.kind === 'crash') {
      keep = item.keep;
      continue;
    }
    const first = decide(p, state, cluster.observe(), now);
    // Same inputs again (a retry, a duplicate event): no further progress.
    const second = decide(p, first.next, cluster.observe(), now);
    expect(progress(second.next)).toEqual(progress(first.next));
    // Persisted before anything is executed, or after the route for a step's start (sim.ts).
    state = persistAndExecute(cluster, state, first, now, keep);
    keep = undefined;
    cluster.tick();
    if (state.current) steps.push({ revision: state.current.revision, stepIndex: state.current.stepIndex });
    now = new Date(now.getTime() + 1_000);
  }
  return { p, cluster, state, now, steps };
}

/** Within one release the step index only ever moves up by one. */
function assertNoStepSkipped(steps: Array<{ revision: number; stepIndex: number }>): void {
  for (let index = 1; index < steps.length; index++) {
    const before = steps[index - 1]!;
    const after = steps[index]!;
    if (before.revision !== after.revision) continue;
    expect(after.stepIndex - before.stepIndex).toBeGreaterThanOrEqual(0);
    expect(after.stepIndex - before.stepIndex).toBeLessThanOrEqual(1);
  }
}

describe('idempotency and crashes', () => {
  it('decide(decide(x).next, same observed, same now) makes no further progress; invariants hold', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.keys(POLICIES)),
        fc.array(eventArb, { minLength: 1, maxLength: 40 }),
        fc.array(
          fc.constantFrom<AnalysisDecision>('advance-allowed', 'advance-allowed', 'continue', 'pause', 'rollback'),
          {
            minLength: 1,
            maxLength: 6,
          },
        ),
        (policyName, events, decisions) => {
          const { cluster, steps } = scenario(policyName, events, decisions);
          expect(cluster.violations).toEqual([]);
          assertNoStepSkipped(steps);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('after any history of crashes and changes, a quiet cluster ends resting, clean and paused at a good revision', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.keys(POLICIES)),
        fc.array(eventArb, { minLength: 1, maxLength: 30 }),
        (policyName, events) => {
          const run = scenario(policyName, events, ['advance-allowed']);
          const driver: Driver = { cluster: run.cluster, state: run.state, now: run.now, phases: [] };
          run.cluster.options.analyst = () => 'advance-allowed';
          const settle = (d: Driver) => {
            if (d.state.phase === 'paused' && d.cluster.operation === undefined) {
              d.cluster.operation = {
                id: `resume-${d.now.getTime()}`,
                op: 'resume',
                by: 'prop',
                at: d.now.toISOString(),
              };
            }
            const resting = ['idle', 'succeeded', 'failed'].includes(d.state.phase);
            return (
              resting && d.cluster.canary === undefined && !d.cluster.route.prepared && d.cluster.deployment.paused
            );
          };
          drive(driver, run.p, settle, { maxCalls: 400 });
          expect(settle(driver)).toBe(true);
          expect(run.cluster.violations).toEqual([]);
          const { stable, failedRevisions } = driver.state;
          const held = run.cluster.deployment.hash;
          expect(held === stable?.templateHash || failedRevisions.includes(held)).toBe(true);
          expect(run.cluster.deployment.podsHash).toBe(stable?.templateHash);
        },
      ),
      { numRuns: 150 },
    );
  });

  // Every crash point of every policy: CPU-bound, and slow on a loaded 2-core machine.
  it('a release killed after every single write finishes exactly like an uninterrupted one', () => {
    for (const name of Object.keys(POLICIES)) {
      const p = POLICIES[name]!;
      const reference = releaseOnce(p, () => undefined);
      for (let crashAt = 0; crashAt < 30; crashAt++) {
        const crashed = releaseOnce(p, (call) => (call === crashAt ? 0 : call === crashAt + 1 ? 1 : undefined));
        expect(crashed.weights, `${name}, crash at call ${crashAt}`).toEqual(reference.weights);
        expect(crashed.outcome).toEqual(reference.outcome);
        expect(crashed.violations).toEqual([]);
      }
    }
  }, 60_000);

  it('next is exactly what survives a JSON round trip', () => {
    const { next } = decide(POLICIES.canary!, initialState(), new Cluster().observe(), T0);
    expect(JSON.parse(JSON.stringify(next))).toEqual(next);
  });
});

function releaseOnce(p: CanaryPolicy, crashAfter: (call: number) => number | undefined) {
  const driver: Driver = { cluster: new Cluster(), state: initialState(), now: T0, phases: [] };
  drive(driver, p, (d) => d.state.stable !== undefined && d.cluster.deployment.paused);
  driver.cluster.setTemplate('v2');
  let call = 0;
  drive(
    driver,
    p,
    (d) => {
      if (
        d.state.phase === 'paused' &&
        d.cluster.operation === undefined &&
        d.state.current?.pausedBy?.cause === 'step'
      ) {
        d.cluster.operation = {
          id: `resume-${d.state.current.stepIndex}`,
          op: 'resume',
          by: 'prop',
          at: d.now.toISOString(),
        };
      }
      return d.state.phase === 'succeeded' && d.cluster.canary === undefined && !d.cluster.route.prepared;
    },
    { crashAfter: () => crashAfter(call++) },
  );
  const weights = driver.cluster.log.flatMap((a) => (a.type === 'setWeight' ? [a.weight] : []));
  const distinct = weights.filter((w, i) => i === 0 || w !== weights[i - 1]);
  return {
    weights: distinct,
    outcome: driver.state.history.map((h) => [h.revision, h.outcome]),
    violations: driver.cluster.violations,
  };
}
