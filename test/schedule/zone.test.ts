// UTC is answered without Intl (its first DateTimeFormat loads ICU's data, ~10 MiB of RSS); the
// answers must be the ones Intl gives for a zone that is UTC at every instant.
import { describe, expect, it } from 'vitest';
import { isKnownTimeZone, localToInstant, wallClock, zoneOffset } from '../../src/schedule/zone.ts';

const instants = [
  Date.UTC(2026, 2, 29, 0, 59, 59, 999), // Europe's spring-forward night
  Date.UTC(2026, 9, 25, 1, 30, 0, 500), // Europe's fall-back night
  Date.UTC(2026, 11, 31, 23, 59, 59, 1), // the year turns
  Date.UTC(2028, 1, 29, 12, 0, 0, 0), // a leap day
  Date.UTC(1970, 0, 1, 0, 0, 0, 0),
];

describe('UTC without Intl', () => {
  it.each(['UTC', 'Etc/UTC'])('%s is a known zone', (zone) => {
    expect(isKnownTimeZone(zone)).toBe(true);
  });

  it.each(['UTC', 'Etc/UTC'])('%s gives the wall clock, offset and instants Intl gives for Etc/GMT', (zone) => {
    for (const instant of instants) {
      expect(wallClock(instant, zone)).toEqual(wallClock(instant, 'Etc/GMT'));
      expect(zoneOffset(instant, zone)).toBe(0);
      expect(zoneOffset(instant, 'Etc/GMT')).toBe(0);
      expect(localToInstant(instant, zone)).toBe(localToInstant(instant, 'Etc/GMT'));
    }
  });

  it('other zones still go through Intl: an unknown one is refused, Berlin is +1 h in winter', () => {
    expect(isKnownTimeZone('Mars/Olympus_Mons')).toBe(false);
    expect(isKnownTimeZone('utc ')).toBe(false);
    expect(zoneOffset(Date.UTC(2026, 0, 15), 'Europe/Berlin')).toBe(3_600_000);
  });
});
