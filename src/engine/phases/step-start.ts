// Entering a step: its canary is made ready for it (the weight unchanged), its gates are asked
// (hooks, approval), and then the step starts: its weight is set and its hold begins. Where ready
// canary pods carry traffic, the gates are asked first, while the canary is held at the size in
// force.
import { type Context, type HandlerResult, plusMs } from '../context.ts';
import type { ObservedCanary } from '../observed.ts';
import type { PlannedStep } from '../plan.ts';
import { pause, setPhase } from '../transitions.ts';
import type { CurrentRelease, ReleaseState } from '../types.ts';
import { canarySize, heldByGates, startGates } from './step-gates.ts';

/** The step routes testers by header or cookie (a testers-only step, or spec.routing on every step). */
export const testersNeeded = (step: PlannedStep): boolean => step.testersOnly || step.testerRouting;

/** The step starts once its canary and route are ready and its gates are open (hooks, approval); null while it waits. */
export function beginStep(
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
    const { canary } = context.observed;
    const unrouted = canary?.readyInDeployment === undefined ? '' : ` (${canaryCount(canary, wanted)})`;
    setPhase(
      state,
      'progressing',
      `step ${state.current!.stepIndex + 1}: waiting for ${wanted} ready canary pod(s)${unrouted}`,
    );
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
export function startStep(state: ReleaseState, context: Context, step: PlannedStep): HandlerResult {
  const current = state.current!;
  markStarted(current, context, step);
  if (step.pause && current.stepPauseLifted !== current.stepIndex && !current.promote) {
    return { goto: pause(state, context, 'step', 'policy', `step ${current.stepIndex + 1} waits for resume`) };
  }
  return { goto: setPhase(state, 'progressing', `step ${current.stepIndex + 1} at ${step.weight}%`) };
}

/** The step's weight is set now and its hold begins. */
export function markStarted(current: CurrentRelease, context: Context, step: PlannedStep): void {
  current.stepStartedAt = context.nowIso;
  current.weight = step.weight;
  current.testersOnly = step.testersOnly;
  current.deadlines.canaryReady = undefined;
}

/**
 * How many of the pods a step wants are ready; when the Deployment counts more ready than are
 * endpoints behind the route, that too (a waiting step and a rollback at timeouts.canaryReady say it).
 */
export function canaryCount(canary: ObservedCanary | undefined, wanted: number): string {
  const ready = canary?.readyReplicas ?? 0;
  const inDeployment = canary?.readyInDeployment ?? ready;
  if (inDeployment > ready) {
    return `${inDeployment} of ${wanted} canary pod(s) ready, ${ready} of them ready endpoints behind the route; check the Service's selector and its EndpointSlices`;
  }
  return `${ready} of ${wanted} canary pod(s) ready`;
}
