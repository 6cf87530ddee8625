// Adoption is reported once the Deployment is seen paused; a template changed before the pause
// landed is the user's own rollout, adopted once Kubernetes has finished it. The pause carries
// the adoption's record (the adopted template's hash), so it is written before the decision is
// persisted; a canaryd stopped between the two finds the record on the Deployment.
import { describe, expect, it } from 'vitest';
import { decide, initialState, pausesBeforeRecording } from '../../src/engine/index.ts';
import { deployment, eventsOf, observed, policy, T0, types } from './fixtures.ts';

const unpaused = (hash: string, extra = {}) => deployment(hash, { paused: false, rolloutComplete: true, ...extra });

describe('adoption reported once the pause is seen', () => {
  const first = decide(policy(), initialState(), observed({ deployment: unpaused('v1') }), T0);

  it('records the stable revision and asks for the pause, without calling it adopted yet', () => {
    expect(first.next.adopting).toBe(true);
    expect(first.next.stable).toMatchObject({ revision: 1, templateHash: 'v1' });
    expect(first.next.reason).toBe('adopting revision 1: pausing the Deployment');
    expect(types(first.actions)).toEqual(['adoptDeployment']);
    expect(eventsOf(first.actions)).toEqual([]);
  });

  it('says adopted (Event and reason) when the Deployment is seen paused', () => {
    const { next, actions } = decide(policy(), first.next, observed({ deployment: deployment('v1') }), T0);
    expect(next.adopting).toBeUndefined();
    expect(next.reason).toBe('stable at revision 1');
    expect(eventsOf(actions)).toEqual([
      expect.objectContaining({ reason: 'Adopted', message: 'revision 1 (v1) adopted as stable' }),
    ]);
    expect(types(actions)).toEqual([]);
  });

  it('asks for the pause again while it is not seen and the template is the same', () => {
    const { next, actions } = decide(policy(), first.next, observed({ deployment: unpaused('v1') }), T0);
    expect(next.adopting).toBe(true);
    expect(types(actions)).toEqual(['adoptDeployment']);
  });

  it('a template changed before the pause is rolled by Kubernetes, then adopted as the same revision number', () => {
    const rolling = unpaused('v2', { rolloutComplete: false });
    const during = decide(policy(), first.next, observed({ deployment: rolling }), T0);
    expect(during.next.stable).toBeUndefined();
    expect(during.next.adopting).toBeUndefined();
    expect(during.next.current).toBeUndefined();
    expect(during.next.phase).toBe('idle');
    expect(during.next.history).toEqual([]);
    expect(during.next.reason).toContain('rollout to complete');
    expect(types(during.actions)).toEqual([]);
    expect(eventsOf(during.actions)).toEqual([expect.objectContaining({ reason: 'AdoptionRestarted' })]);

    const after = decide(policy(), during.next, observed({ deployment: unpaused('v2') }), T0);
    expect(after.next.stable).toMatchObject({ revision: 1, templateHash: 'v2' });
    expect(after.next.adopting).toBe(true);
    expect(types(after.actions)).toEqual(['adoptDeployment']);
  });

  it('a template changed after the pause is a release', () => {
    const { next } = decide(policy(), first.next, observed({ deployment: deployment('v2') }), T0);
    expect(next.adopting).toBeUndefined();
    expect(next.phase).toBe('progressing');
    expect(next.current).toMatchObject({ revision: 2, templateHash: 'v2' });
  });

  it('a Deployment found paused is adopted at once', () => {
    const { next, actions } = decide(policy(), initialState(), observed({ deployment: deployment('v1') }), T0);
    expect(next.adopting).toBeUndefined();
    expect(next.reason).toBe('stable at revision 1');
    expect(eventsOf(actions)).toEqual([expect.objectContaining({ reason: 'Adopted' })]);
  });
});

