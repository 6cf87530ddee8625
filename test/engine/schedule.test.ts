// The schedule as the engine uses it: start windows, advance windows (holding the weight outside
// them), blackouts spanning a step, DST in the policy's time zone, and nextWakeAt.
import { describe, expect, it } from 'vitest';
import { decide, nextWakeAt } from '../../src/engine/index.ts';
import type { ReleaseState } from '../../src/engine/types.ts';
import { adoptedState, canaryObserved, deployment, effects, observed, policy, releaseState } from './fixtures.ts';

const utc = (text: string) => new Date(text);
const stepAt = (startedIso: string, extra = {}): ReleaseState =>
  releaseState('progressing', {
    startedAt: startedIso,
    stepEnteredAt: startedIso,
    stepStartedAt: startedIso,
    deadlines: { release: new Date(Date.parse(startedIso) + 7 * 86_400_000).toISOString() },
    ...extra,
  });

// Weekdays 09:00-17:00 in Berlin.
const office = policy({
  schedule: { timeZone: 'Europe/Berlin', advanceWindows: [{ cron: '0 9 * * 1-5', duration: '8h' }] },
});

describe('advance windows', () => {
  it('advances when the hold ends inside the window (last second before it closes)', () => {
    // 2026-03-02 is a Monday; Berlin is UTC+1 (CET) until 29 March.
    const state = stepAt('2026-03-02T15:54:59.000Z');
    const { next } = decide(office, state, canaryObserved(1), utc('2026-03-02T15:59:59.000Z'));
    expect(next.current?.stepIndex).toBe(1);
  });

  it('holds its weight when the hold ends at the closing instant, and wakes at the next opening', () => {
    const state = stepAt('2026-03-02T15:55:00.000Z');
    const now = utc('2026-03-02T16:00:00.000Z'); // 17:00 Berlin: closed
    const { next, actions } = decide(office, state, canaryObserved(1), now);
    expect(next.current?.stepIndex).toBe(0);
    expect(next.current?.weight).toBe(1);
    expect(effects(actions)).toEqual([]);
    expect(next.reason).toContain('holding its weight: outside advance windows');
    expect(nextWakeAt(next, office, now)?.toISOString()).toBe('2026-03-03T08:00:00.000Z');
  });

  it('holds over the weekend', () => {
    const state = stepAt('2026-03-06T15:58:00.000Z'); // Friday
    for (const instant of ['2026-03-06T16:03:00Z', '2026-03-07T12:00:00Z', '2026-03-09T07:59:59Z']) {
      expect(decide(office, state, canaryObserved(1), utc(instant)).next.current?.stepIndex).toBe(0);
    }
    expect(decide(office, state, canaryObserved(1), utc('2026-03-09T08:00:00Z')).next.current?.stepIndex).toBe(1);
  });

  it('follows DST in the policy time zone: 09:00 Berlin is 08:00Z before 29 March and 07:00Z after', () => {
    const before = stepAt('2026-03-27T07:00:00.000Z'); // Friday
    expect(decide(office, before, canaryObserved(1), utc('2026-03-27T07:30:00Z')).next.current?.stepIndex).toBe(0);
    const after = stepAt('2026-03-30T07:00:00.000Z'); // Monday, CEST
    expect(decide(office, after, canaryObserved(1), utc('2026-03-30T07:05:00Z')).next.current?.stepIndex).toBe(1);
    const sunday = stepAt('2026-03-29T10:00:00.000Z');
    const now = utc('2026-03-29T18:00:00Z');
    const { next } = decide(office, sunday, canaryObserved(1), now);
    expect(nextWakeAt(next, office, now)?.toISOString()).toBe('2026-03-30T07:00:00.000Z');
  });

  it('a hold is real time, not wall-clock time: 5m across the spring-forward jump is 5 minutes', () => {
    // 01:58 CET -> 03:03 CEST on 29 March is 5 real minutes.
    const anyTime = policy({ schedule: { timeZone: 'Europe/Berlin' } });
    const state = stepAt('2026-03-29T00:58:00.000Z');
    expect(decide(anyTime, state, canaryObserved(1), utc('2026-03-29T01:02:59Z')).next.current?.stepIndex).toBe(0);
    expect(decide(anyTime, state, canaryObserved(1), utc('2026-03-29T01:03:00Z')).next.current?.stepIndex).toBe(1);
  });

  it('a start window at a local time that DST skips still opens (as the schedule module defines it)', () => {
    const night = policy({
      schedule: { timeZone: 'Europe/Berlin', startWindows: [{ cron: '30 2 * * *', duration: '1h' }] },
    });
    const noticed = utc('2026-03-29T00:00:00Z');
    const waiting = decide(night, adoptedState(), observed({ deployment: deployment('v2') }), noticed).next;
    expect(waiting.phase).toBe('waiting');
    const wake = nextWakeAt(waiting, night, noticed);
    expect(wake).not.toBeNull();
    expect(decide(night, waiting, observed({ deployment: deployment('v2') }), wake!).next.phase).toBe('progressing');
  });

  it('analysis rollback never waits for a window', () => {
    const analysed = policy({
      schedule: { timeZone: 'Europe/Berlin', advanceWindows: [{ cron: '0 9 * * 1-5', duration: '8h' }] },
      analysis: { interval: '30s', checks: [{ name: 'errors', type: 'successRate' }] },
    });
    const state = stepAt('2026-03-07T12:00:00.000Z'); // Saturday
    const o = canaryObserved(1, {
      analysis: { round: 4, at: '2026-03-07T12:01:00.000Z', decision: 'rollback', reason: 'error rate 7%' },
    });
    const { next, actions } = decide(analysed, state, o, utc('2026-03-07T12:01:00.200Z'));
    expect(next.phase).toBe('rollingBack');
    expect(effects(actions)[0]).toEqual({ type: 'setWeight', weight: 0 });
  });
});

