// Outside hands on the stable Deployment during a release (issue 12): what is drift and put
// back, what is honoured, what is only reported. Table-driven over the phases that hold a release.
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/engine/index.ts';
import type { FieldWriter, Observed } from '../../src/engine/observed.ts';
import type { ReleaseState } from '../../src/engine/types.ts';
import {
  at,
  canaryObserved,
  deployment,
  effects,
  eventsOf,
  iso,
  policy,
  releaseState,
  SEC,
  template,
  types,
} from './fixtures.ts';

const rollout: FieldWriter = { manager: 'kubectl-rollout', operation: 'Update', time: '2026-03-02T10:00:01Z' };
const kubectlSet: FieldWriter = { manager: 'kubectl-set', operation: 'Update', time: '2026-03-02T10:00:01Z' };
const scaler: FieldWriter = { manager: 'kubectl-scale', operation: 'Update', subresource: 'scale' };

const stepState = (extra: Partial<NonNullable<ReleaseState['current']>> = {}) =>
  releaseState('progressing', { stepStartedAt: iso(0), weight: 1, stableReplicas: 4, ...extra });

describe('unpaused during a release (kubectl rollout resume)', () => {
  it.each([{ phase: 'progressing' as const }, { phase: 'paused' as const }])(
    'in $phase: paused again at once, one DriftCorrected Event, the step goes on',
    ({ phase }) => {
      const state = releaseState(phase, { stepStartedAt: iso(0), weight: 1, stableReplicas: 4 });
      const o = canaryObserved(1, { deployment: deployment('v2', { paused: false, rolloutComplete: false }) });
      const first = decide(policy(), state, o, at(10 * SEC));
      expect(types(effects(first.actions))[0]).toBe('repauseStable');
      const [drift] = eventsOf(first.actions).filter((e) => e.reason === 'DriftCorrected');
      expect(drift?.eventType).toBe('Warning');
      expect(drift?.message).toContain('unpaused');
      expect(drift?.message).toContain('kubectl rollout resume');
      expect(drift?.message).toContain('kubectl canary abort');
      expect(first.next.phase).toBe(phase);
      expect(first.next.current?.stepIndex).toBe(0);

      // Seen again before the pause landed: paused again, no second Event.
      const again = decide(policy(), first.next, o, at(10.3 * SEC));
      expect(types(effects(again.actions))[0]).toBe('repauseStable');
      expect(eventsOf(again.actions).filter((e) => e.reason === 'DriftCorrected')).toEqual([]);

      // Paused again: nothing more; a later unpause is a new Event.
      const calm = decide(policy(), again.next, canaryObserved(1), at(11 * SEC));
      expect(types(effects(calm.actions))).not.toContain('repauseStable');
      const later = decide(policy(), calm.next, o, at(12 * SEC));
      expect(eventsOf(later.actions).filter((e) => e.reason === 'DriftCorrected')).toHaveLength(1);
    },
  );

  it('a release superseding a promotion pauses the Deployment canaryd itself unpaused, without blaming anyone', () => {
    const state = releaseState('promoting', { weight: 25, deadlines: { promotion: iso(60 * SEC) } });
    const o = canaryObserved(25, {
      deployment: deployment('v3', { paused: false, rolloutComplete: false, writers: { template: kubectlSet } }),
    });
    const { next, actions } = decide(policy(), state, o, at(5 * SEC));
    expect(next.current?.templateHash).toBe('v3');
    expect(types(effects(actions))[0]).toBe('repauseStable');
    expect(eventsOf(actions).map((e) => e.reason)).not.toContain('DriftCorrected');
    const later = decide(policy(), next, o, at(6 * SEC));
    expect(eventsOf(later.actions).map((e) => e.reason)).not.toContain('DriftCorrected');
  });

  it('while waiting for a start window the Deployment (holding the new template) is paused again at once', () => {
    const state = releaseState('waiting', { startedAt: undefined, stepStartedAt: undefined, weight: 0 });
    const windowed = policy({ schedule: { timeZone: 'UTC', startWindows: [{ cron: '0 3 * * *', duration: '1h' }] } });
    const o: Observed = canaryObserved(0, {
      canary: undefined,
      route: { prepared: false, weight: 0, achievedWeight: 0, testersRouting: false },
      deployment: deployment('v2', { paused: false, rolloutComplete: false }),
    });
    const { next, actions } = decide(windowed, state, o, at(SEC));
    expect(next.phase).toBe('waiting');
    expect(types(effects(actions))).toEqual(['repauseStable']);
    expect(eventsOf(actions).map((e) => e.reason)).toContain('DriftCorrected');
  });
});

