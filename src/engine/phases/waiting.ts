// waiting: a new template is known but its start window is closed. Nothing of the release
// exists yet; a manual promote starts it at once.
import { startAllowed } from '../../schedule/windows.ts';
import type { Context, HandlerResult } from '../context.ts';
import { classifyTemplate, setPhase, startRollback, startSteps, supersede } from '../transitions.ts';
import type { ReleaseState } from '../types.ts';
import { restingActions } from './resting.ts';

export function waitingPhase(state: ReleaseState, context: Context): HandlerResult {
  const deployment = context.observed.deployment!;
  const change = classifyTemplate(state, deployment);
  if (change === 'stable' || change === 'failed') {
    return {
      goto: startRollback(state, context, "the Deployment's template changed before the release started", 'cancelled'),
    };
  }
  if (change === 'newer') return { goto: supersede(state, context, deployment) };
  const current = state.current!;
  const verdict = startAllowed(context.policy.spec.schedule, context.now);
  if (verdict.allowed || current.promote) return { goto: startSteps(state, context) };
  setPhase(state, 'waiting', `waiting for a start window: ${verdict.reason}`);
  return { stay: state, actions: restingActions(state, context, deployment) };
}
