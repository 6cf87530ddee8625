// A step's start recorded by its route. The decision that only starts a step (its one action the
// weight write) goes to the route first and to the status after it, in the same pass: the route
// carries canaryd's own record of the weight it wrote (canaryd.dev/weight, or the HTTPRoute's
// record), and the status written after it can say the share the route then carries. One status
// write per step instead of two: the decision, then the measured share (issue 13).
//
// A pass stopped between the two writes (a crash, a status write that lost a race) leaves a route
// at the weight of the step after the status's: the next decision reads that record and starts
// the step again from it, with its hold from then (held longer, never repeated or skipped;
// invariant 5). Without this, the step's actions would lower the route to the status's weight
// and raise it again once the gates reopened: the step would be taken twice.
import type { Action } from '../actions.ts';
import type { Context, HandlerResult } from '../context.ts';
import type { ObservedCanary } from '../observed.ts';
import { enterStep } from '../transitions.ts';
import type { ReleaseState } from '../types.ts';
import { plannedCanarySize } from './step-gates.ts';
import { markStarted, startStep } from './step-start.ts';

/**
 * Does this decision write its route before its status? Only one that starts a step of the same
 * release (the step entered before, or the next one), raises the weight, pauses nothing and asks
 * for nothing but the weight: the route's record then says everything the decision did.
 */
export function routeBeforeRecording(before: ReleaseState, next: ReleaseState, actions: readonly Action[]): boolean {
  const was = before.current;
  const now = next.current;
  if (before.phase !== 'progressing' || next.phase !== 'progressing') return false;
  if (was === undefined || now === undefined || was.revision !== now.revision) return false;
  if (now.stepStartedAt === undefined || now.stepStartedAt === was.stepStartedAt) return false;
  const stepOf = was.stepStartedAt === undefined ? was.stepIndex : was.stepIndex + 1;
  if (now.stepIndex !== stepOf || now.weight <= was.weight || now.testersOnly) return false;
  const [only, ...more] = actions;
  return more.length === 0 && only?.type === 'setWeight' && only.weight === now.weight;
}

/**
 * The route carries the weight of the step that would start next, which the status does not:
 * that step started in a pass whose status write never happened. It starts again now (a step
 * that pauses pauses as it would have; a release paused meanwhile stays paused, at that step),
 * if its canary is still ready for it; null otherwise (the step's actions then put the status's weight
 * back, and the step starts when its gates open again).
 */
export function startRecordedByRoute(
  state: ReleaseState,
  context: Context,
  canary: ObservedCanary | undefined,
): HandlerResult | null {
  const current = state.current!;
  const { route } = context.observed;
  const paused = state.phase === 'paused';
  if ((state.phase !== 'progressing' && !paused) || route.weight <= current.weight) return null;
  // Before this release set any weight, the route's may be an earlier release's (superseded):
  // the first step starts through its gates as usual, and they answer as they did (recorded).
  if (current.stepStartedAt === undefined && current.stepIndex === 0) return null;
  const index = current.stepStartedAt === undefined ? current.stepIndex : current.stepIndex + 1;
  const step = context.steps[index];
  if (step === undefined || step.weight !== route.weight || step.testersOnly) return null;
  if (canary === undefined || canary.readyReplicas < plannedCanarySize(context, index)) return null;
  if (index !== current.stepIndex) enterStep(current, index, context);
  if (!paused) return startStep(state, context, step);
  // Paused meanwhile (a person's pause, which is what made the status write lose its race): the
  // release pauses at the step the route carries, not at the one before with its weight lowered.
  markStarted(current, context, step);
  return null;
}
