// waiting: a new template is known but its start window is closed. Nothing of the release
// exists yet; a manual promote starts it at once (--full then promotes it).
import { startAllowed } from '../../schedule/windows.ts';
import type { Action } from '../actions.ts';
import type { Context, HandlerResult } from '../context.ts';
import { isRolloutTemplateDrift, reportRolloutTemplate, unpausedDrift } from '../stable-drift.ts';
import { classifyTemplate, setPhase, startRollback, startSteps, supersede } from '../transitions.ts';
import type { ReleaseState } from '../types.ts';
import { restingActions } from './resting.ts';

export function waitingPhase(state: ReleaseState, context: Context): HandlerResult {
  const deployment = context.observed.deployment!;
  const change = classifyTemplate(state, deployment);
  const rolloutDrift = isRolloutTemplateDrift(change, deployment.writers?.template);
  if (change === 'stable' || change === 'failed') {
    return {
      goto: startRollback(state, context, "the Deployment's template changed before the release started", 'cancelled'),
    };
  }
  if (change === 'newer' && !rolloutDrift) return { goto: supersede(state, context, deployment) };
  const current = state.current!;
  if (rolloutDrift) {
    reportRolloutTemplate(state, context);
    current.pendingTemplate = undefined;
  }
  const verdict = startAllowed(context.policy.spec.schedule, context.now);
  if (verdict.allowed || current.promote) {
    // `promote` here means "start now": that is its one step; --full goes on to promotion.
    if (current.promote?.full !== true) current.promote = undefined;
    return { goto: startSteps(state, context) };
  }
  setPhase(state, 'waiting', `waiting for a start window: ${verdict.reason}`);
  // The Deployment holds the new template: unpaused, it would roll it without a canary.
  const actions: Action[] = restingActions(state, context, deployment).filter((a) => a.type !== 'repauseStable');
  if (unpausedDrift(state, context)) actions.unshift({ type: 'repauseStable' });
  if (rolloutDrift) {
    actions.push({ type: 'applyTemplate', templateHash: current.templateHash, template: current.template });
  }
  return { stay: state, actions };
}
