// What a step asks of the cluster (the canary, the route, tester routing, the weight, analysis
// rounds), each action only when the cluster differs, and when the next analysis round is due.
import type { Action } from '../actions.ts';
import type { Context } from '../context.ts';
import type { PlannedStep } from '../plan.ts';
import { unpausedDrift } from '../stable-drift.ts';
import type { CurrentRelease, ReleaseState } from '../types.ts';
import { testersNeeded } from './step-start.ts';

/** When the next analysis round is due: one interval after the step started, the last round or the last request. */
export function analysisDueAt(current: CurrentRelease, context: Context): number | null {
  if (current.stepStartedAt === undefined) return null;
  // Rounds are spaced from one request to the next, the instant wake.ts computes too: counting
  // from a round's completion made the wake-up find the round not yet due (one resync late).
  let basis = Date.parse(current.stepStartedAt);
  if (current.analysis.requestedAt !== undefined && Date.parse(current.analysis.requestedAt) > basis) {
    basis = Date.parse(current.analysis.requestedAt);
  }
  return basis + context.times.analysisIntervalMs;
}

/** What must be true in the cluster for this step; each action only when the cluster differs. */
export function stepActions(
  state: ReleaseState,
  context: Context,
  step: PlannedStep,
  wanted: number,
  analysing: boolean,
  templatePending: boolean,
): Action[] {
  const current = state.current!;
  const { canary, route } = context.observed;
  const actions: Action[] = [];
  if (unpausedDrift(state, context)) actions.push({ type: 'repauseStable' });
  // Lowering the weight (a restarted release) comes before touching the canary.
  if (route.weight > current.weight) actions.push({ type: 'setWeight', weight: current.weight });
  if (templatePending) {
    actions.push({ type: 'applyTemplate', templateHash: current.templateHash, template: current.template });
  }
  if (canary?.removing) {
    // Deleted (by a person, or a previous canary still going): created again once it is gone.
  } else if (canary === undefined || canary.templateHash !== current.templateHash) {
    actions.push({
      type: 'createCanary',
      templateHash: current.templateHash,
      template: current.template,
      replicas: wanted,
    });
  } else if (canary.replicas !== wanted) {
    actions.push({ type: 'scaleCanary', replicas: wanted });
  }
  if (!route.prepared) actions.push({ type: 'prepareRoute' });
  // Header/cookie routing sends testers to the canary: only once it has ready pods of this
  // release's template (invariant 1; a previous canary's pods may still serve, issue 11).
  if (testersNeeded(step) && !route.testersRouting && (canary?.readyReplicas ?? 0) > 0) {
    actions.push({ type: 'setTesterRouting', enabled: true });
  }
  // No weight to a canary the data plane refused (the release is paused for it).
  if (route.weight < current.weight && route.rejected === undefined) {
    actions.push({ type: 'setWeight', weight: current.weight });
  }
  if (analysing) {
    const due = analysisDueAt(current, context);
    if (due !== null && context.nowMs >= due) {
      current.analysis.requestedAt = context.nowIso;
      actions.push({
        type: 'analyse',
        templateHash: current.templateHash,
        stepIndex: current.stepIndex,
        weight: current.weight,
        since: current.stepStartedAt!,
      });
    }
  }
  return actions;
}
