// Wall-clock time in an IANA time zone, computed with Intl only (no clock, no tz database of our own).

export interface WallClock {
  year: number;
  /** 1-12 */
  month: number;
  /** 1-31 */
  day: number;
  /** 0-23 */
  hour: number;
  /** 0-59 */
  minute: number;
  /** 0 = Sunday … 6 = Saturday */
  weekday: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/**
 * Zones that are UTC at every instant, answered without Intl: the first Intl.DateTimeFormat
 * loads ICU's locale and zone data, ~10 MiB of a process's RSS (8 of them pages of the node
 * binary), and "UTC" is every policy's default (spec.schedule.timeZone).
 */
const ALWAYS_UTC = new Set(['UTC', 'Etc/UTC']);

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** True when Intl knows the IANA zone name ("Europe/Berlin", "UTC"). */
export function isKnownTimeZone(timeZone: string): boolean {
  if (typeof timeZone !== 'string' || timeZone.length === 0) return false;
  if (ALWAYS_UTC.has(timeZone)) return true;
  try {
    formatterFor(timeZone);
    return true;
  } catch {
    // Intl throws RangeError for an unknown zone; that is exactly the answer.
    return false;
  }
}

/** UTC epoch ms of the wall clock shown at `instant` in the zone, seconds included. */
function wallAsUtc(instant: number, timeZone: string): number {
  if (ALWAYS_UTC.has(timeZone)) return instant;
  const fields: Record<string, number> = {};
  for (const part of formatterFor(timeZone).formatToParts(new Date(instant))) {
    if (part.type !== 'literal') fields[part.type] = Number(part.value);
  }
  const wall = Date.UTC(
    fields.year ?? 1970,
    (fields.month ?? 1) - 1,
    fields.day ?? 1,
    fields.hour ?? 0,
    fields.minute ?? 0,
    fields.second ?? 0,
  );
  return wall + (((instant % 1000) + 1000) % 1000);
}

/** The zone's UTC offset in ms at an instant (+3600000 for CET). */
export function zoneOffset(instant: number, timeZone: string): number {
  return wallAsUtc(instant, timeZone) - instant;
}

export function wallClock(instant: number, timeZone: string): WallClock {
  const shifted = new Date(wallAsUtc(instant, timeZone));
  return {
    year: shifted.getUTCFullYear(),
    month: shifted.getUTCMonth() + 1,
    day: shifted.getUTCDate(),
    hour: shifted.getUTCHours(),
    minute: shifted.getUTCMinutes(),
    weekday: shifted.getUTCDay(),
  };
}

/**
 * The instant a local wall-clock time (given as if it were UTC) happens in the zone.
 * Disambiguation follows Temporal's "compatible": a time repeated by a fall-back happens at its
 * first occurrence; a time skipped by a spring-forward is shifted forward by the gap
 * (02:30 on a Berlin spring-forward day happens at 03:30 CEST).
 */
export function localToInstant(localAsUtc: number, timeZone: string): number {
  const offsetBefore = zoneOffset(localAsUtc - 86_400_000, timeZone);
  const offsetAfter = zoneOffset(localAsUtc + 86_400_000, timeZone);
  const candidates = [localAsUtc - offsetBefore, localAsUtc - offsetAfter]
    .filter((instant) => wallAsUtc(instant, timeZone) === localAsUtc)
    .sort((a, b) => a - b);
  return candidates[0] ?? localAsUtc - offsetBefore;
}