describe('a Deployment found paused with a template its pods do not run', () => {
  // A rollout someone paused halfway, or a release left paused by a policy deleted without its
  // finalizer (ReleaseAbandoned): nobody rolled that template, so it is not called stable.
  it.each([
    ['none of its pods run it', 0],
    ['some of its pods run it (paused halfway)', 2],
  ])('%s: not adopted, the reason says how to go on', (_case, updatedReplicas) => {
    const paused = deployment('v3', { updatedReplicas, rolloutComplete: false, statusObserved: true });
    const { next, actions } = decide(policy(), initialState(), observed({ deployment: paused }), T0);
    expect(next.stable).toBeUndefined();
    expect(next.history).toEqual([]);
    expect(actions).toEqual([]);
    expect(next.reason).toContain(`a template ${updatedReplicas} of its 4 pods run`);
    expect(next.reason).toContain('`kubectl rollout resume deployment/web`');
    expect(next.reason).toContain('`kubectl rollout undo` refuses a paused Deployment');
  });

  it("waits for the Deployment controller's status before calling a paused template stable", () => {
    const paused = deployment('v3', { statusObserved: false, rolloutComplete: false });
    const { next, actions } = decide(policy(), initialState(), observed({ deployment: paused }), T0);
    expect(next.stable).toBeUndefined();
    expect(actions).toEqual([]);
    expect(next.reason).toContain("waiting for the Deployment controller's status");
  });

  it('resumed by the user: its rollout is waited for, then it is adopted (paused again by canaryd)', () => {
    const found = deployment('v3', { updatedReplicas: 0, rolloutComplete: false, statusObserved: true });
    const waiting = decide(policy(), initialState(), observed({ deployment: found }), T0).next;
    const rolling = unpaused('v3', { rolloutComplete: false, updatedReplicas: 2 });
    const during = decide(policy(), waiting, observed({ deployment: rolling }), T0);
    expect(during.next.stable).toBeUndefined();
    expect(during.next.reason).toContain('rollout to complete');
    const rolled = decide(policy(), during.next, observed({ deployment: unpaused('v3', { updatedReplicas: 4 }) }), T0);
    expect(rolled.next.stable).toMatchObject({ revision: 1, templateHash: 'v3' });
    expect(types(rolled.actions)).toEqual(['adoptDeployment']);
  });

  it('every pod runs its template: adopted at once, as any Deployment found paused', () => {
    const paused = deployment('v1', { updatedReplicas: 4, statusObserved: true });
    const { next } = decide(policy(), initialState(), observed({ deployment: paused }), T0);
    expect(next.stable).toMatchObject({ revision: 1, templateHash: 'v1' });
    expect(next.reason).toBe('stable at revision 1');
  });
});

