// progressing and paused: one canary step. The step is entered by making the canary ready for
// it (weight unchanged), starts when its weight is set, and advances when its hold has elapsed,
// an advance window is open, no pause gate is closed and the latest analysis round since the
// step started allows it. All progress is read from the persisted state (stepIndex,
// stepStartedAt), never from how often decide was called.
// This file reads the situation and picks the move; entering a step (step-start.ts), the evidence
// that acts at once (step-evidence.ts), advancing (step-advance.ts) and what the step asks of the
// cluster (step-actions.ts) live beside it; a step the route says started before the status
// could (step-recorded.ts) starts from the route's record.
import { type Context, type HandlerResult, reached } from '../context.ts';
import { isRolloutTemplateDrift, noteStableScale, reportRolloutTemplate } from '../stable-drift.ts';
import { classifyTemplate, startRollback, supersede, type TemplateChange } from '../transitions.ts';
import type { CurrentRelease, ReleaseState } from '../types.ts';
import { undecidedAtTimeout } from './sequential-gates.ts';
import { stepActions } from './step-actions.ts';
import { advance } from './step-advance.ts';
import { readRound, readRouteVerdict } from './step-evidence.ts';
import { canarySize, duringOutcome } from './step-gates.ts';
import { startRecordedByRoute } from './step-recorded.ts';
import { beginStep, canaryCount } from './step-start.ts';

export function stepPhase(state: ReleaseState, context: Context): HandlerResult {
  const deployment = context.observed.deployment!;
  const change = classifyTemplate(state, deployment);
  // `kubectl rollout restart` (or undo to a revision that is not stable) is put back, not released.
  const rolloutDrift = isRolloutTemplateDrift(change, deployment.writers?.template);
  const moved = rolloutDrift ? null : templateMoved(state, context, change);
  if (moved !== null) return moved;

  const current = state.current!;
  if (change === 'current') current.pendingTemplate = undefined;
  if (rolloutDrift) reportRolloutTemplate(state, context);
  noteStableScale(state, context);
  if (current.stepIndex >= context.steps.length) current.stepIndex = context.steps.length - 1; // policy lost steps
  const step = context.steps[current.stepIndex]!;
  const { canary, route } = context.observed;
  current.achievedWeight = route.achievedWeight;

  const canaryOk = canary !== undefined && !canary.removing && canary.templateHash === current.templateHash;
  const wanted = canarySize(current, context, step);
  const canaryReady = canaryOk && canary.readyReplicas >= wanted;
  const undecided = undecidedAtTimeout(state, context);
  if (undecided !== null) return undecided;
  const failure = releaseFailure(current, context, canaryOk && canary.servingReplicas > 0, canaryReady, () =>
    canaryCount(canaryOk ? canary : undefined, wanted),
  );
  if (failure !== null) return { goto: startRollback(state, context, failure, 'rolledBack') };

  const analysing = context.times.analysisEnabled && !current.promote?.full;
  // Evidence first, in this order: an analysis round, the data plane's verdict on the route, the during hook.
  const verdict =
    readRound(state, context, analysing) ?? readRouteVerdict(state, context) ?? duringOutcome(state, context);
  if (verdict !== null) return verdict;

  const recorded = startRecordedByRoute(state, context, canaryOk ? canary : undefined);
  if (recorded !== null) return recorded;

  if (state.phase === 'progressing' && current.stepStartedAt === undefined) {
    const started = beginStep(state, context, step, canaryReady, wanted);
    if (started !== null) return started;
  }

  if (state.phase === 'progressing' && current.stepStartedAt !== undefined) {
    const advanced = advance(state, context, step, analysing);
    if (advanced !== null) return advanced;
  }

  const putBack = change === 'pending' || rolloutDrift;
  // Sized again: gates that opened in this call let a held canary grow now.
  const size = canarySize(current, context, step);
  return { stay: state, actions: stepActions(state, context, step, size, analysing, putBack) };
}

/** The Deployment's template is no longer this release's: cancel or restart. */
function templateMoved(state: ReleaseState, context: Context, change: TemplateChange): HandlerResult | null {
  const deployment = context.observed.deployment!;
  switch (change) {
    case 'stable':
      return {
        goto: startRollback(
          state,
          context,
          "the Deployment's template was set back to the stable revision",
          'cancelled',
        ),
      };
    case 'failed':
      return {
        goto: startRollback(
          state,
          context,
          `the Deployment's template changed to ${deployment.templateHash}, which failed before; run \`kubectl canary retry\` to release it again`,
          'cancelled',
        ),
      };
    case 'newer':
      return { goto: supersede(state, context, deployment) };
    default:
      return null;
  }
}

/** Why the release must roll back now (a deadline, a canary that lost its pods), or null. */
function releaseFailure(
  current: CurrentRelease,
  context: Context,
  canaryServing: boolean,
  canaryReady: boolean,
  counted: () => string,
): string | null {
  const { timeouts } = context.policy.spec;
  if (reached(context, current.deadlines.release)) {
    return `the release did not finish within timeouts.release (${timeouts.release})`;
  }
  if (current.weight > 0 && !canaryServing) {
    // Invariant 1: a route carrying traffic never points at zero ready endpoints.
    return `the canary has no ready pods while it should receive ${current.weight}% of traffic`;
  }
  if (current.stepStartedAt === undefined && !canaryReady && reached(context, current.deadlines.canaryReady)) {
    return `the canary was not ready within timeouts.canaryReady (${timeouts.canaryReady}): ${counted()}`;
  }
  return null;
}
