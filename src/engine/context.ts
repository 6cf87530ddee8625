// What every phase handler is given for one call of decide(), and the shape of its answer.
import type { CanaryPolicy } from '../policy/schema.ts';
import type { Action, EventType } from './actions.ts';
import type { Observed } from './observed.ts';
import { type PlannedStep, type PolicyTimes, planSteps, policyTimes } from './plan.ts';
import type { ReleaseState } from './types.ts';

export interface Context {
  policy: CanaryPolicy;
  observed: Observed;
  now: Date;
  nowMs: number;
  nowIso: string;
  steps: PlannedStep[];
  times: PolicyTimes;
  /** recordEvent and ackOperation actions, emitted after the phase's actions. */
  notes: Action[];
}

export function makeContext(policy: CanaryPolicy, observed: Observed, now: Date): Context {
  return {
    policy,
    observed,
    now,
    nowMs: now.getTime(),
    nowIso: now.toISOString(),
    steps: planSteps(policy),
    times: policyTimes(policy),
    notes: [],
  };
}

/** A handler either moves to another phase (decide runs the new phase's handler) or stays and acts. */
export type HandlerResult = { goto: ReleaseState } | { stay: ReleaseState; actions: Action[] };

export type Handler = (state: ReleaseState, context: Context) => HandlerResult;

export function event(context: Context, eventType: EventType, reason: string, message: string): void {
  context.notes.push({ type: 'recordEvent', eventType, reason, message });
}

export function plusMs(instant: string | number, ms: number): string {
  const base = typeof instant === 'number' ? instant : Date.parse(instant);
  return new Date(base + ms).toISOString();
}

export function reached(context: Context, instant: string | undefined): boolean {
  return instant !== undefined && context.nowMs >= Date.parse(instant);
}
