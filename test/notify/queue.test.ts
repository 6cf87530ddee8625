// A receiver's queue on a virtual clock: backoff doubles up to its cap, a deadline ends the
// retries, a full queue drops the oldest, 4xx is not retried, and enqueue never waits.
import { describe, expect, it } from 'vitest';
import type { Notification } from '../../src/notify/events.ts';
import { type AttemptResult, backoffDelay, type Clock, ReceiverQueue } from '../../src/notify/queue.ts';

/** Virtual time: sleeping advances the clock at once and records how long was asked. */
function virtualClock(): Clock & { slept: number[] } {
  let now = 0;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
  };
}

const note = (id: string): Notification => ({
  id,
  type: 'started',
  time: '2026-03-02T10:00:00.000Z',
  policy: { namespace: 'shop', name: 'web' },
  deployment: 'web',
  summary: id,
  details: {},
});

function recorder() {
  const log: string[] = [];
  return {
    log,
    events: {
      sent: (n: Notification, attempts: number) => log.push(`sent ${n.id} after ${attempts}`),
      attemptFailed: (n: Notification, reason: string, streak: number) =>
        log.push(`failed ${n.id} ${reason} #${streak}`),
      dropped: (n: Notification, reason: string) => log.push(`dropped ${n.id} ${reason}`),
      recovered: (n: Notification, failed: number) => log.push(`recovered at ${n.id} after ${failed}`),
    },
  };
}

const backoff = { initialMs: 1000, factor: 2, maxMs: 8000 };

describe('ReceiverQueue', () => {
  it('retries 5xx with exponential backoff (capped) and delivers once the receiver answers', async () => {
    const clock = virtualClock();
    const answers: AttemptResult[] = [
      { ok: false, retry: true, reason: 'HTTP 503' },
      { ok: false, retry: true, reason: 'HTTP 502' },
      { ok: false, retry: true, reason: 'HTTP 500' },
      { ok: false, retry: true, reason: 'HTTP 500' },
      { ok: false, retry: true, reason: 'HTTP 500' },
      { ok: true },
    ];
    const { log, events } = recorder();
    const queue = new ReceiverQueue({
      capacity: 10,
      deadlineMs: 60_000,
      clock,
      backoff,
      events,
      send: async () => answers.shift()!,
    });
    queue.enqueue(note('a'));
    await queue.idle();
    expect(clock.slept).toEqual([1000, 2000, 4000, 8000, 8000]);
    expect(log.at(-2)).toBe('recovered at a after 5');
    expect(log.at(-1)).toBe('sent a after 6');
  });

  it('gives a notification up at its deadline and goes on with the next', async () => {
    const clock = virtualClock();
    const { log, events } = recorder();
    const queue = new ReceiverQueue({
      capacity: 10,
      deadlineMs: 10_000,
      clock,
      backoff,
      events,
      send: async (n) => (n.id === 'a' ? { ok: false, retry: true, reason: 'timeout' } : { ok: true }),
    });
    queue.enqueue(note('a'));
    queue.enqueue(note('b'));
    await queue.idle();
    // 1 s + 2 s + 4 s = 7 s; the next wait (8 s) would pass the 10 s deadline.
    expect(clock.slept).toEqual([1000, 2000, 4000]);
    expect(log).toContain('dropped a deadline');
    expect(log.at(-1)).toBe('sent b after 1');
  });

  it('does not retry a refusal (4xx)', async () => {
    const { log, events } = recorder();
    const queue = new ReceiverQueue({
      capacity: 10,
      deadlineMs: 10_000,
      clock: virtualClock(),
      backoff,
      events,
      send: async () => ({ ok: false, retry: false, reason: 'HTTP 404' }),
    });
    queue.enqueue(note('a'));
    await queue.idle();
    expect(log).toEqual(['failed a HTTP 404 #1', 'dropped a rejected']);
  });

  it('when full, drops the oldest waiting notification (not the one in flight) and counts it; enqueue never waits', async () => {
    const { log, events } = recorder();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const queue = new ReceiverQueue({
      capacity: 2,
      deadlineMs: 10_000,
      clock: virtualClock(),
      backoff,
      events,
      send: async () => {
        await gate; // a receiver that hangs until released
        return { ok: true };
      },
    });
    for (const id of ['a', 'b', 'c', 'd']) queue.enqueue(note(id));
    // enqueue returned while the receiver still hangs on the first one.
    expect(log).toEqual(['dropped b queueFull', 'dropped c queueFull']);
    expect(queue.size).toBe(2);
    release();
    await queue.idle();
    expect(log).toEqual(['dropped b queueFull', 'dropped c queueFull', 'sent a after 1', 'sent d after 1']);
  });

  it('counts failed attempts in a row across notifications (a receiver that keeps failing)', async () => {
    const { log, events } = recorder();
    const queue = new ReceiverQueue({
      capacity: 10,
      deadlineMs: 2500,
      clock: virtualClock(),
      backoff,
      events,
      send: async () => ({ ok: false, retry: true, reason: 'down' }),
    });
    queue.enqueue(note('a'));
    queue.enqueue(note('b'));
    await queue.idle();
    expect(log.filter((line) => line.startsWith('failed'))).toEqual([
      'failed a down #1',
      'failed a down #2',
      'failed b down #3',
      'failed b down #4',
    ]);
  });

  it('backoff honours Retry-After within the cap', () => {
    expect(backoffDelay(backoff, 1)).toBe(1000);
    expect(backoffDelay(backoff, 3)).toBe(4000);
    expect(backoffDelay(backoff, 10)).toBe(8000);
    expect(backoffDelay(backoff, 1, 5000)).toBe(5000);
    expect(backoffDelay(backoff, 1, 60_000)).toBe(8000);
  });
});
