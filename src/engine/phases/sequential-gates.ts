// Two gates only sequential analysis opens: a step that ends before its hold because the
// evidence proved the canary fine (advanceOnEvidence), and timeouts.release reached while the
// evidence is still undecided (onInconclusive decides instead of the deadline).
import { type Context, type HandlerResult, reached } from '../context.ts';
import { pause } from '../transitions.ts';
import type { ReleaseState } from '../types.ts';

/**
 * timeouts.release reached while a sequential check is still gathering evidence: that is an
 * inconclusive analysis, so onInconclusive decides. `pause` hands the release to a person (the
 * deadline is spent; analysis keeps running and a proven regression still rolls back);
 * `rollback` lets the deadline roll back as usual.
 */
export function undecidedAtTimeout(state: ReleaseState, context: Context): HandlerResult | null {
  const current = state.current!;
  const analysis = context.observed.analysis;
  if (
    state.phase !== 'progressing' ||
    !reached(context, current.deadlines.release) ||
    analysis?.decision !== 'undecided' ||
    context.policy.spec.analysis.onInconclusive !== 'pause'
  ) {
    return null;
  }
  current.deadlines.release = undefined;
  const reason = `timeouts.release (${context.policy.spec.timeouts.release}) reached with the sequential analysis undecided (onInconclusive: pause): ${analysis.reason}`;
  return { goto: pause(state, context, 'analysis', 'analysis', reason) };
}

/** A fresh round of this step lets the step end before its hold (sequential evidence). */
export function earlyAdvance(context: Context, stepStartedMs: number): boolean {
  const round = context.observed.analysis;
  if (round === undefined || round.decision !== 'advance-now') return false;
  const at = Date.parse(round.at);
  return at >= stepStartedMs && at >= context.nowMs - 2 * context.times.analysisIntervalMs;
}
