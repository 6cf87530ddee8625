// What `kubectl canary status` shows as "Next step" and "Next analysis": when the release can
// next move (the hold ends, a window opens) and, separately, when analysis next measures. Not the
// controller's wake-up time, which is the earliest of these and of every deadline. Pure.
import type { CanaryPolicy } from '../policy/schema.ts';
import { advanceAllowed, nextAdvanceTime, nextStartTime } from '../schedule/windows.ts';
import { planSteps, policyTimes } from './plan.ts';
import type { ReleaseState } from './types.ts';

/**
 * The earliest instant the release may leave its current step (or start, while waiting): the
 * hold's end, or the step's first analysis round when that comes later; an instant in the past
 * when only the verdict of a round is left. undefined when nothing is scheduled:
 * no release, paused (a person or the evidence decides), promoting or rolling back.
 */
export function nextStepTime(state: ReleaseState, policy: CanaryPolicy, now: Date): Date | undefined {
  const current = state.current;
  if (current === undefined) return undefined;
  const schedule = policy.spec.schedule;
  if (state.phase === 'waiting') {
    return current.promote ? new Date(current.promote.at) : (nextStartTime(schedule, now) ?? undefined);
  }
  if (state.phase !== 'progressing' || current.stepStartedAt === undefined) return undefined;
  // Instants already past stay as they were (shown as "due"): the status does not churn with the clock.
  if (current.promote) return new Date(current.promote.at);
  const step = planSteps(policy)[current.stepIndex];
  let holdEnd = new Date(Date.parse(current.stepStartedAt) + (step?.holdMs ?? 0));
  // A step leaves only on a round of its own: a hold shorter than the analysis interval ends at
  // the step's first round, not at the hold (else "Next step" says due while nothing can move).
  const firstRound = firstRoundTime(current, policy);
  if (firstRound !== undefined && firstRound > holdEnd) holdEnd = firstRound;
  const from = holdEnd > now ? holdEnd : now;
  if (advanceAllowed(schedule, from).allowed) return holdEnd;
  return nextAdvanceTime(schedule, from) ?? undefined;
}

/** When the next analysis round of this step is due; undefined when none will run. */
export function nextAnalysisTime(state: ReleaseState, policy: CanaryPolicy): Date | undefined {
  const current = state.current;
  const times = policyTimes(policy);
  if (current === undefined || !times.analysisEnabled || current.promote?.full) return undefined;
  if (!['progressing', 'paused'].includes(state.phase) || current.stepStartedAt === undefined) return undefined;
  let basis = Date.parse(current.stepStartedAt);
  if (current.analysis.requestedAt !== undefined) basis = Math.max(basis, Date.parse(current.analysis.requestedAt));
  return new Date(basis + times.analysisIntervalMs);
}

/** When the step's first analysis round is due, while none was asked for yet; else undefined. */
function firstRoundTime(current: NonNullable<ReleaseState['current']>, policy: CanaryPolicy): Date | undefined {
  const times = policyTimes(policy);
  if (!times.analysisEnabled || current.stepStartedAt === undefined) return undefined;
  const started = Date.parse(current.stepStartedAt);
  const requested = current.analysis.requestedAt === undefined ? undefined : Date.parse(current.analysis.requestedAt);
  if (requested !== undefined && requested >= started) return undefined;
  return new Date(started + times.analysisIntervalMs);
}
