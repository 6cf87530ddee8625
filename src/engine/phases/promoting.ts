// promoting: the stable Deployment is unpaused and rolls to the new template (zero
// unavailability); the canary keeps its weight until the roll is complete, so no route that
// carries traffic is left without ready endpoints. Then the release succeeds and the resting
// phase removes the canary objects (weight 0 first).

import type { Action } from '../actions.ts';
import { type Context, event, type HandlerResult, reached } from '../context.ts';
import { isRolloutTemplateDrift, reportRolloutTemplate } from '../stable-drift.ts';
import { classifyTemplate, finishRelease, startRollback, supersede } from '../transitions.ts';
import type { ReleaseState } from '../types.ts';

export function promotingPhase(state: ReleaseState, context: Context): HandlerResult {
  const deployment = context.observed.deployment!;
  const change = classifyTemplate(state, deployment);
  if (change === 'stable') {
    return {
      goto: startRollback(state, context, "the Deployment's template was set back to the stable revision", 'cancelled'),
    };
  }
  if (change === 'failed') {
    return {
      goto: startRollback(
        state,
        context,
        `the Deployment's template changed to ${deployment.templateHash}, which failed before, during promotion`,
        'cancelled',
      ),
    };
  }
  // The Deployment is unpaused: a newer template would roll without a canary. The step phase
  // of the restarted release pauses it again first.
  const rolloutDrift = isRolloutTemplateDrift(change, deployment.writers?.template);
  if (change === 'newer' && !rolloutDrift) return { goto: supersede(state, context, deployment) };

  const current = state.current!;
  if (rolloutDrift) reportRolloutTemplate(state, context);
  if (change === 'current') current.pendingTemplate = undefined;
  if (change === 'current' && deployment.rolloutComplete) {
    return {
      goto: finishRelease(
        state,
        context,
        'succeeded',
        'promoted: the stable Deployment runs the new revision',
        'succeeded',
      ),
    };
  }
  if (reached(context, current.deadlines.promotion)) {
    // A stuck roll (pods pending for capacity, a failing readiness probe) is rolled back to the
    // stable template, still unpaused and still with zero unavailability: see docs/engine.md.
    return {
      goto: startRollback(
        state,
        context,
        `the stable Deployment did not finish rolling within timeouts.promotion (${context.policy.spec.timeouts.promotion})`,
        'rolledBack',
      ),
    };
  }

  const { canary, route } = context.observed;
  if (current.weight > 0 && (canary === undefined || canary.servingReplicas === 0)) {
    // The canary lost its pods; the stable side keeps ready pods (maxUnavailable 0), so send all there.
    current.weight = 0;
    event(
      context,
      'Warning',
      'CanaryUnready',
      `revision ${current.revision}: canary has no ready pods; weight set to 0`,
    );
  }
  current.achievedWeight = route.achievedWeight;

  const actions: Action[] = [];
  if (route.weight !== current.weight && (route.prepared || route.weight > 0)) {
    actions.push({ type: 'setWeight', weight: current.weight });
  }
  if (change === 'pending' || rolloutDrift) {
    actions.push({ type: 'applyTemplate', templateHash: current.templateHash, template: current.template });
  }
  if (deployment.paused) actions.push({ type: 'promoteStable', templateHash: current.templateHash });
  return { stay: state, actions };
}
