// idle, succeeded and failed: no release in flight. The Deployment is kept paused at its stable
// revision and leftovers of the last release are removed (weight 0 first). A template that
// differs from the stable one, and has not failed before, starts a release.

import type { Action } from '../actions.ts';
import type { Context, HandlerResult } from '../context.ts';
import { canaryRemoval } from '../drain.ts';
import type { ObservedDeployment } from '../observed.ts';
import { beginRelease } from '../transitions.ts';
import type { ReleaseState } from '../types.ts';

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
  actions.push(...canaryRemoval(state, context, actions));
  return actions;
}