describe('a pause without its record (canaryd stopped between the two)', () => {
  it('the same template as the pause recorded: adopted at once', () => {
    const paused = deployment('v1', { adoptedTemplate: 'v1' });
    const { next, actions } = decide(policy(), initialState(), observed({ deployment: paused }), T0);
    expect(next.stable).toMatchObject({ revision: 1, templateHash: 'v1' });
    expect(next.reason).toBe('stable at revision 1');
    // Like any Deployment found paused: marked (the same mark again), the adoption recorded first.
    expect(types(actions)).toEqual(['adoptDeployment']);
    expect(pausesBeforeRecording(next, actions)).toBe(false);
    expect(eventsOf(actions)).toEqual([expect.objectContaining({ reason: 'Adopted' })]);
  });

  it('another template (changed after the pause, rolled by nobody): handed back for its rollout, not adopted', () => {
    const paused = deployment('v2', { adoptedTemplate: 'v1' });
    const { next, actions } = decide(policy(), initialState(), observed({ deployment: paused }), T0);
    expect(next.stable).toBeUndefined();
    expect(next.current).toBeUndefined();
    expect(next.history).toEqual([]);
    expect(next.reason).toContain('rollout to complete');
    expect(types(actions)).toEqual(['releaseDeployment']);
    expect(eventsOf(actions)).toEqual([
      expect.objectContaining({ reason: 'AdoptionRestarted', message: expect.stringContaining('to adopt v1') }),
    ]);
  });

  it('an earlier release’s canary and route (a policy of this name deleted mid-release, created again): removed before the hand-back', () => {
    // The roll that follows the hand-back replaces the pods a pinned Service selects: the pin goes first.
    const paused = deployment('v3', { adoptedTemplate: 'v1', updatedReplicas: 0, statusObserved: true });
    const route = { prepared: true, weight: 50, achievedWeight: 50, testersRouting: false };
    const canary = { templateHash: 'v3', replicas: 1, readyReplicas: 1, servingReplicas: 1 };
    let state = initialState();
    const passes = [
      observed({ deployment: paused, canary, route }),
      observed({ deployment: paused, canary, route: { ...route, weight: 0, achievedWeight: 0 } }),
      observed({ deployment: paused, route: { ...route, weight: 0, achievedWeight: 0 } }),
      observed({ deployment: paused }),
    ];
    const seen = passes.map((pass) => {
      const { next, actions } = decide(policy(), state, pass, T0);
      state = next;
      return { actions: types(actions), events: eventsOf(actions).map((e) => e.reason), reason: next.reason };
    });
    expect(seen.map((s) => s.actions)).toEqual([
      ['setWeight', 'deleteCanary'],
      ['deleteCanary'],
      ['cleanupRoute'],
      ['releaseDeployment'],
    ]);
    expect(
      seen.slice(0, 3).every((s) => s.events.length === 0 && s.reason.startsWith('removing the canary and route')),
    ).toBe(true);
    expect(seen[3]!.events).toEqual(['AdoptionRestarted']);
    expect(state.stable).toBeUndefined();
  });

  it('the mark is read only while nothing is recorded: an adopted policy releases the new template', () => {
    const adopted = decide(policy(), initialState(), observed({ deployment: deployment('v1') }), T0).next;
    const { next } = decide(
      policy(),
      adopted,
      observed({ deployment: deployment('v2', { adoptedTemplate: 'v1' }) }),
      T0,
    );
    expect(next.phase).toBe('progressing');
    expect(next.current).toMatchObject({ templateHash: 'v2' });
  });
});

describe('which decision writes its pause before its record', () => {
  const first = decide(policy(), initialState(), observed({ deployment: unpaused('v1') }), T0);
  it.each([
    ['the adoption that asks for the pause', first.next, first.actions, true],
    [
      'the same decision with another action beside the pause',
      first.next,
      [...first.actions, { type: 'setWeight', weight: 0 } as const],
      false,
    ],
    ['a decision that is not an adoption', { ...first.next, adopting: undefined }, first.actions, false],
  ])('%s: %s', (_name, next, actions, expected) => {
    expect(pausesBeforeRecording(next, actions)).toBe(expected);
  });
});

describe('a Deployment still marked by an earlier policy of this name (deleted without its finalizer, created again)', () => {
  // The earlier policy's release at 50 %: its mark, its canary and its route are still there.
  const left = deployment('v3', {
    adoptedTemplate: 'v1',
    marked: true,
    markedByEarlierPolicy: true,
    updatedReplicas: 0,
    statusObserved: true,
  });
  const route = { prepared: true, weight: 50, achievedWeight: 50, testersRouting: false };
  const canary = { templateHash: 'v3', replicas: 1, readyReplicas: 1, servingReplicas: 1 };

  it('is not taken for its own interrupted adoption: nothing is written, the release is not rolled unverified', () => {
    const { next, actions } = decide(policy(), initialState(), observed({ deployment: left, canary, route }), T0);
    expect(actions).toEqual([]);
    expect(next.stable).toBeUndefined();
    expect(next.phase).toBe('idle');
    expect(next.reason).toContain('an earlier CanaryPolicy of this name');
  });

  it('once the orphan sweep has handed it back (unmarked, still paused on v3): waits for someone to roll it', () => {
    const handedBack = deployment('v3', { updatedReplicas: 0, statusObserved: true });
    const { next, actions } = decide(policy(), initialState(), observed({ deployment: handedBack }), T0);
    expect(actions).toEqual([]);
    expect(next.stable).toBeUndefined();
    expect(next.reason).toMatch(/^not adopted: the Deployment is paused with a template 0 of its \d+ pods run/);
  });
});
