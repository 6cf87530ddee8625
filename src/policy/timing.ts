// Holds and deadlines that cannot work together, judged on the steps the engine will really
// walk (engine/plan.ts: testers-first and blueGreen included): a zero hold, a hold shorter than
// an analysis round, a release deadline that passes before the steps can possibly end.
import { type PlannedStep, planSteps, policyTimes } from '../engine/plan.ts';
import { formatDuration, parseDuration } from '../schedule/duration.ts';
import type { FieldPath } from './errors.ts';
import type { Reporter } from './findings.ts';
import type { CanaryPolicy } from './schema.ts';

const INTERVAL: FieldPath = ['spec', 'analysis', 'interval'];
const RELEASE: FieldPath = ['spec', 'timeouts', 'release'];

/** Where each planned step's hold is written, in planSteps' order. */
function holdPaths(policy: CanaryPolicy): FieldPath[] {
  const { strategy, routing } = policy.spec;
  if (strategy.type === 'blueGreen') {
    return [
      ['spec', 'strategy', 'blueGreen', 'previewHold'],
      ['spec', 'strategy', 'blueGreen', 'switchBackHold'],
    ];
  }
  const steps: FieldPath[] = strategy.steps.map((_, index) => ['spec', 'strategy', 'steps', index, 'hold']);
  return routing?.testersFirst === undefined ? steps : [['spec', 'routing', 'testersFirst'], ...steps];
}

export function checkTiming(policy: CanaryPolicy, reporter: Reporter): void {
  let steps: PlannedStep[];
  let times: ReturnType<typeof policyTimes>;
  try {
    steps = planSteps(policy);
    times = policyTimes(policy);
  } catch {
    // An unreadable duration is reported by the duration checks; nothing to add here.
    return;
  }
  const paths = holdPaths(policy);
  const interval = policy.spec.analysis.interval;
  steps.forEach((step, index) => {
    const path = paths[index];
    if (path !== undefined) checkHold(step, path, times.analysisEnabled ? interval : undefined, reporter);
  });
  checkDeadlines(policy, steps, times, paths, reporter);
}

/**
 * A zero hold is an error wherever a step holds (unless a person ends the step: pause: true):
 * the step would advance the moment its weight is set, before any traffic at that weight could
 * be judged. A hold shorter than the analysis interval is a warning: the step lasts one round.
 */
function checkHold(step: PlannedStep, path: FieldPath, interval: string | undefined, reporter: Reporter): void {
  if (step.pause) return;
  const field = String(path[path.length - 1]);
  if (step.holdMs === 0) {
    const evidence =
      interval === undefined
        ? 'with no checks nothing else holds it'
        : `its only evidence would be one analysis round ${interval} later, over a window of mostly the previous step's traffic`;
    reporter.error(
      path,
      field === 'switchBackHold'
        ? 'a zero switchBackHold removes the old version the moment traffic switches: there is no switch back'
        : `a zero ${field === 'hold' ? 'hold' : field}: the step advances as soon as it starts; ${evidence}`,
      interval === undefined
        ? 'hold for as long as the step should carry traffic, or set pause: true to wait for a person'
        : `hold at least the analysis interval (${interval}), or set pause: true to wait for a person`,
      interval === undefined ? undefined : [INTERVAL],
    );
    return;
  }
  if (interval !== undefined && step.holdMs < parseDuration(interval)) {
    reporter.warning(
      path,
      `${formatDuration(step.holdMs)} is shorter than the analysis interval (${interval}): the step lasts until its first analysis round, not ${formatDuration(step.holdMs)}`,
      `hold at least ${interval}, or shorten spec.analysis.interval`,
      [INTERVAL],
    );
  }
}

/** The least time the steps take: each its hold, and at least one analysis round when analysed. */
export function minimumStepsMs(steps: readonly PlannedStep[], analysisIntervalMs: number | undefined): number {
  return steps.reduce((sum, step) => sum + Math.max(step.holdMs, analysisIntervalMs ?? 0), 0);
}

function checkDeadlines(
  policy: CanaryPolicy,
  steps: readonly PlannedStep[],
  times: ReturnType<typeof policyTimes>,
  holds: readonly FieldPath[],
  reporter: Reporter,
): void {
  const { timeouts } = policy.spec;
  const interval = times.analysisEnabled ? times.analysisIntervalMs : undefined;
  const needed = minimumStepsMs(steps, interval);
  const related = [...holds, INTERVAL, ['spec', 'strategy'], ['spec', 'routing']] as FieldPath[];
  if (times.releaseMs <= needed) {
    const count = steps.length === 1 ? '1 step' : `${steps.length} steps`;
    const each =
      interval === undefined ? 'the sum of their holds' : `the sum of their holds, each at least one analysis interval`;
    reporter.error(
      RELEASE,
      `timeouts.release (${timeouts.release}) passes before the steps can end: ${count} need at least ${formatDuration(needed)} (${each}), so every release would roll back`,
      `raise timeouts.release well above ${formatDuration(needed)}, leaving room for canary pods to start, advance windows and pauses`,
      related,
    );
  }
  if (times.canaryReadyMs >= times.releaseMs) {
    reporter.error(
      ['spec', 'timeouts', 'canaryReady'],
      `timeouts.canaryReady (${timeouts.canaryReady}) is not shorter than timeouts.release (${timeouts.release}): the release deadline would always pass first`,
      'canaryReady bounds one step’s wait for canary pods; keep it well below the release timeout',
      [RELEASE],
    );
  }
  if (times.promotionMs < times.canaryReadyMs) {
    reporter.warning(
      ['spec', 'timeouts', 'promotion'],
      `timeouts.promotion (${timeouts.promotion}) is shorter than timeouts.canaryReady (${timeouts.canaryReady}): promotion starts the same pods at full size, and gets less time than one canary step does`,
      'raise timeouts.promotion to at least timeouts.canaryReady',
      [['spec', 'timeouts', 'canaryReady']],
    );
  }
}
