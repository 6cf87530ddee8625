// Half-open time intervals [start, end) in epoch ms, and the openings of cron windows as intervals.
import { type CronExpression, dayMatches } from './cron.ts';
import { localToInstant, wallClock, zoneOffset } from './zone.ts';

export interface Interval {
  start: number;
  end: number;
}

const DAY = 86_400_000;
const HOUR = 3_600_000;
const MINUTE = 60_000;

/** Sorts and unions overlapping or touching intervals; empty ones disappear. */
export function mergeIntervals(intervals: readonly Interval[]): Interval[] {
  const sorted = intervals.filter((interval) => interval.end > interval.start).sort((a, b) => a.start - b.start);
  const merged: Interval[] = [];
  for (const interval of sorted) {
    const last = merged[merged.length - 1];
    if (last !== undefined && interval.start <= last.end) {
      last.end = Math.max(last.end, interval.end);
    } else {
      merged.push({ start: interval.start, end: interval.end });
    }
  }
  return merged;
}

/** `base` minus `holes`; both must be merged (sorted, disjoint). */
export function subtractIntervals(base: readonly Interval[], holes: readonly Interval[]): Interval[] {
  const result: Interval[] = [];
  for (const interval of base) {
    let start = interval.start;
    for (const hole of holes) {
      if (hole.end <= start || hole.start >= interval.end) continue;
      if (hole.start > start) result.push({ start, end: hole.start });
      start = Math.max(start, hole.end);
      if (start >= interval.end) break;
    }
    if (start < interval.end) result.push({ start, end: interval.end });
  }
  return result;
}

export function containing(intervals: readonly Interval[], at: number): Interval | undefined {
  return intervals.find((interval) => interval.start <= at && at < interval.end);
}

/**
 * Every opening of a cron window, as [opening, opening + length), that overlaps [from, to).
 * Openings are wall-clock times in the zone: a window at 09:00 opens at 09:00 local on both
 * sides of a DST change. Days without an offset change (almost all) are converted with one
 * offset; a day with a change converts every opening exactly (see localToInstant).
 */
export function cronOpenings(
  cron: CronExpression,
  length: number,
  timeZone: string,
  from: number,
  to: number,
): Interval[] {
  const openings: Interval[] = [];
  if (length <= 0 || to <= from) return openings;
  const hours = [...cron.hours].sort((a, b) => a - b);
  const minutes = [...cron.minutes].sort((a, b) => a - b);
  const firstDay = localDay(from - length, timeZone) - DAY;
  const lastDay = localDay(to, timeZone) + DAY;
  for (let day = firstDay; day <= lastDay; day += DAY) {
    const date = new Date(day);
    if (!dayMatches(cron, date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate())) continue;
    // Offsets are within -12h..+14h, so these two instants bracket the whole local day.
    const offsetBefore = zoneOffset(day - 14 * HOUR, timeZone);
    const offsetAfter = zoneOffset(day + DAY + 14 * HOUR, timeZone);
    const steadyOffset = offsetBefore === offsetAfter ? offsetBefore : undefined;
    for (const hour of hours) {
      for (const minute of minutes) {
        const local = day + hour * HOUR + minute * MINUTE;
        const opening = steadyOffset === undefined ? localToInstant(local, timeZone) : local - steadyOffset;
        if (opening < to && opening + length > from) openings.push({ start: opening, end: opening + length });
      }
    }
  }
  return openings;
}

/** Midnight of the local calendar day containing the instant, expressed as if it were UTC. */
function localDay(instant: number, timeZone: string): number {
  const wall = wallClock(instant, timeZone);
  return Date.UTC(wall.year, wall.month - 1, wall.day);
}
