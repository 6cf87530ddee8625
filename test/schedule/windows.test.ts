import { describe, expect, it } from 'vitest';
import type { ScheduleSpec } from '../../src/policy/schema.ts';
import { advanceAllowed, nextAdvanceTime, nextStartTime, startAllowed } from '../../src/schedule/windows.ts';

function schedule(partial: Partial<ScheduleSpec>): ScheduleSpec {
  return { timeZone: 'UTC', startWindows: [], advanceWindows: [], blackouts: [], ...partial };
}
const at = (iso: string) => new Date(iso);

describe('no windows, no blackouts', () => {
  it('allows starting and advancing at any time', () => {
    const open = schedule({});
    expect(startAllowed(open, at('2026-05-01T03:00:00Z'))).toEqual({ allowed: true, reason: 'no windows configured' });
    expect(advanceAllowed(open, at('2026-05-01T03:00:00Z'))).toEqual({
      allowed: true,
      reason: 'no windows configured',
    });
    expect(nextStartTime(open, at('2026-05-01T03:00:07Z'))).toEqual(at('2026-05-01T03:00:07Z'));
  });
});

describe('business hours in Europe/Berlin', () => {
  const businessHours = schedule({
    timeZone: 'Europe/Berlin',
    advanceWindows: [{ cron: '0 9 * * MON-FRI', duration: '8h' }],
  });

  it.each([
    // Friday before DST: 09:00 CET is 08:00Z
    ['2026-03-27T07:59:00Z', false],
    ['2026-03-27T08:00:00Z', true],
    ['2026-03-27T15:59:59Z', true],
    ['2026-03-27T16:00:00Z', false],
    // Saturday and Sunday: closed
    ['2026-03-28T10:00:00Z', false],
    // Monday after DST: 09:00 CEST is 07:00Z
    ['2026-03-30T07:00:00Z', true],
    ['2026-03-30T06:59:00Z', false],
    ['2026-03-30T14:59:00Z', true],
    ['2026-03-30T15:00:00Z', false],
  ])('advancing at %s is allowed: %s', (iso, allowed) => {
    expect(advanceAllowed(businessHours, at(iso)).allowed).toBe(allowed);
  });

  it('says why it holds, and that start windows are not restricted', () => {
    expect(advanceAllowed(businessHours, at('2026-03-28T10:00:00Z'))).toEqual({
      allowed: false,
      reason: 'outside advance windows',
    });
    expect(advanceAllowed(businessHours, at('2026-03-30T08:00:00Z')).reason).toBe(
      'inside advance window (Europe/Berlin) until 2026-03-30T15:00:00Z',
    );
    expect(startAllowed(businessHours, at('2026-03-28T10:00:00Z')).allowed).toBe(true);
  });

  it('finds the next opening across a weekend and a DST change', () => {
    expect(nextAdvanceTime(businessHours, at('2026-03-27T17:00:00Z'))).toEqual(at('2026-03-30T07:00:00Z'));
    expect(nextAdvanceTime(businessHours, at('2026-03-30T10:00:00Z'))).toEqual(at('2026-03-30T10:00:00Z'));
  });
});

describe('daylight saving time: windows follow the local wall clock', () => {
  it.each([
    // [zone, cron, from, next opening]
    // New York, spring forward 2026-03-08 02:00 EST -> 03:00 EDT: 09:00 is 14:00Z before, 13:00Z after.
    ['America/New_York', '0 9 * * *', '2026-03-07T00:00:00Z', '2026-03-07T14:00:00Z'],
    ['America/New_York', '0 9 * * *', '2026-03-08T00:00:00Z', '2026-03-08T13:00:00Z'],
    // 02:30 does not exist on the spring-forward day: the window opens at 03:30 EDT (shifted by the gap).
    ['America/New_York', '30 2 * * *', '2026-03-08T05:00:00Z', '2026-03-08T07:30:00Z'],
    ['Europe/Berlin', '30 2 * * *', '2026-03-29T00:00:00Z', '2026-03-29T01:30:00Z'],
    // The day after, 02:30 exists again (CEST).
    ['Europe/Berlin', '30 2 * * *', '2026-03-29T02:00:00Z', '2026-03-30T00:30:00Z'],
    // 02:30 happens twice on the Berlin fall-back day (2026-10-25): the window opens at the first one.
    ['Europe/Berlin', '30 2 * * *', '2026-10-25T00:00:00Z', '2026-10-25T00:30:00Z'],
    // 01:30 happens twice in New York on 2026-11-01: first at 05:30Z (EDT).
    ['America/New_York', '30 1 * * *', '2026-11-01T04:00:00Z', '2026-11-01T05:30:00Z'],
    // After the fall back, 09:00 is 14:00Z again.
    ['America/New_York', '0 9 * * *', '2026-11-01T10:00:00Z', '2026-11-01T14:00:00Z'],
  ])('%s %s from %s opens at %s', (timeZone, cron, from, expected) => {
    const windowed = schedule({ timeZone, startWindows: [{ cron, duration: '30m' }] });
    expect(nextStartTime(windowed, at(from))).toEqual(at(expected));
  });

  it('opens a window in the repeated hour only once', () => {
    const windowed = schedule({
      timeZone: 'America/New_York',
      startWindows: [{ cron: '30 1 * * *', duration: '30m' }],
    });
    expect(startAllowed(windowed, at('2026-11-01T05:45:00Z')).allowed).toBe(true); // 01:45 EDT
    expect(startAllowed(windowed, at('2026-11-01T06:45:00Z')).allowed).toBe(false); // 01:45 EST, second time
  });

  it('keeps a window open for its duration in real time across the change', () => {
    // Opens 00:00 CET (23:00Z) the night of the spring forward; 6h later it is 07:00 CEST.
    const night = schedule({ timeZone: 'Europe/Berlin', advanceWindows: [{ cron: '0 0 * * *', duration: '6h' }] });
    expect(advanceAllowed(night, at('2026-03-29T04:59:00Z')).allowed).toBe(true);
    expect(advanceAllowed(night, at('2026-03-29T05:00:00Z')).allowed).toBe(false);
  });

  it('does not see a window every minute of the skipped hour twice over', () => {
    const everyMinute = schedule({
      timeZone: 'Europe/Berlin',
      advanceWindows: [{ cron: '* 2 * * *', duration: '1m' }],
    });
    // 02:xx does not exist on 2026-03-29; shifted by the gap it is 03:xx CEST = 01:xxZ.
    expect(advanceAllowed(everyMinute, at('2026-03-29T01:15:30Z')).allowed).toBe(true);
    expect(advanceAllowed(everyMinute, at('2026-03-29T02:15:00Z')).allowed).toBe(false);
  });
});

