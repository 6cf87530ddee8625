// The moves between phases, shared by the phase handlers and the manual operations. Each takes
// the (already cloned) state, changes it and returns it; actions follow from the new phase.
import { startAllowed } from '../schedule/windows.ts';
import { type Context, event, plusMs } from './context.ts';
import { addFailedRevision, appendHistory, historyEntryOf, MAX_OPERATIONS_PER_RELEASE } from './history.ts';
import { notify } from './hooks.ts';
import type { ObservedDeployment } from './observed.ts';
import type { CurrentRelease, JsonValue, OperationRecord, Outcome, PauseCause, ReleaseState } from './types.ts';

export interface Candidate {
  templateHash: string;
  changeCause: string;
  template: JsonValue;
  origin: CurrentRelease['origin'];
  /** The Deployment does not hold the template yet (undo, retry). */
  pendingTemplate?: { replacedHash: string };
  skipCanary?: boolean;
  operation?: OperationRecord;
}

/** A new release: waiting for its start window, or straight into step 0 (or promotion). */
export function beginRelease(
  state: ReleaseState,
  context: Context,
  candidate: Candidate,
  ignoreStartWindow: boolean,
): ReleaseState {
  const current: CurrentRelease = {
    revision: state.nextRevision,
    templateHash: candidate.templateHash,
    changeCause: candidate.changeCause,
    template: candidate.template,
    origin: candidate.origin,
    noticedAt: context.nowIso,
    stepIndex: 0,
    weight: 0,
    reason: '',
    deadlines: {},
    analysis: {},
    operations: candidate.operation ? [candidate.operation] : [],
  };
  if (candidate.pendingTemplate) current.pendingTemplate = candidate.pendingTemplate;
  state.nextRevision += 1;
  state.drain = undefined; // the new release takes the canary over (createCanary updates it)
  state.current = current;
  event(
    context,
    'Normal',
    'ReleaseStarted',
    `revision ${current.revision} (${current.changeCause || current.templateHash}): release begins`,
  );
  if (candidate.skipCanary) {
    current.skipCanary = true;
    current.startedAt = context.nowIso;
    return enterPromotion(state, context, 'undo --skip-canary: rolling the stable Deployment directly');
  }
  const verdict = ignoreStartWindow
    ? { allowed: true, reason: '' }
    : startAllowed(context.policy.spec.schedule, context.now);
  if (!verdict.allowed) {
    return setPhase(state, 'waiting', `waiting for a start window: ${verdict.reason}`);
  }
  return startSteps(state, context);
}

export function startSteps(state: ReleaseState, context: Context): ReleaseState {
  const current = state.current!;
  current.startedAt = context.nowIso;
  current.deadlines.release = plusMs(context.nowMs, context.times.releaseMs);
  enterStep(current, 0, context);
  return setPhase(state, 'progressing', 'step 1: making the canary ready');
}

/** The step begins with getting the canary ready for it; its weight is set once it is. */
export function enterStep(current: CurrentRelease, stepIndex: number, context: Context): void {
  current.stepIndex = stepIndex;
  current.stepEnteredAt = context.nowIso;
  current.stepStartedAt = undefined;
  current.deadlines.canaryReady = plusMs(context.nowMs, context.times.canaryReadyMs);
  current.analysis.requestedAt = undefined;
}

export function enterPromotion(state: ReleaseState, context: Context, reason: string): ReleaseState {
  const current = state.current!;
  current.pausedBy = undefined;
  current.deadlines.canaryReady = undefined;
  current.deadlines.promotion = plusMs(context.nowMs, context.times.promotionMs);
  event(context, 'Normal', 'Promoting', `revision ${current.revision}: ${reason}`);
  return setPhase(state, 'promoting', reason);
}

export function pause(
  state: ReleaseState,
  context: Context,
  cause: PauseCause,
  by: string,
  reason: string,
): ReleaseState {
  const current = state.current!;
  current.pausedBy = { cause, by, at: context.nowIso, reason };
  event(
    context,
    cause === 'analysis' || cause === 'route' ? 'Warning' : 'Normal',
    'Paused',
    `revision ${current.revision}: ${reason}`,
  );
  return setPhase(state, 'paused', reason);
}