describe('blackouts', () => {
  const blackout = policy({
    schedule: {
      blackouts: [{ start: '2026-03-02T10:03:00Z', end: '2026-03-02T11:00:00Z', reason: 'sale' }],
    },
  });

  it('a blackout spanning a step holds it at its weight until the blackout ends', () => {
    const state = stepAt('2026-03-02T10:00:00.000Z');
    const during = decide(blackout, state, canaryObserved(1), utc('2026-03-02T10:05:00Z'));
    expect(during.next.current?.stepIndex).toBe(0);
    expect(during.next.reason).toContain('blackout "sale"');
    expect(nextWakeAt(during.next, blackout, utc('2026-03-02T10:05:00Z'))?.toISOString()).toBe(
      '2026-03-02T11:00:00.000Z',
    );
    const afterwards = decide(blackout, during.next, canaryObserved(1), utc('2026-03-02T11:00:00Z'));
    expect(afterwards.next.current?.stepIndex).toBe(1);
  });

  it('a new template during a blackout waits to start', () => {
    const { next } = decide(
      blackout,
      adoptedState(),
      observed({ deployment: deployment('v2') }),
      utc('2026-03-02T10:30:00Z'),
    );
    expect(next.phase).toBe('waiting');
    expect(nextWakeAt(next, blackout, utc('2026-03-02T10:30:00Z'))?.toISOString()).toBe('2026-03-02T11:00:00.000Z');
  });

  it('a recurring blackout every night (cron) in a time zone', () => {
    const nightly = policy({
      schedule: { timeZone: 'America/New_York', blackouts: [{ cron: '0 22 * * *', duration: '10h' }] },
    });
    const state = stepAt('2026-03-03T02:00:00.000Z'); // 21:00 New York
    expect(decide(nightly, state, canaryObserved(1), utc('2026-03-03T02:59:59Z')).next.current?.stepIndex).toBe(1);
    expect(decide(nightly, state, canaryObserved(1), utc('2026-03-03T03:00:00Z')).next.current?.stepIndex).toBe(0);
    expect(decide(nightly, state, canaryObserved(1), utc('2026-03-03T13:00:00Z')).next.current?.stepIndex).toBe(1);
  });
});

