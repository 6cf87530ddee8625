// When a release may start and when its steps may advance: cron windows in a time zone, minus
// blackouts. Pure: the time is always a parameter.
import type { ScheduleSpec } from '../policy/schema.ts';
import { type CronExpression, parseCron } from './cron.ts';
import { parseDuration } from './duration.ts';
import { containing, cronOpenings, type Interval, mergeIntervals, subtractIntervals } from './intervals.ts';

export interface WindowVerdict {
  allowed: boolean;
  /** Why, in words for an SRE: 'outside advance windows', 'blackout "freeze" until 2026-12-01T00:00:00Z'. */
  reason: string;
}

/** How far ahead nextStartTime / nextAdvanceTime look before giving up. */
export const SEARCH_HORIZON_MS = 35 * 86_400_000;

type WindowKind = 'start' | 'advance';
type CronWindow = ScheduleSpec['startWindows'][number];
type Blackout = ScheduleSpec['blackouts'][number];

interface LabelledInterval extends Interval {
  label: string;
}

const parsedCrons = new Map<string, CronExpression>();

function cached(expression: string): CronExpression {
  let cron = parsedCrons.get(expression);
  if (cron === undefined) {
    cron = parseCron(expression);
    if (parsedCrons.size > 1000) parsedCrons.clear();
    parsedCrons.set(expression, cron);
  }
  return cron;
}

export function startAllowed(schedule: ScheduleSpec, at: Date): WindowVerdict {
  return verdict(schedule, 'start', at.getTime());
}

export function advanceAllowed(schedule: ScheduleSpec, at: Date): WindowVerdict {
  return verdict(schedule, 'advance', at.getTime());
}

/** Earliest t >= from at which a release may start, or null if none within SEARCH_HORIZON_MS. */
export function nextStartTime(schedule: ScheduleSpec, from: Date): Date | null {
  return nextAllowed(schedule, 'start', from.getTime());
}

/** Earliest t >= from at which a step may advance, or null if none within SEARCH_HORIZON_MS. */
export function nextAdvanceTime(schedule: ScheduleSpec, from: Date): Date | null {
  return nextAllowed(schedule, 'advance', from.getTime());
}

function windowsOf(schedule: ScheduleSpec, kind: WindowKind): readonly CronWindow[] {
  return kind === 'start' ? schedule.startWindows : schedule.advanceWindows;
}

function windowIntervals(windows: readonly CronWindow[], timeZone: string, from: number, to: number): Interval[] {
  return mergeIntervals(
    windows.flatMap((window) => cronOpenings(cached(window.cron), parseDuration(window.duration), timeZone, from, to)),
  );
}

function blackoutIntervals(blackouts: readonly Blackout[], timeZone: string, from: number, to: number) {
  const labelled: LabelledInterval[] = [];
  for (const blackout of blackouts) {
    const label = blackout.reason ? `blackout ${JSON.stringify(blackout.reason)}` : 'blackout';
    if (blackout.start !== undefined && blackout.end !== undefined) {
      labelled.push({ start: Date.parse(blackout.start), end: Date.parse(blackout.end), label });
    }
    if (blackout.cron !== undefined && blackout.duration !== undefined) {
      const openings = cronOpenings(cached(blackout.cron), parseDuration(blackout.duration), timeZone, from, to);
      for (const opening of openings) labelled.push({ ...opening, label });
    }
  }
  return { labelled, merged: mergeIntervals(labelled) };
}

function longest(windows: readonly { duration?: string | undefined }[]): number {
  return Math.max(0, ...windows.map((window) => (window.duration ? parseDuration(window.duration) : 0)));
}

function verdict(schedule: ScheduleSpec, kind: WindowKind, at: number): WindowVerdict {
  try {
    const timeZone = schedule.timeZone;
    // Only openings that began within the longest window/blackout can still be open at `at`.
    const blackouts = blackoutIntervals(schedule.blackouts, timeZone, at - longest(schedule.blackouts), at + 1);
    const inBlackout = blackouts.labelled.find((interval) => interval.start <= at && at < interval.end);
    if (inBlackout !== undefined) {
      // A blackout may run into another one: say when the whole dark period ends.
      const whole = containing(
        mergeIntervals(
          blackoutIntervals(schedule.blackouts, timeZone, at, at + SEARCH_HORIZON_MS).labelled.concat(
            blackouts.labelled,
          ),
        ),
        at,
      );
      return { allowed: false, reason: `${inBlackout.label} until ${isoSeconds(whole?.end ?? inBlackout.end)}` };
    }
    const windows = windowsOf(schedule, kind);
    if (windows.length === 0) return { allowed: true, reason: 'no windows configured' };
    const open = containing(windowIntervals(windows, timeZone, at - longest(windows), at + 1), at);
    if (open === undefined) return { allowed: false, reason: `outside ${kind} windows` };
    return { allowed: true, reason: `inside ${kind} window (${timeZone}) until ${isoSeconds(open.end)}` };
  } catch (error) {
    // A policy reaches the engine validated; if it still cannot be read, fail closed: hold.
    return { allowed: false, reason: `invalid schedule: ${error instanceof Error ? error.message : String(error)}` };
  }
}

function nextAllowed(schedule: ScheduleSpec, kind: WindowKind, from: number): Date | null {
  try {
    const to = from + SEARCH_HORIZON_MS;
    const windows = windowsOf(schedule, kind);
    const open =
      windows.length === 0 ? [{ start: from, end: to }] : windowIntervals(windows, schedule.timeZone, from, to);
    const dark = blackoutIntervals(schedule.blackouts, schedule.timeZone, from, to).merged;
    const allowed = subtractIntervals(open, dark).find((interval) => interval.end > from && interval.start < to);
    return allowed === undefined ? null : new Date(Math.max(from, allowed.start));
  } catch {
    // Same fail-closed rule as verdict(): an unreadable schedule never opens.
    return null;
  }
}

export function isoSeconds(instant: number): string {
  return new Date(instant).toISOString().replace(/\.000Z$/, 'Z');
}
