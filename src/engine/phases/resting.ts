// idle, succeeded and failed: no release in flight. The Deployment is kept paused at its stable
// revision and leftovers of the last release are removed (weight 0 first). A template that
// differs from the stable one, and has not failed before, starts a release.
import { type Context, event, type HandlerResult } from '../context.ts';
import { canaryObjectsRemoval, canaryRemoval } from '../drain.ts';
import { appendHistory } from '../history.ts';
import { beginRelease, setPhase } from '../transitions.ts';
import type { Action, ObservedDeployment, ReleaseState } from '../types.ts';

export function restingPhase(state: ReleaseState, context: Context): HandlerResult {
  const deployment = context.observed.deployment!;
  const stable = state.stable!;
  if (deployment.templateHash !== stable.templateHash) {
    if (!state.failedRevisions.includes(deployment.templateHash)) {
      const candidate = {
        templateHash: deployment.templateHash,
        changeCause: deployment.changeCause,
        template: deployment.template,
        origin: 'template' as const,
      };
      return { goto: beginRelease(state, context, candidate, false) };
    }
    state.reason = failedReason(deployment);
  }
  return { stay: state, actions: restingActions(state, context, deployment) };
}

function failedReason(deployment: ObservedDeployment): string {
  return `template ${deployment.templateHash} failed before and is not released again; run \`kubectl canary retry\``;
}

/**
 * Remove what a release left behind, weight first and the canary once drained (drain.ts); keep
 * the Deployment paused once its own roll is done.
 */
export function restingActions(state: ReleaseState, context: Context, deployment: ObservedDeployment): Action[] {
  const { route } = context.observed;
  const actions: Action[] = [];
  if (route.weight > 0) actions.push({ type: 'setWeight', weight: 0 });
  if (!deployment.paused && deployment.rolloutComplete) actions.push({ type: 'repauseStable' });
  actions.push(...canaryRemoval(state, context));
  return actions;
}

/**
 * First sight of the Deployment: record its template as the stable revision and pause it. A
 * Deployment in the middle of its own roll is left to finish first, so no pod is restarted and
 * no half-rolled revision is called stable.
 */
export function adopt(state: ReleaseState, context: Context): { next: ReleaseState; actions: Action[] } {
  const deployment = context.observed.deployment!;
  if (!deployment.paused && !deployment.rolloutComplete) {
    setPhase(state, 'idle', "waiting for the Deployment's own rollout to complete before adopting it");
    return { next: state, actions: [] };
  }
  const revision = state.nextRevision;
  state.nextRevision += 1;
  state.stable = {
    revision,
    templateHash: deployment.templateHash,
    changeCause: deployment.changeCause,
    template: deployment.template,
  };
  state.history = appendHistory(state.history, {
    revision,
    templateHash: deployment.templateHash,
    changeCause: deployment.changeCause,
    startedAt: context.nowIso,
    endedAt: context.nowIso,
    outcome: 'adopted',
    reason: 'adopted as the stable revision',
    operations: [],
    template: deployment.template,
  });
  event(context, 'Normal', 'Adopted', `revision ${revision} (${deployment.templateHash}) adopted as stable`);
  setPhase(state, 'idle', `stable at revision ${revision}`);
  const actions: Action[] = [{ type: 'adoptDeployment', templateHash: deployment.templateHash }];
  const { route } = context.observed;
  if (route.weight > 0) actions.unshift({ type: 'setWeight', weight: 0 });
  actions.push(...canaryObjectsRemoval(context.observed));
  return { next: state, actions };
}
