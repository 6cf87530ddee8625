import { describe, expect, it } from 'vitest';
import { cronError, cronMatches, parseCron } from '../../src/schedule/cron.ts';
import { wallClock } from '../../src/schedule/zone.ts';

const at = (iso: string) => wallClock(Date.parse(iso), 'UTC');

describe('cron expressions', () => {
  it.each([
    ['*/15 * * * *', '2026-03-02T10:45:00Z', true],
    ['*/15 * * * *', '2026-03-02T10:46:00Z', false],
    ['0 9-17 * * MON-FRI', '2026-03-02T17:00:00Z', true], // Monday
    ['0 9-17 * * MON-FRI', '2026-03-07T12:00:00Z', false], // Saturday
    ['0 9 * * 7', '2026-03-08T09:00:00Z', true], // 7 is Sunday too
    ['0 9 * * sun', '2026-03-08T09:00:00Z', true], // names are case-insensitive
    ['0 0 1 JAN,jul *', '2026-07-01T00:00:00Z', true],
    ['0 0 1 JAN,jul *', '2026-08-01T00:00:00Z', false],
    ['5-59/20 * * * *', '2026-03-02T10:45:00Z', true], // 5, 25, 45
    ['0-30/10 * * * *', '2026-03-02T10:40:00Z', false],
    ['1,2,3-5 * * * *', '2026-03-02T10:04:00Z', true],
    // Day of month AND day of week, like node-cron: Friday the 13th only.
    ['0 0 13 * FRI', '2026-02-13T00:00:00Z', true],
    ['0 0 13 * FRI', '2026-04-13T00:00:00Z', false],
    ['0 0 13 * FRI', '2026-04-17T00:00:00Z', false],
  ])('%s matches %s: %s', (expression, iso, expected) => {
    expect(cronMatches(parseCron(expression), at(iso))).toBe(expected);
  });

  it.each([
    ['* * * *', 'expected 5 fields'],
    ['0 * * * * *', 'expected 5 fields (minute hour day-of-month month day-of-week), found 6'],
    ['', 'found 0'],
    ['60 * * * *', 'minute 60 is out of range 0-59'],
    ['0 24 * * *', 'hour 24 is out of range 0-23'],
    ['0 0 0 * *', 'day of month 0 is out of range 1-31'],
    ['0 0 * 13 *', 'month 13 is out of range 1-12'],
    ['0 0 * * FOO', 'day of week "FOO" is not a number 0-7 or a name (SUN, MON'],
    ['*/0 * * * *', 'step "0" in minute must be a positive integer'],
    ['30-10 * * * *', 'minute range "30-10" runs backwards'],
    ['0 0 30 2 *', 'impossible day of month'], // node-cron's own check
    ['5/20 * * * *', '5/20 is a invalid expression for minute'], // node-cron refuses it, so do we
    ['0 0 L * *', 'day of month "L" is not a number'],
  ])('rejects %j: %s', (expression, message) => {
    expect(cronError(expression)).toContain(message);
  });

  it('accepts what it parses', () => {
    expect(cronError('0 9 * * MON-FRI')).toBeNull();
  });
});
