// A small, pure 5-field cron matcher (minute hour day-of-month month day-of-week).
// Expressions are also checked with node-cron's validate so a policy never holds an expression
// that the runtime ticker (node-cron) would refuse.
import { validateDetailed } from 'node-cron';
import type { WallClock } from './zone.ts';

export interface CronExpression {
  source: string;
  minutes: ReadonlySet<number>;
  hours: ReadonlySet<number>;
  daysOfMonth: ReadonlySet<number>;
  months: ReadonlySet<number>;
  /** 0 = Sunday … 6 = Saturday (7 is folded into 0). */
  weekdays: ReadonlySet<number>;
}

interface FieldRule {
  label: string;
  min: number;
  max: number;
  names?: readonly string[];
}

const FIELDS: readonly FieldRule[] = [
  { label: 'minute', min: 0, max: 59 },
  { label: 'hour', min: 0, max: 23 },
  { label: 'day of month', min: 1, max: 31 },
  {
    label: 'month',
    min: 1,
    max: 12,
    names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'],
  },
  { label: 'day of week', min: 0, max: 7, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] },
];

export class CronError extends Error {
  override name = 'CronError';
}

function parseValue(text: string, rule: FieldRule, expression: string): number {
  const upper = text.toUpperCase();
  const nameIndex = rule.names?.indexOf(upper) ?? -1;
  if (nameIndex >= 0) return nameIndex + (rule.label === 'month' ? 1 : 0);
  if (!/^\d+$/.test(text)) {
    const names = rule.names ? ` or a name (${rule.names.join(', ')})` : '';
    throw new CronError(
      `cron ${JSON.stringify(expression)}: ${rule.label} ${JSON.stringify(text)} is not a number ${rule.min}-${rule.max}${names}`,
    );
  }
  const value = Number(text);
  if (value < rule.min || value > rule.max) {
    throw new CronError(
      `cron ${JSON.stringify(expression)}: ${rule.label} ${value} is out of range ${rule.min}-${rule.max}`,
    );
  }
  return value;
}

function parseField(text: string, rule: FieldRule, expression: string): Set<number> {
  const values = new Set<number>();
  for (const item of text.split(',')) {
    const [rangeText = '', stepText, extra] = item.split('/');
    if (extra !== undefined || rangeText === '') {
      throw new CronError(`cron ${JSON.stringify(expression)}: ${rule.label} ${JSON.stringify(item)} is malformed`);
    }
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) === 0) {
        throw new CronError(
          `cron ${JSON.stringify(expression)}: step ${JSON.stringify(stepText)} in ${rule.label} must be a positive integer`,
        );
      }
      step = Number(stepText);
    }
    let low: number;
    let high: number;
    if (rangeText === '*') {
      low = rule.min;
      high = rule.max;
    } else if (rangeText.includes('-')) {
      const [lowText = '', highText = '', more] = rangeText.split('-');
      if (more !== undefined) {
        throw new CronError(`cron ${JSON.stringify(expression)}: ${rule.label} ${JSON.stringify(item)} is malformed`);
      }
      low = parseValue(lowText, rule, expression);
      high = parseValue(highText, rule, expression);
      if (low > high) {
        throw new CronError(
          `cron ${JSON.stringify(expression)}: ${rule.label} range ${JSON.stringify(rangeText)} runs backwards; write it low-high`,
        );
      }
    } else {
      low = parseValue(rangeText, rule, expression);
      // "5/15" means from 5 to the end in steps of 15, as in Vixie cron.
      high = stepText === undefined ? low : rule.max;
    }
    for (let value = low; value <= high; value += step) values.add(value);
  }
  return values;
}

/** Parses a 5-field cron expression; throws CronError naming the offending field. */
export function parseCron(expression: string): CronExpression {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5 || fields[0] === '') {
    throw new CronError(
      `cron ${JSON.stringify(expression)}: expected 5 fields (minute hour day-of-month month day-of-week), found ${fields[0] === '' ? 0 : fields.length}`,
    );
  }
  const [minutes, hours, daysOfMonth, months, weekdays] = fields.map((field, index) =>
    parseField(field, FIELDS[index] as FieldRule, expression),
  ) as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  if (weekdays.delete(7)) weekdays.add(0);
  const detailed = validateDetailed(expression);
  if (!detailed.valid) {
    const reason = detailed.errors.map((error) => error.message).join('; ');
    throw new CronError(`cron ${JSON.stringify(expression)}: ${reason || 'rejected by node-cron'}`);
  }
  return { source: expression, minutes, hours, daysOfMonth, months, weekdays };
}

/** The error message for an invalid expression, or null when it is valid. */
export function cronError(expression: string): string | null {
  try {
    parseCron(expression);
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/**
 * Day-of-month and day-of-week must both match (AND), as node-cron does — not the Vixie OR rule —
 * so a policy and the runtime ticker agree: "0 9 13 * FRI" is Friday the 13th only.
 */
export function dayMatches(cron: CronExpression, year: number, month: number, day: number): boolean {
  if (!cron.months.has(month) || !cron.daysOfMonth.has(day)) return false;
  return cron.weekdays.has(new Date(Date.UTC(year, month - 1, day)).getUTCDay());
}

export function cronMatches(cron: CronExpression, wall: WallClock): boolean {
  return (
    cron.minutes.has(wall.minute) &&
    cron.hours.has(wall.hour) &&
    cron.months.has(wall.month) &&
    cron.daysOfMonth.has(wall.day) &&
    cron.weekdays.has(wall.weekday)
  );
}
