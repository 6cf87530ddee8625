// decide(policy, state, observed, now) -> { next, actions }: the whole release engine as one pure
// function. The controller persists `next` FIRST (a step's start whose only action is its weight
// goes to the route first, which carries its record: phases/step-recorded.ts), then executes `actions` in order (stopping at
// the first failure). Every action is derived from (state, observed), so after a crash at any
// point the next call asks again for whatever the cluster does not show yet; progress (step
// index, step start) lives in the state, never in how often decide was called.
import type { CanaryPolicy } from '../policy/schema.ts';
import type { Action, Decision } from './actions.ts';
import { type Context, type Handler, makeContext } from './context.ts';
import type { Observed } from './observed.ts';
import { applyOperation } from './operations.ts';
import { adopt, continueAdoption } from './phases/adoption.ts';
import { deploymentMissing, policyDeleted } from './phases/detached.ts';
import { promotingPhase } from './phases/promoting.ts';
import { restingPhase } from './phases/resting.ts';
import { rollingBackPhase } from './phases/rolling-back.ts';
import { stepPhase } from './phases/step.ts';
import { waitingPhase } from './phases/waiting.ts';
import type { Phase, ReleaseState } from './types.ts';

const HANDLERS: Record<Phase, Handler> = {
  idle: restingPhase,
  succeeded: restingPhase,
  failed: restingPhase,
  waiting: waitingPhase,
  progressing: stepPhase,
  paused: stepPhase,
  promoting: promotingPhase,
  rollingBack: rollingBackPhase,
};

/** More phase changes than this in one call is a bug (a cycle between handlers). */
const MAX_TRANSITIONS = 12;

export function initialState(): ReleaseState {
  return { version: 1, phase: 'idle', reason: 'not adopted yet', failedRevisions: [], history: [], nextRevision: 1 };
}

export function decide(policy: CanaryPolicy, state: ReleaseState, observed: Observed, now: Date): Decision {
  const context = makeContext(policy, observed, now);
  const working = structuredClone(state);
  const { next, actions } = run(working, context);
  // A JSON round trip drops undefined fields: `next` is exactly what survives persistence.
  // Events, then acks: an operation is acked once everything it caused has been asked for.
  const events = context.notes.filter((note) => note.type === 'recordEvent');
  const acks = context.notes.filter((note) => note.type !== 'recordEvent');
  return { next: JSON.parse(JSON.stringify(next)) as ReleaseState, actions: [...actions, ...events, ...acks] };
}

function run(state: ReleaseState, context: Context): { next: ReleaseState; actions: Action[] } {
  if (context.observed.policyDeleted) return policyDeleted(state, context);
  if (context.observed.deployment === undefined) return deploymentMissing(state, context);
  if (state.stable === undefined) return adopt(state, context);
  if (state.adopting) {
    const adopting = continueAdoption(state, context);
    if (adopting !== undefined) return adopting;
  }
  let current = applyOperation(state, context);
  for (let transitions = 0; transitions < MAX_TRANSITIONS; transitions++) {
    if (current.current === undefined && !isResting(current.phase)) current.phase = 'idle'; // defensive: no release, nothing in flight
    const result = HANDLERS[current.phase](current, context);
    if ('stay' in result) return { next: result.stay, actions: result.actions };
    current = result.goto;
  }
  throw new Error(
    `engine: more than ${MAX_TRANSITIONS} phase changes in one decision (phase ${current.phase}); this is a bug`,
  );
}

function isResting(phase: Phase): boolean {
  return phase === 'idle' || phase === 'succeeded' || phase === 'failed';
}