describe('the template rewritten during a release: who wrote it decides', () => {
  const restarted = (writer: FieldWriter) =>
    canaryObserved(1, {
      deployment: deployment('v2r', {
        template: template('app:v2'),
        changeCause: 'pod template changed',
        paused: true,
        writers: { template: writer },
      }),
    });

  it('kubectl rollout restart (field manager kubectl-rollout): the release template is written back, named in the Event', () => {
    const { next, actions } = decide(policy(), stepState(), restarted(rollout), at(10 * SEC));
    expect(next.phase).toBe('progressing');
    expect(next.current?.revision).toBe(2);
    expect(effects(actions)).toContainEqual({
      type: 'applyTemplate',
      templateHash: 'v2',
      template: template('app:v2'),
    });
    const [drift] = eventsOf(actions).filter((e) => e.reason === 'DriftCorrected');
    expect(drift?.message).toContain('field manager kubectl-rollout (Update at 2026-03-02T10:00:01Z)');
    expect(drift?.message).toContain('v2r');
  });

  it('kubectl rollout undo to a revision that is neither stable nor this one (recorded as `kubectl`): put back too', () => {
    const undo: FieldWriter = { manager: 'kubectl', operation: 'Update', time: '2026-03-02T10:00:01Z' };
    const { next, actions } = decide(policy(), stepState(), restarted(undo), at(10 * SEC));
    expect(next.current?.templateHash).toBe('v2');
    expect(types(effects(actions))).toContain('applyTemplate');
    expect(eventsOf(actions).find((e) => e.reason === 'DriftCorrected')?.message).toContain('field manager kubectl ');
  });

  it('during promotion too: the template goes back (paused), promotion unpauses it again', () => {
    const state = releaseState('promoting', { weight: 25, deadlines: { promotion: iso(60 * SEC) } });
    const o = canaryObserved(25, {
      deployment: deployment('v2r', { paused: false, rolloutComplete: false, writers: { template: rollout } }),
    });
    const { next, actions } = decide(policy(), state, o, at(5 * SEC));
    expect(next.phase).toBe('promoting');
    expect(types(effects(actions))).toContain('applyTemplate');
    expect(eventsOf(actions).map((e) => e.reason)).toContain('DriftCorrected');
  });

  it('any other manager (kubectl set image, Helm, GitOps): a newer version supersedes the release', () => {
    const { next, actions } = decide(policy(), stepState(), restarted(kubectlSet), at(10 * SEC));
    expect(next.current?.templateHash).toBe('v2r');
    expect(eventsOf(actions).map((e) => e.reason)).toContain('Superseded');
    expect(eventsOf(actions).map((e) => e.reason)).not.toContain('DriftCorrected');
  });

  it('back to the stable template, even by kubectl rollout undo: the person asked to go back, the release is cancelled', () => {
    const o = canaryObserved(1, { deployment: deployment('v1', { paused: false, writers: { template: rollout } }) });
    const { next, actions } = decide(policy(), stepState(), o, at(10 * SEC));
    expect(next.phase).toBe('rollingBack');
    expect(effects(actions)[0]).toEqual({ type: 'setWeight', weight: 0 });
  });
});

describe('the stable Deployment scaled during a release', () => {
  const scaled = (replicas: number, writer: FieldWriter | undefined, perStep: number[]) =>
    canaryObserved(1, {
      deployment: deployment('v2', { replicas, writers: writer ? { replicas: writer } : {} }),
      canaryReplicasPerStep: perStep,
    });

  it('by hand: kept, reported once naming the field manager, the canary resized to keep the share', () => {
    const { next, actions } = decide(policy(), stepState(), scaled(8, scaler, [2, 2, 2]), at(10 * SEC));
    expect(next.current?.stableReplicas).toBe(8);
    expect(effects(actions)).toContainEqual({ type: 'scaleCanary', replicas: 2 });
    expect(types(effects(actions))).not.toContain('applyTemplate');
    const [note] = eventsOf(actions).filter((e) => e.reason === 'StableScaled');
    expect(note?.message).toContain('from 4 to 8');
    expect(note?.message).toContain('field manager kubectl-scale (Update via /scale)');
    expect(note?.message).toContain('the canary is sized 2');
    const again = decide(policy(), next, scaled(8, scaler, [2, 2, 2]), at(11 * SEC));
    expect(eventsOf(again.actions).filter((e) => e.reason === 'StableScaled')).toEqual([]);
  });

  it("canaryd's own surge (replica-ratio) is not reported", () => {
    const own: FieldWriter = { manager: 'canaryd', operation: 'Update' };
    const { next, actions } = decide(policy(), stepState(), scaled(6, own, [1, 1, 1]), at(10 * SEC));
    expect(next.current?.stableReplicas).toBe(6);
    expect(eventsOf(actions).filter((e) => e.reason === 'StableScaled')).toEqual([]);
  });

  it('the first look of a release only records the size', () => {
    const { next, actions } = decide(
      policy(),
      stepState({ stableReplicas: undefined }),
      scaled(4, scaler, [1, 1, 1]),
      at(10 * SEC),
    );
    expect(next.current?.stableReplicas).toBe(4);
    expect(eventsOf(actions).filter((e) => e.reason === 'StableScaled')).toEqual([]);
  });
});

describe('the managed mark (what the admission policy selects)', () => {
  it('a deleted policy removes it even from a Deployment that is already unpaused', () => {
    const o = { ...canaryObserved(0), canary: undefined, policyDeleted: true };
    o.route = { prepared: false, weight: 0, achievedWeight: 0, testersRouting: false };
    o.deployment = deployment('v1', { paused: false, marked: true });
    const { actions } = decide(policy(), releaseState('idle', {}), { ...o, deployment: o.deployment }, at(SEC));
    expect(types(effects(actions))).toEqual(['releaseDeployment']);
    const unmarked = decide(
      policy(),
      releaseState('idle', {}),
      { ...o, deployment: deployment('v1', { paused: false }) },
      at(SEC),
    );
    expect(effects(unmarked.actions)).toEqual([]);
  });
});