describe('start windows', () => {
  const nightly = policy({ schedule: { startWindows: [{ cron: '0 2 * * *', duration: '1h' }] } });

  it.each([
    ['2026-03-03T01:59:59Z', 'waiting'],
    ['2026-03-03T02:00:00Z', 'progressing'],
    ['2026-03-03T02:59:59Z', 'progressing'],
    ['2026-03-03T03:00:00Z', 'waiting'],
  ])('a new template at %s -> %s', (instant, phase) => {
    const { next } = decide(nightly, adoptedState(), observed({ deployment: deployment('v2') }), utc(instant));
    expect(next.phase).toBe(phase);
  });

  it('a waiting release starts when its window opens; nextWakeAt says when', () => {
    const noticed = utc('2026-03-02T10:00:00Z');
    const waiting = decide(nightly, adoptedState(), observed({ deployment: deployment('v2') }), noticed).next;
    const wake = nextWakeAt(waiting, nightly, noticed);
    expect(wake?.toISOString()).toBe('2026-03-03T02:00:00.000Z');
    const started = decide(nightly, waiting, observed({ deployment: deployment('v2') }), wake!);
    expect(started.next.phase).toBe('progressing');
    expect(started.next.current?.startedAt).toBe('2026-03-03T02:00:00.000Z');
  });
});

describe('nextWakeAt', () => {
  const analysed = policy({ analysis: { interval: '30s', checks: [{ name: 'errors', type: 'successRate' }] } });
  const now = utc('2026-03-02T10:01:00Z');

  it('is null when nothing is in flight', () => {
    expect(nextWakeAt(adoptedState(), policy(), now)).toBeNull();
  });

  it('is the end of the hold when no analysis is configured', () => {
    expect(nextWakeAt(stepAt('2026-03-02T10:00:00.000Z'), policy(), now)?.toISOString()).toBe(
      '2026-03-02T10:05:00.000Z',
    );
  });

  it('is the next analysis round when that comes first', () => {
    const state = stepAt('2026-03-02T10:00:00.000Z', { analysis: { requestedAt: '2026-03-02T10:00:50.000Z' } });
    expect(nextWakeAt(state, analysed, now)?.toISOString()).toBe('2026-03-02T10:01:20.000Z');
  });

  it('is the canary-ready deadline while a step waits for its canary', () => {
    const state = stepAt('2026-03-02T10:00:00.000Z', {
      stepStartedAt: undefined,
      deadlines: { canaryReady: '2026-03-02T10:10:00.000Z', release: '2026-03-03T10:00:00.000Z' },
    });
    expect(nextWakeAt(state, policy(), now)?.toISOString()).toBe('2026-03-02T10:10:00.000Z');
  });

  it('is the promotion deadline while promoting', () => {
    const state = releaseState('promoting', { deadlines: { promotion: '2026-03-02T10:15:00.000Z' } });
    expect(nextWakeAt(state, policy(), now)?.toISOString()).toBe('2026-03-02T10:15:00.000Z');
  });

  it('is strictly after now: what was due has just been done by decide', () => {
    const state = stepAt('2026-03-02T09:00:00.000Z', { analysis: { requestedAt: now.toISOString() } });
    expect(nextWakeAt(state, analysed, now)?.toISOString()).toBe('2026-03-02T10:01:30.000Z');
    // hold over, window open: only the release deadline is left
    expect(nextWakeAt(stepAt('2026-03-02T09:00:00.000Z'), policy(), now)?.toISOString()).toBe(
      '2026-03-09T09:00:00.000Z',
    );
  });
});