describe('blackouts', () => {
  const frozen = schedule({
    blackouts: [
      { start: '2026-12-01T00:00:00Z', end: '2026-12-05T00:00:00Z', reason: 'freeze' },
      { start: '2026-12-04T12:00:00Z', end: '2026-12-06T00:00:00Z', reason: 'migration' },
      { cron: '0 0 * * SAT', duration: '48h' },
    ],
  });

  it('stops both start and advance, naming the blackout and when the dark period ends', () => {
    expect(startAllowed(frozen, at('2026-12-02T10:00:00Z'))).toEqual({
      allowed: false,
      reason: 'blackout "freeze" until 2026-12-07T00:00:00Z', // freeze, migration and the weekend run together
    });
    expect(advanceAllowed(frozen, at('2026-11-28T10:00:00Z'))).toEqual({
      allowed: false,
      reason: 'blackout until 2026-11-30T00:00:00Z',
    });
  });

  it('ends a blackout exactly at its end time', () => {
    expect(advanceAllowed(frozen, at('2026-11-30T00:00:00Z')).allowed).toBe(true);
    expect(advanceAllowed(frozen, at('2026-11-29T23:59:59Z')).allowed).toBe(false);
    expect(nextAdvanceTime(frozen, at('2026-12-01T09:00:00Z'))).toEqual(at('2026-12-07T00:00:00Z'));
  });

  it('wins over an open window', () => {
    const both = schedule({
      startWindows: [{ cron: '0 * * * *', duration: '1h' }],
      blackouts: [{ start: '2026-06-01T00:00:00Z', end: '2026-06-01T12:00:00Z', reason: 'freeze' }],
    });
    expect(startAllowed(both, at('2026-06-01T06:00:00Z')).allowed).toBe(false);
    expect(nextStartTime(both, at('2026-06-01T06:00:00Z'))).toEqual(at('2026-06-01T12:00:00Z'));
  });

  it('recurring blackouts are read in the time zone', () => {
    const fridays = schedule({ timeZone: 'Europe/Berlin', blackouts: [{ cron: '0 15 * * FRI', duration: '66h' }] });
    expect(startAllowed(fridays, at('2026-07-03T12:59:00Z')).allowed).toBe(true); // 14:59 CEST
    expect(startAllowed(fridays, at('2026-07-03T13:00:00Z')).reason).toBe('blackout until 2026-07-06T07:00:00Z');
  });
});

describe('no opening within the horizon', () => {
  it('returns null when a blackout covers the next 35 days', () => {
    const long = schedule({ blackouts: [{ start: '2026-01-01T00:00:00Z', end: '2026-03-01T00:00:00Z' }] });
    expect(nextStartTime(long, at('2026-01-10T00:00:00Z'))).toBeNull();
    expect(nextStartTime(long, at('2026-02-20T00:00:00Z'))).toEqual(at('2026-03-01T00:00:00Z'));
  });

  it('returns null when the window never opens soon (29 February)', () => {
    const leap = schedule({ advanceWindows: [{ cron: '0 0 29 2 *', duration: '1h' }] });
    expect(nextAdvanceTime(leap, at('2026-03-01T00:00:00Z'))).toBeNull();
    expect(nextAdvanceTime(leap, at('2028-02-20T00:00:00Z'))).toEqual(at('2028-02-29T00:00:00Z'));
  });
});

describe('an unreadable schedule fails closed', () => {
  it('holds instead of throwing', () => {
    const broken = schedule({ timeZone: 'Mars/Olympus', advanceWindows: [{ cron: '0 9 * * *', duration: '1h' }] });
    const verdict = advanceAllowed(broken, at('2026-01-01T09:00:00Z'));
    expect(verdict.allowed).toBe(false);
    expect(verdict.reason).toMatch(/^invalid schedule: /);
    expect(nextAdvanceTime(broken, at('2026-01-01T09:00:00Z'))).toBeNull();
  });
});
