// When the controller should call decide again even if nothing in the cluster changes: the end
// of a hold, an advance or start window opening, the next analysis round, a deadline. Events
// (informers, a completed analysis round, a manual operation) trigger decide anyway.
import type { CanaryPolicy } from '../policy/schema.ts';
import { advanceAllowed, nextAdvanceTime, nextStartTime } from '../schedule/windows.ts';
import { drainEndsAt } from './drain.ts';
import { hookWakeTimes } from './hooks.ts';
import { planSteps, policyTimes } from './plan.ts';
import type { ReleaseState } from './types.ts';

/**
 * The earliest instant strictly after `now` at which decide() has something time-driven to do.
 * Call it with the state decide() just returned and the same `now`; null: only cluster events matter.
 */
export function nextWakeAt(state: ReleaseState, policy: CanaryPolicy, now: Date): Date | null {
  const times = policyTimes(policy);
  const schedule = policy.spec.schedule;
  const candidates: number[] = [];
  const add = (instant: string | number | Date | null | undefined): void => {
    if (instant === null || instant === undefined) return;
    const ms =
      instant instanceof Date ? instant.getTime() : typeof instant === 'number' ? instant : Date.parse(instant);
    if (Number.isFinite(ms)) candidates.push(ms);
  };
  // A canary being drained is removed at the end of the drain, in a release or after it (promotion).
  add(drainEndsAt(state, times.drainDelayMs));
  const current = state.current;
  if (current === undefined) return earliestAfter(candidates, now);
  const { deadlines } = current;
  switch (state.phase) {
    case 'waiting':
      add(nextStartTime(schedule, now));
      break;
    case 'progressing':
    case 'paused': {
      add(deadlines.release);
      for (const instant of hookWakeTimes(current, { policy, times })) add(instant);
      if (current.stepStartedAt === undefined) {
        add(deadlines.canaryReady);
        break;
      }
      const started = Date.parse(current.stepStartedAt);
      if (times.analysisEnabled && !current.promote?.full) {
        let basis = started;
        if (current.analysis.requestedAt !== undefined)
          basis = Math.max(basis, Date.parse(current.analysis.requestedAt));
        add(basis + times.analysisIntervalMs);
      }
      if (state.phase === 'progressing' && !current.promote) {
        const step = planSteps(policy)[current.stepIndex];
        const holdEnd = started + (step?.holdMs ?? 0);
        if (holdEnd > now.getTime()) add(holdEnd);
        else if (!advanceAllowed(schedule, now).allowed) add(nextAdvanceTime(schedule, now));
      }
      break;
    }
    case 'promoting':
      add(deadlines.promotion);
      break;
    case 'rollingBack':
      add(deadlines.rollback);
      break;
    default:
      break;
  }
  return earliestAfter(candidates, now);
}

/** decide() was just called at `now` and acted on everything due by then: only later instants count. */
function earliestAfter(candidates: number[], now: Date): Date | null {
  const future = candidates.filter((ms) => ms > now.getTime());
  if (future.length === 0) return null;
  return new Date(Math.min(...future));
}
