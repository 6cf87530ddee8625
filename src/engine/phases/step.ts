// progressing and paused: one canary step. The step is entered by making the canary ready for
// it (weight unchanged), starts when its weight is set, and advances when its hold has elapsed,
// an advance window is open, no pause gate is closed and the latest analysis round since the
// step started allows it. All progress is read from the persisted state (stepIndex,
// stepStartedAt), never from how often decide was called.
import { formatDuration } from '../../schedule/duration.ts';
import { advanceAllowed } from '../../schedule/windows.ts';
import { type Context, event, type HandlerResult, plusMs, reached } from '../context.ts';
import { duringGate } from '../hooks.ts';
import type { PlannedStep } from '../plan.ts';
import { isRolloutTemplateDrift, noteStableScale, reportRolloutTemplate, unpausedDrift } from '../stable-drift.ts';
import {
  classifyTemplate,
  enterPromotion,
  enterStep,
  pause,
  setPhase,
  startRollback,
  supersede,
  type TemplateChange,
} from '../transitions.ts';
import type { Action, CurrentRelease, ReleaseState } from '../types.ts';
import { earlyAdvance, undecidedAtTimeout } from './sequential-gates.ts';
import { canarySize, duringOutcome, heldByGates, promotionGate, startGates } from './step-gates.ts';

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
  const failure = releaseFailure(current, context, canaryOk && canary.servingReplicas > 0, canaryReady);
  if (failure !== null) return { goto: startRollback(state, context, failure, 'rolledBack') };

  const analysing = context.times.analysisEnabled && !current.promote?.full;
  // Evidence first, in this order: an analysis round, the data plane's verdict on the route, the during hook.
  const verdict =
    readRound(state, context, analysing) ?? readRouteVerdict(state, context) ?? duringOutcome(state, context);
  if (verdict !== null) return verdict;

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
    return `the canary was not ready within timeouts.canaryReady (${timeouts.canaryReady})`;
  }
  return null;
}

/** A round not seen before: 'rollback' (any time in the release) and 'pause' (this step) act at once. */
function readRound(state: ReleaseState, context: Context, analysing: boolean): HandlerResult | null {
  const current = state.current!;
  const analysis = context.observed.analysis;
  if (analysis === undefined || analysis.round <= (current.analysis.lastRound ?? Number.NEGATIVE_INFINITY)) return null;
  current.analysis.lastRound = analysis.round;
  const roundAt = Date.parse(analysis.at);
  const inRelease = current.startedAt !== undefined && roundAt >= Date.parse(current.startedAt);
  const inStep = current.stepStartedAt !== undefined && roundAt >= Date.parse(current.stepStartedAt);
  if (inRelease && analysis.decision === 'rollback') {
    return { goto: startRollback(state, context, `analysis: ${analysis.reason}`, 'rolledBack') };
  }
  if (analysing && inStep && analysis.decision === 'pause' && state.phase === 'progressing') {
    return { goto: pause(state, context, 'analysis', 'analysis', `inconclusive analysis: ${analysis.reason}`) };
  }
  // A pause that analysis caused lifts when the evidence comes back (Prometheus returns, traffic
  // arrives): a round after the pause passes. Pauses by a person or a step gate stay.
  const pausedAt = current.pausedBy?.cause === 'analysis' ? Date.parse(current.pausedBy.at) : undefined;
  if (
    state.phase === 'paused' &&
    pausedAt !== undefined &&
    (analysis.decision === 'advance-allowed' || analysis.decision === 'advance-now') &&
    roundAt > pausedAt
  ) {
    event(
      context,
      'Normal',
      'AnalysisRecovered',
      `revision ${current.revision}: analysis passes again; the release continues`,
    );
    current.pausedBy = undefined;
    return { goto: setPhase(state, 'progressing', 'analysis recovered: the release continues') };
  }
  return null;
}

/** The step routes testers by header or cookie (a testers-only step, or spec.routing on every step). */
const testersNeeded = (step: PlannedStep): boolean => step.testersOnly || step.testerRouting;

/**
 * The data plane refused the route (a Gateway's Accepted or ResolvedRefs is False): pause with
 * its reason rather than give weight to a canary it will not serve. Accepted again, the release
 * goes on; a pause by a person or a step gate stays.
 */
function readRouteVerdict(state: ReleaseState, context: Context): HandlerResult | null {
  const current = state.current!;
  const rejected = context.observed.route.rejected;
  if (rejected !== undefined && state.phase === 'progressing') {
    return { goto: pause(state, context, 'route', 'gateway', `the Gateway refused the route: ${rejected}`) };
  }
  // Already paused by a step gate or a person when the Gateway's verdict arrives (a Gateway
  // answers moments after a write, so a resume can open the next step first): that pause stays,
  // but the status says the route is refused and its weight is not written (stepActions).
  const held = current.pausedBy;
  if (state.phase === 'paused' && held !== undefined && held.cause !== 'route') {
    const refusedNote = `${held.reason}; the Gateway refused the route: `;
    if (rejected !== undefined && state.reason !== refusedNote + rejected) {
      event(
        context,
        'Warning',
        'RouteRefused',
        `revision ${current.revision}: the Gateway refused the route: ${rejected}`,
      );
      setPhase(state, 'paused', refusedNote + rejected);
    } else if (rejected === undefined && state.reason.startsWith(refusedNote)) {
      setPhase(state, 'paused', held.reason);
    }
  }
  if (rejected === undefined && state.phase === 'paused' && current.pausedBy?.cause === 'route') {
    event(
      context,
      'Normal',
      'RouteAccepted',
      `revision ${current.revision}: the Gateway accepts the route again; the release continues`,
    );
    current.pausedBy = undefined;
    return { goto: setPhase(state, 'progressing', 'the Gateway accepts the route again: the release continues') };
  }
  return null;
}

