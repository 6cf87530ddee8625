// The pass's decisions besides decide(): analysis evidence per release, the resume allowance, and
// when drift on the route or the canary's size is put back or reported. Table-driven.
import { describe, expect, it } from 'vitest';
import { INITIAL_COUNTERS } from '../../src/analysis/index.ts';
import {
  canaryResized,
  countersAfterDecision,
  driftToPutBack,
  evidenceForRelease,
  type ReleaseEvidence,
  type ReleaseState,
} from '../../src/engine/index.ts';
import { adoptedState, operation, releaseState } from './fixtures.ts';

const counters = { ...INITIAL_COUNTERS, rounds: 7, consecutiveInconclusiveRounds: 3, failedRounds: 1 };
const evidence: ReleaseEvidence<{ check: string; value: number }> = {
  templateHash: 'v2',
  counters,
  measurements: [{ check: 'success-rate', value: 99.9 }],
};

describe('evidenceForRelease', () => {
  it.each([
    ['the same release keeps its counters and measurements', releaseState('progressing'), evidence],
    ['no release in flight keeps what there is', adoptedState(), evidence],
    [
      'a new template starts from zero',
      releaseState('progressing', { templateHash: 'v3' }),
      { templateHash: 'v3', counters: INITIAL_COUNTERS, measurements: [] },
    ],
    [
      'evidence of no release yet is of the first one',
      releaseState('progressing'),
      { templateHash: 'v2', counters: INITIAL_COUNTERS, measurements: [] },
      { counters: INITIAL_COUNTERS, measurements: [] } as typeof evidence,
    ],
  ])('%s', (_, release, expected, from = evidence) => {
    expect(evidenceForRelease(from, release)).toEqual(expected);
  });
});

describe('countersAfterDecision', () => {
  const resume = operation('resume');
  const applied = (state: ReleaseState, id: string): ReleaseState => ({ ...state, recentOperationIds: [id] });
  it.each([
    [
      'a resume applied this pass: a fresh inconclusive allowance',
      resume,
      applied(releaseState('paused'), resume.id),
      0,
    ],
    ['a resume not applied (refused, or seen before): unchanged', resume, releaseState('paused'), 3],
    ['another operation applied: unchanged', operation('pause'), applied(releaseState('paused'), 'op-pause-'), 3],
    ['no operation: unchanged', undefined, releaseState('progressing'), 3],
  ])('%s', (_, op, next, inconclusive) => {
    const after = countersAfterDecision(counters, op, next);
    expect(after.consecutiveInconclusiveRounds).toBe(inconclusive);
    // Everything else is evidence and stays.
    expect({ ...after, consecutiveInconclusiveRounds: 3 }).toEqual(counters);
  });
});

describe('driftToPutBack', () => {
  const drift = 'canary-weight edited to 40';
  const atStep = releaseState('progressing', { weight: 10 });
  it.each([
    ['a step carries its weight and canaryd wrote it: put back', atStep, { drift, requestedWeight: 10 }, false, true],
    ['paused at a step: put back', releaseState('paused', { weight: 10 }), { drift, requestedWeight: 10 }, false, true],
    ['no drift: nothing', atStep, { requestedWeight: 10 }, false, false],
    [
      "canaryd's own weight not written yet (restarted between saving the step and writing it): the engine writes it",
      atStep,
      { drift, requestedWeight: 5 },
      false,
      false,
    ],
    ['the policy is being deleted: the cleanup converges', atStep, { drift, requestedWeight: 10 }, true, false],
    [
      'the step has not started (its canary not ready): the engine converges',
      releaseState('progressing', { weight: 10, stepStartedAt: undefined }),
      { drift, requestedWeight: 10 },
      false,
      false,
    ],
    [
      'promoting: the engine converges',
      releaseState('promoting', { weight: 10 }),
      { drift, requestedWeight: 10 },
      false,
      false,
    ],
    [
      'rolling back: the engine converges',
      releaseState('rollingBack', { weight: 10 }),
      { drift, requestedWeight: 10 },
      false,
      false,
    ],
    ['no release: nothing', adoptedState(), { drift, requestedWeight: 0 }, false, false],
  ])('%s', (_, release, route, deleting, puts) => {
    const decided = driftToPutBack(release, route, deleting);
    expect(decided).toEqual(puts ? { drift, weight: 10 } : undefined);
  });
});

describe('canaryResized', () => {
  const atStep = releaseState('progressing', { weight: 10, stepIndex: 1 });
  const canary = (replicas: number, templateHash = 'v2') => ({
    templateHash,
    replicas,
    readyReplicas: replicas,
    servingReplicas: replicas,
  });
  it.each([
    [
      'resized at a step: reported with what the step needs',
      atStep,
      canary(5),
      [1, 2, 3],
      { replicas: 5, wanted: 2, step: 2 },
    ],
    ['the size the step needs: nothing', atStep, canary(2), [1, 2, 3], undefined],
    ['a canary of another template (being replaced): nothing', atStep, canary(5, 'v1'), [1, 2, 3], undefined],
    ['a router that does not size the canary per step: nothing', atStep, canary(5), undefined, undefined],
    [
      'the step not started yet: nothing',
      releaseState('progressing', { stepIndex: 1, stepStartedAt: undefined }),
      canary(5),
      [1, 2, 3],
      undefined,
    ],
    ['promoting: nothing', releaseState('promoting', { stepIndex: 1 }), canary(5), [1, 2, 3], undefined],
  ])('%s', (_, release, observedCanary, perStep, expected) => {
    expect(canaryResized(release, { canary: observedCanary, canaryReplicasPerStep: perStep })).toEqual(expected);
  });
  it('no release: nothing', () => {
    expect(canaryResized(adoptedState(), { canary: canary(5), canaryReplicasPerStep: [1] })).toBeUndefined();
  });
});
