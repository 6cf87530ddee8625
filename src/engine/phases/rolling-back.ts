// rollingBack: weight to 0 first (one write), then the stable template back into the
// Deployment, then the canary objects removed once the canary is drained (drain.ts). When the Deployment's pods are not all at the
// stable template (a rollback during promotion) it is unpaused to converge back, with zero
// unavailability, and paused again once complete. Also used to cancel a release whose template
// moved on by itself; then nothing is restored and nothing is marked failed.
import { formatDuration } from '../../schedule/duration.ts';
import type { Action } from '../actions.ts';
import { type Context, event, type HandlerResult, reached } from '../context.ts';
import { canaryRemoval } from '../drain.ts';
import { finishRelease, setPhase } from '../transitions.ts';
import type { ReleaseState } from '../types.ts';

export function rollingBackPhase(state: ReleaseState, context: Context): HandlerResult {
  const current = state.current!;
  const stable = state.stable!;
  const rollback = current.rollback ?? { reason: 'rolling back', outcome: 'rolledBack' as const };
  const { deployment, canary, route } = context.observed;
  const dep = deployment!;
  const actions: Action[] = [];
  // Weight 0 first, also when the route already says 0 (replica-ratio scales the canary to 0
  // with it); once the drain has started (with the weight-0 write, drain.ts), not again on every
  // pass: only if a weight or a share comes back.
  const weightZeroSeen = state.drain !== undefined;
  if (route.weight > 0 || route.achievedWeight > 0 || (route.prepared && !weightZeroSeen)) {
    actions.push({ type: 'setWeight', weight: 0 });
  }
  const atFailed = dep.templateHash === current.templateHash;
  const atStable = dep.templateHash === stable.templateHash;
  if (atFailed) {
    actions.push({ type: 'restoreStableTemplate', templateHash: stable.templateHash, template: stable.template });
  } else if (atStable && !dep.rolloutComplete) {
    // Unpausing unpins the stable Service (promoteStable), which then also selects the canary's
    // pods. Only for a real roll back (a rollback during promotion): right after canaryd wrote
    // the stable template back, the Deployment controller has not yet observed it, and the
    // roll looks incomplete although every pod already runs the stable template. Wait for it.
    if (dep.paused && dep.statusObserved !== false) {
      actions.push({ type: 'promoteStable', templateHash: stable.templateHash });
    }
  } else if (!dep.paused) {
    actions.push({ type: 'repauseStable' });
  }
  actions.push(...canaryRemoval(state, context, actions));

  const done =
    canary === undefined &&
    !route.prepared &&
    route.weight === 0 &&
    !atFailed &&
    dep.paused &&
    (!atStable || dep.rolloutComplete);
  if (done) {
    const phase = rollback.outcome === 'rolledBack' ? 'failed' : 'idle';
    return { goto: finishRelease(state, context, rollback.outcome, rollback.reason, phase) };
  }
  if (reached(context, current.deadlines.rollback)) {
    const reason = `${rollback.reason}; the rollback did not complete within ${formatDuration(context.times.promotionMs)}: the Deployment needs a person`;
    event(context, 'Warning', 'RollbackStuck', `revision ${current.revision}: ${reason}`);
    return { goto: finishRelease(state, context, rollback.outcome, reason, 'failed') };
  }
  setPhase(state, 'rollingBack', rollback.reason);
  return { stay: state, actions };
}
