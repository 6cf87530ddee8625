// Leaving a started step: to the next step, or to promotion after the last one (confirmPromotion
// first), once its hold has elapsed (or sequential evidence ended it early), an advance window is
// open, the latest analysis round of the step allows it and the during hook has no objection.
// `promote` skips the hold and the window; `promote --full` skips everything.
import { formatDuration } from '../../schedule/duration.ts';
import { advanceAllowed } from '../../schedule/windows.ts';
import { type Context, event, type HandlerResult } from '../context.ts';
import { duringGate } from '../hooks.ts';
import type { PlannedStep } from '../plan.ts';
import { enterPromotion, enterStep, setPhase } from '../transitions.ts';
import type { CurrentRelease, ReleaseState } from '../types.ts';
import { earlyAdvance } from './sequential-gates.ts';
import { promotionGate } from './step-gates.ts';

/** Next step or promotion when every gate is open; null (and the reason in status) otherwise. */
export function advance(
  state: ReleaseState,
  context: Context,
  step: PlannedStep,
  analysing: boolean,
): HandlerResult | null {
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
