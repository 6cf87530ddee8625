// The earliest timeline a release could follow: holds, windows, time zone and blackouts applied
// to each step. Pure; `kubectl canary plan` prints it.

import { planSteps, policyTimes } from '../engine/plan.ts';
import type { CanaryPolicy } from '../policy/schema.ts';
import { formatDuration } from './duration.ts';
import { nextAdvanceTime, nextStartTime, SEARCH_HORIZON_MS } from './windows.ts';

export interface PlannedStep {
  /** 1-based, as people count steps. */
  number: number;
  label: string;
  weight: number;
  hold: string;
  /** Waits for `kubectl canary resume`; the times after it assume an immediate resume. */
  pause: boolean;
  /** Only header/cookie testers reach the canary (testersFirst, the blueGreen preview). */
  testersOnly: boolean;
  /** When the step's weight is set (the previous step advanced). */
  earliestStart: Date;
  /** Earliest moment the step may advance: its hold has passed and an advance window is open. */
  earliestAdvance: Date | null;
  warnings: string[];
}

export interface Timeline {
  from: Date;
  /** When the release may start (start windows, blackouts); null if not within the search horizon. */
  start: Date | null;
  steps: PlannedStep[];
  /** When promotion may begin; null if a step cannot advance within the search horizon. */
  promotion: Date | null;
  /** timeouts.release after the first step: the release rolls back if promotion has not begun. */
  releaseDeadline: Date | null;
  /** Why the release can never start or finish (start windows that never open, blackouts). */
  blocked?: string | undefined;
}

export interface PlanOptions {
  /**
   * Hook for checks that need more than the policy, such as the replica-ratio solver telling
   * which weights whole replicas cannot reach. Called once per step.
   */
  warnings?: (policy: CanaryPolicy, step: { number: number; weight: number }) => string[];
}

interface StepShape {
  label: string;
  weight: number;
  hold: string;
  holdMs: number;
  pause: boolean;
  testersOnly: boolean;
}

/** The steps the engine walks (engine/plan.ts), so the plan never differs from the release. */
function stepsOf(policy: CanaryPolicy): StepShape[] {
  const blueGreen = policy.spec.strategy.type === 'blueGreen';
  return planSteps(policy).map((step) => ({
    label: !step.testersOnly
      ? blueGreen
        ? 'switch'
        : 'canary'
      : blueGreen
        ? 'preview (testers only)'
        : 'testers only',
    weight: step.weight,
    hold: formatDuration(step.holdMs),
    holdMs: step.holdMs,
    pause: step.pause,
    testersOnly: step.testersOnly,
  }));
}

export function planTimeline(policy: CanaryPolicy, from: Date, options: PlanOptions = {}): Timeline {
  const schedule = policy.spec.schedule;
  const times = policyTimes(policy);
  // A step advances on an analysis round of its own: never before one interval has passed.
  const leastMs = times.analysisEnabled ? times.analysisIntervalMs : 0;
  const start = nextStartTime(schedule, from);
  const steps: PlannedStep[] = [];
  let stepStart: Date | null = start;
  for (const [index, step] of stepsOf(policy).entries()) {
    if (stepStart === null) break;
    const holdEnds = new Date(stepStart.getTime() + Math.max(step.holdMs, leastMs));
    const earliestAdvance = nextAdvanceTime(schedule, holdEnds);
    const number = index + 1;
    steps.push({
      number,
      label: step.label,
      weight: step.weight,
      hold: step.hold,
      pause: step.pause,
      testersOnly: step.testersOnly,
      earliestStart: stepStart,
      earliestAdvance,
      warnings: step.testersOnly ? [] : (options.warnings?.(policy, { number, weight: step.weight }) ?? []),
    });
    stepStart = earliestAdvance;
  }
  const promotion = steps.length > 0 ? (steps[steps.length - 1]?.earliestAdvance ?? null) : null;
  return {
    from,
    start,
    steps,
    promotion,
    releaseDeadline: start === null ? null : new Date(start.getTime() + times.releaseMs),
    blocked: blockedReason(policy, from, start, steps),
  };
}

/** Why a release from `from` can never start or finish within the search horizon; undefined if it can. */
function blockedReason(
  policy: CanaryPolicy,
  from: Date,
  start: Date | null,
  steps: readonly PlannedStep[],
): string | undefined {
  const schedule = policy.spec.schedule;
  const days = `${SEARCH_HORIZON_MS / 86_400_000} days`;
  const unblocked = { ...schedule, blackouts: [] };
  if (start === null) {
    if (schedule.startWindows.length > 0 && nextStartTime(unblocked, from) === null) {
      return `the release can never start: no start window opens within ${days} (${crons(schedule.startWindows)})`;
    }
    return `the release can never start: blackouts cover ${schedule.startWindows.length > 0 ? 'every start window' : 'all time'} for the next ${days}`;
  }
  const stuck = steps.find((step) => step.earliestAdvance === null);
  if (stuck === undefined) return undefined;
  const holdEnd = stuck.earliestStart;
  if (schedule.advanceWindows.length > 0 && nextAdvanceTime(unblocked, holdEnd) === null) {
    return `step ${stuck.number} can never advance: no advance window opens within ${days} (${crons(schedule.advanceWindows)})`;
  }
  return `step ${stuck.number} can never advance: blackouts cover ${schedule.advanceWindows.length > 0 ? 'every advance window' : 'all time'} for the next ${days}`;
}

function crons(windows: ReadonlyArray<{ cron: string; duration: string }>): string {
  return windows.map((window) => `"${window.cron}" for ${window.duration}`).join(', ');
}