/**
 * Rollback (outcome rolledBack: the revision is remembered as failed) or cancellation (the
 * template moved on by itself: nothing is marked failed). Both take weight to 0 first.
 */
export function startRollback(
  state: ReleaseState,
  context: Context,
  reason: string,
  outcome: 'rolledBack' | 'cancelled',
): ReleaseState {
  const current = state.current!;
  current.rollback = { reason, outcome };
  current.pausedBy = undefined;
  current.deadlines.rollback = plusMs(context.nowMs, context.times.promotionMs);
  if (outcome === 'rolledBack') {
    state.failedRevisions = addFailedRevision(state.failedRevisions, current.templateHash);
    event(context, 'Warning', 'RollingBack', `revision ${current.revision}: ${reason}`);
    notify(state, context, 'onRollback', 'rollingBack', reason);
  } else {
    event(context, 'Normal', 'Cancelling', `revision ${current.revision}: ${reason}`);
  }
  return setPhase(state, 'rollingBack', reason);
}

/** Ends the current release: history entry, and the stable revision when it succeeded. */
export function finishRelease(
  state: ReleaseState,
  context: Context,
  outcome: Outcome,
  reason: string,
  phase: 'idle' | 'succeeded' | 'failed',
): ReleaseState {
  const current = state.current!;
  state.history = appendHistory(state.history, historyEntryOf(current, context.nowIso, outcome, reason));
  if (outcome === 'succeeded') notify(state, context, 'postRollout', 'succeeded', reason);
  if (outcome === 'succeeded') {
    state.stable = {
      revision: current.revision,
      templateHash: current.templateHash,
      changeCause: current.changeCause,
      template: current.template,
    };
  }
  state.current = undefined;
  event(
    context,
    outcome === 'rolledBack' ? 'Warning' : 'Normal',
    outcomeReason(outcome),
    `revision ${current.revision}: ${reason}`,
  );
  return setPhase(state, phase, reason);
}

function outcomeReason(outcome: Outcome): string {
  switch (outcome) {
    case 'succeeded':
      return 'Promoted';
    case 'rolledBack':
      return 'RolledBack';
    case 'superseded':
      return 'Superseded';
    case 'cancelled':
      return 'Cancelled';
    case 'adopted':
      return 'Adopted';
  }
}

/** A newer template replaces the release in flight; the new one starts again at step 1 with weight 0. */
export function supersede(state: ReleaseState, context: Context, deployment: ObservedDeployment): ReleaseState {
  const current = state.current!;
  const reason = `superseded by a newer template (${deployment.changeCause || deployment.templateHash})`;
  finishRelease(state, context, 'superseded', reason, 'idle');
  return beginRelease(
    state,
    context,
    {
      templateHash: deployment.templateHash,
      changeCause: deployment.changeCause,
      template: deployment.template,
      origin: 'template',
    },
    current.startedAt !== undefined,
  );
}

export function setPhase(state: ReleaseState, phase: ReleaseState['phase'], reason: string): ReleaseState {
  state.phase = phase;
  state.reason = reason;
  if (state.current) state.current.reason = reason;
  return state;
}

export function recordOperation(current: CurrentRelease, record: OperationRecord): void {
  current.operations = [...current.operations, record].slice(-MAX_OPERATIONS_PER_RELEASE);
}

export type TemplateChange = 'current' | 'pending' | 'stable' | 'failed' | 'newer';

/** How the Deployment's template relates to the release in flight. */
export function classifyTemplate(state: ReleaseState, deployment: ObservedDeployment): TemplateChange {
  const current = state.current!;
  const hash = deployment.templateHash;
  if (hash === current.templateHash) return 'current';
  if (current.pendingTemplate && hash === current.pendingTemplate.replacedHash) return 'pending';
  if (hash === state.stable?.templateHash) return 'stable';
  if (state.failedRevisions.includes(hash)) return 'failed';
  return 'newer';
}
