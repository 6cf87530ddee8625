// The earliest timeline a release could follow: holds, windows, time zone and blackouts applied
// to each step. Pure; `kubectl canary plan` prints it.
import type { CanaryPolicy } from '../policy/schema.ts';
import { parseDuration } from './duration.ts';
import { nextAdvanceTime, nextStartTime } from './windows.ts';

export interface PlannedStep {
  /** 1-based, as people count steps. */
  number: number;
  label: string;
  weight: number;
  hold: string;
  /** Waits for `kubectl canary resume`; the times after it assume an immediate resume. */
  pause: boolean;
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
  pause: boolean;
}

function stepsOf(policy: CanaryPolicy): StepShape[] {
  const strategy = policy.spec.strategy;
  if (strategy.type === 'blueGreen') {
    return [
      { label: 'preview (testers only)', weight: 0, hold: strategy.blueGreen.previewHold, pause: false },
      { label: 'switch', weight: 100, hold: strategy.blueGreen.switchBackHold, pause: false },
    ];
  }
  return strategy.steps.map((step) => ({ label: 'canary', ...step }));
}

export function planTimeline(policy: CanaryPolicy, from: Date, options: PlanOptions = {}): Timeline {
  const schedule = policy.spec.schedule;
  const start = nextStartTime(schedule, from);
  const steps: PlannedStep[] = [];
  let stepStart: Date | null = start;
  for (const [index, step] of stepsOf(policy).entries()) {
    if (stepStart === null) break;
    const holdEnds = new Date(stepStart.getTime() + parseDuration(step.hold));
    const earliestAdvance = nextAdvanceTime(schedule, holdEnds);
    const number = index + 1;
    steps.push({
      number,
      label: step.label,
      weight: step.weight,
      hold: step.hold,
      pause: step.pause,
      earliestStart: stepStart,
      earliestAdvance,
      warnings: options.warnings?.(policy, { number, weight: step.weight }) ?? [],
    });
    stepStart = earliestAdvance;
  }
  return {
    from,
    start,
    steps,
    promotion: steps.length > 0 ? (steps[steps.length - 1]?.earliestAdvance ?? null) : null,
  };
}