/** The step starts once its canary and route are ready and its gates are open (hooks, approval); null while it waits. */
function beginStep(
  state: ReleaseState,
  context: Context,
  step: PlannedStep,
  canaryReady: boolean,
  wanted: number,
): HandlerResult | null {
  const { route } = context.observed;
  const current = state.current!;
  if (route.prepared && heldByGates(current, context, step)) return openGatesFirst(state, context, step);
  if (!canaryReady || !route.prepared || (testersNeeded(step) && !route.testersRouting)) {
    setPhase(state, 'progressing', `step ${state.current!.stepIndex + 1}: waiting for ${wanted} ready canary pod(s)`);
    return null;
  }
  const gated = startGates(state, context, step);
  if (gated === null) return startStep(state, context, step);
  if (typeof gated !== 'string') return gated;
  setPhase(state, 'progressing', `step ${state.current!.stepIndex + 1}: ${gated}`);
  return null;
}

/**
 * The canary is held at the size in force (its ready pods are its share): the gates are asked
 * first, and once they are open the canary grows to the step's size, with a fresh
 * timeouts.canaryReady to get there (the gates may have taken longer than that).
 */
function openGatesFirst(state: ReleaseState, context: Context, step: PlannedStep): HandlerResult | null {
  const current = state.current!;
  const gated = startGates(state, context, step);
  if (gated !== null && typeof gated !== 'string') return gated;
  if (typeof gated === 'string') {
    setPhase(state, 'progressing', `step ${current.stepIndex + 1}: ${gated} (canary held at ${current.weight}%)`);
    return null;
  }
  current.gatesOpened = current.stepIndex;
  current.deadlines.canaryReady = plusMs(context.nowMs, context.times.canaryReadyMs);
  const wanted = canarySize(current, context, step);
  setPhase(
    state,
    'progressing',
    `step ${current.stepIndex + 1}: gates open; waiting for ${wanted} ready canary pod(s)`,
  );
  return null;
}

/** The canary is ready for the step: its weight is set and its hold begins now. */
function startStep(state: ReleaseState, context: Context, step: PlannedStep): HandlerResult {
  const current = state.current!;
  current.stepStartedAt = context.nowIso;
  current.weight = step.weight;
  current.testersOnly = step.testersOnly;
  current.deadlines.canaryReady = undefined;
  if (step.pause && current.stepPauseLifted !== current.stepIndex && !current.promote) {
    return { goto: pause(state, context, 'step', 'policy', `step ${current.stepIndex + 1} waits for resume`) };
  }
  return { goto: setPhase(state, 'progressing', `step ${current.stepIndex + 1} at ${step.weight}%`) };
}

/** Next step or promotion when every gate is open; null (and the reason in status) otherwise. */
function advance(state: ReleaseState, context: Context, step: PlannedStep, analysing: boolean): HandlerResult | null {
  const current = state.current!;
  if (current.promote?.full) {
    return { goto: enterPromotion(state, context, `promoted --full by ${current.promote.by}: analysis skipped`) };
  }
  const waitingFor = advanceGate(current, step, context, analysing);
  if (waitingFor !== null) {
    setPhase(state, 'progressing', `step ${current.stepIndex + 1} at ${current.weight}%: ${waitingFor}`);
    return null;
  }
  if (current.stepIndex + 1 >= context.steps.length) {
    const gated = promotionGate(state, context);
    if (typeof gated === 'string') {
      setPhase(state, 'progressing', `step ${current.stepIndex + 1} at ${current.weight}%: ${gated}`);
      return null;
    }
    if (gated !== null) return gated;
  }
  const promoter = current.promote?.by;
  // `promote` (not --full) skips what is left of this one step, then the next step holds as usual.
  current.promote = undefined;
  if (current.stepIndex + 1 >= context.steps.length) {
    const reason =
      promoter === undefined
        ? 'every step passed: rolling the stable Deployment'
        : `promoted by ${promoter}: the last step's hold was skipped`;
    return { goto: enterPromotion(state, context, reason) };
  }
  const from = current.stepIndex + 1;
  enterStep(current, current.stepIndex + 1, context);
  if (promoter !== undefined) {
    event(context, 'Normal', 'Promoted', `revision ${current.revision}: step ${from} ended early by ${promoter}`);
  }
  return { goto: setPhase(state, 'progressing', `step ${current.stepIndex + 1}: making the canary ready`) };
}

/** null when the step may advance, else what it waits for (for status and events). */
function advanceGate(current: CurrentRelease, step: PlannedStep, context: Context, analysing: boolean): string | null {
  const startedMs = Date.parse(current.stepStartedAt!);
  if (!current.promote) {
    const holdEnd = startedMs + step.holdMs;
    const early = analysing && earlyAdvance(context, startedMs);
    if (context.nowMs < holdEnd && !early) return `holding until ${new Date(holdEnd).toISOString()}`;
    const window = advanceAllowed(context.policy.spec.schedule, context.now);
    if (!window.allowed) return `holding its weight: ${window.reason}`;
  }
  if (analysing) {
    const round = context.observed.analysis;
    if (round === undefined || Date.parse(round.at) < startedMs) return 'waiting for an analysis round of this step';
    const staleBefore = context.nowMs - 2 * context.times.analysisIntervalMs;
    if (Date.parse(round.at) < staleBefore) {
      return `the latest analysis round is older than ${formatDuration(2 * context.times.analysisIntervalMs)}`;
    }
    if (round.decision !== 'advance-allowed' && round.decision !== 'advance-now') {
      return `analysis: ${round.decision}: ${round.reason}`;
    }
  }
  return duringGate(current, context);
}

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
function stepActions(
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
