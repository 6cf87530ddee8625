// The gates of a step other than its hold and analysis: hooks that must say yes before the
// step's weight is set (preRollout before the first, confirmStep before each), the step's
// approval, confirmPromotion after the last step, and the during hook while a step holds.
// What a verdict does is the same for all: wait, pause for a person, or roll back.
import type { Context, HandlerResult } from '../context.ts';
import { approvalGate, duringRound, type GateVerdict, gate } from '../hooks.ts';
import { canaryReplicas, type PlannedStep } from '../plan.ts';
import { pause, startRollback } from '../transitions.ts';
import type { CurrentRelease, ReleaseState } from '../types.ts';

/** A verdict as the step handler takes it: null open, a string to wait with, or a move. */
export function verdictOutcome(
  state: ReleaseState,
  context: Context,
  verdict: GateVerdict,
): HandlerResult | string | null {
  switch (verdict.kind) {
    case 'open':
      return null;
    case 'waiting':
      return verdict.reason;
    case 'pause':
      return { goto: pause(state, context, 'hook', 'hook', verdict.reason) };
    case 'rollback':
      return { goto: startRollback(state, context, `hook: ${verdict.reason}`, 'rolledBack') };
  }
}

/** Before the step's weight is set: null when every gate is open. */
export function startGates(state: ReleaseState, context: Context, step: PlannedStep): HandlerResult | string | null {
  const current = state.current!;
  if (current.stepIndex === 0) {
    const pre = verdictOutcome(state, context, gate(state, context, 'preRollout', 0, step.weight));
    if (pre !== null) return pre;
  }
  const confirm = verdictOutcome(state, context, gate(state, context, 'confirmStep', current.stepIndex, step.weight));
  if (confirm !== null) return confirm;
  return approvalGate(current, context, step.approval);
}

/** Does the step wait for anything before its weight is set (preRollout, confirmStep, approval)? */
export function stepHasGates(context: Context, step: PlannedStep, stepIndex: number): boolean {
  const hooks = context.policy.spec.hooks;
  return (
    (stepIndex === 0 && hooks?.preRollout !== undefined) || hooks?.confirmStep !== undefined || step.approval === true
  );
}

/**
 * Where the router's share is the canary's ready pods (replica-ratio), a canary made ready for a
 * step would carry that step's share before its gates said yes: the canary stays at the size of
 * the weight in force (0 before the first step, else the previous step's) until they open.
 */
export function heldByGates(current: CurrentRelease, context: Context, step: PlannedStep): boolean {
  return (
    context.observed.canaryPodsCarryTraffic === true &&
    current.stepStartedAt === undefined &&
    current.gatesOpened !== current.stepIndex &&
    stepHasGates(context, step, current.stepIndex)
  );
}

/** Canary pods the step needs now: its planned size, or the size in force while its gates hold it. */
export function canarySize(current: CurrentRelease, context: Context, step: PlannedStep): number {
  if (!heldByGates(current, context, step)) return plannedCanarySize(context, current.stepIndex);
  return current.stepIndex === 0 ? 0 : plannedCanarySize(context, current.stepIndex - 1);
}

/** Canary pods step `index` is planned with (the router's solver where it sizes the canary). */
export function plannedCanarySize(context: Context, index: number): number {
  return (
    context.observed.canaryReplicasPerStep?.[index] ??
    canaryReplicas(context.steps[index]!, context.observed.deployment!.replicas)
  );
}

/** After the last step passed, before the stable Deployment rolls. */
export function promotionGate(state: ReleaseState, context: Context): HandlerResult | string | null {
  return verdictOutcome(state, context, gate(state, context, 'confirmPromotion', context.steps.length, 100));
}

/** The during hook of a step that holds its weight: a "no" (rollback) or too many inconclusive answers act now. */
export function duringOutcome(state: ReleaseState, context: Context): HandlerResult | null {
  if (state.current?.promote?.full) return null;
  const verdict = duringRound(state, context);
  // A pause while already paused changes nothing.
  if (verdict === null || (verdict.kind === 'pause' && state.phase === 'paused')) return null;
  const outcome = verdictOutcome(state, context, verdict);
  return typeof outcome === 'string' ? null : outcome;
}
