// The work queue: one reconcile per key at a time, nothing lost, the earliest requeue kept, the
// time a key waited after it was due handed to the work (a step's latency under load), and a key
// whose wake-up came (a hold's end, an analysis round) started on a worker of its own when the
// shared ones are all busy, without starving keys that follow the cluster.
import { describe, expect, it } from 'vitest';
import { type Requeue, WorkQueue } from '../../src/controller/queue.ts';

/** Timers and a clock the test moves by hand; reconciles start at once (no turn of the loop). */
function manualTime() {
  let nowMs = 0;
  const timers: Array<{ at: number; fn: () => void; cleared: boolean }> = [];
  return {
    defer: (start: () => void) => start(),
    now: () => nowMs,
    setTimer: (fn: () => void, ms: number) => {
      const timer = { at: nowMs + ms, fn, cleared: false };
      timers.push(timer);
      return timer;
    },
    clearTimer: (handle: unknown) => {
      (handle as { cleared: boolean }).cleared = true;
    },
    advance(ms: number) {
      nowMs += ms;
      for (const timer of timers.filter((t) => !t.cleared && t.at <= nowMs)) {
        timer.cleared = true;
        timer.fn();
      }
    },
    pending: () => timers.filter((t) => !t.cleared).map((t) => t.at),
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

/** A queue with the default workers whose reconciles never finish (each waits on the API server); counts those started. */
function neverFinishing() {
  let started = 0;
  const queue = new WorkQueue(
    () =>
      new Promise<null>(() => {
        started++;
      }),
    manualTime(),
  );
  return { queue, running: () => started };
}

describe('WorkQueue', () => {
  it('runs a key once at a time; an add while it runs runs it again afterwards', async () => {
    const time = manualTime();
    const release: Array<() => void> = [];
    const runs: string[] = [];
    const queue = new WorkQueue(
      (key) =>
        new Promise((resolve) => {
          runs.push(key);
          release.push(() => resolve(null));
        }),
      { concurrency: 2, ...time },
    );
    queue.add('a');
    queue.add('a');
    queue.add('b');
    expect(runs).toEqual(['a', 'b']);
    queue.add('a'); // while running: dirty
    release.shift()?.();
    await settle();
    expect(runs).toEqual(['a', 'b', 'a']);
  });

  it('reconciles 16 policies at once by default: a reconcile mostly waits for the API server', () => {
    const { queue, running } = neverFinishing();
    for (let i = 0; i < 20; i++) queue.add(`shop/web-${i}`);
    expect(running()).toBe(16);
    expect(queue.size).toBe(20);
  });

  it('keeps only the earliest delayed requeue of a key', () => {
    const time = manualTime();
    const queue = new WorkQueue(async () => null, time);
    queue.addAfter('a', 5000);
    queue.addAfter('a', 250);
    queue.addAfter('a', 3000);
    expect(time.pending()).toEqual([250]);
  });

  it('hands the work how long the key waited after it was due', async () => {
    const time = manualTime();
    const waits = new Map<string, number>();
    const release: Array<() => void> = [];
    const queue = new WorkQueue(
      (key, waitedMs) =>
        new Promise((resolve) => {
          waits.set(key, waitedMs);
          release.push(() => resolve(null));
        }),
      { concurrency: 1, ...time },
    );
    queue.add('busy');
    queue.addAfter('due', 1000);
    time.advance(1000); // due now, but the only worker is busy
    time.advance(400);
    expect(waits.has('due')).toBe(false);
    release.shift()?.();
    await settle();
    expect(waits.get('busy')).toBe(0);
    expect(waits.get('due')).toBe(400); // from when its timer fired, not from when it was asked for
    expect(queue.size).toBe(1);
  });

  it('lets the event loop look at I/O between reconciles that never wait for it', async () => {
    // 100 policies whose reconcile finds nothing to write: no I/O, only promise callbacks, each
    // busy for 1 ms. Other callbacks of the loop (a watch event, an API answer, a Lease renewal)
    // get their turn after one round of 16, not after the whole backlog.
    const done: string[] = [];
    const queue = new WorkQueue(async (key) => {
      done.push(key);
      const until = performance.now() + 1;
      while (performance.now() < until); // CPU only, like a decision on cached objects
      return null;
    });
    const seenByTimer = new Promise<number>((resolve) => setTimeout(() => resolve(done.length), 0));
    for (let i = 0; i < 100; i++) queue.add(`shop/web-${i}`);
    expect(done).toEqual([]); // not started inside add(): on a turn of their own
    // A callback queued behind them runs after the first round.
    const seenNext = await new Promise<number>((resolve) => setImmediate(() => resolve(done.length)));
    expect(seenNext).toBe(16);
    // A timer due 1 ms in runs once that round is through (16 ms), long before the backlog (100 ms).
    expect(await seenByTimer).toBeLessThanOrEqual(16);
    while (done.length < 100) await settle();
    expect(new Set(done).size).toBe(100);
    expect(queue.size).toBe(0);
  });

  /** One shared worker (and `reserve` for wake-ups), busy with `busy` until `next()`; records the order keys start in and their lane. */
  function oneBusyWorker(
    time: ReturnType<typeof manualTime>,
    again: (key: string) => Requeue | null = () => null,
    reserve = 0,
  ) {
    const started: string[] = [];
    const waits = new Map<string, number>();
    const release: Array<() => void> = [];
    const queue = new WorkQueue(
      (key, waitedMs, lane) =>
        new Promise((resolve) => {
          started.push(`${key}:${lane}`);
          waits.set(key, waitedMs);
          release.push(() => resolve(again(key)));
        }),
      { concurrency: 1, wakeReserve: reserve, ...time },
    );
    queue.add('busy');
    return {
      queue,
      started,
      waits,
      async next() {
        release.shift()?.();
        await settle();
      },
    };
  }

  it('shares its workers in the order keys became due, wake-ups alike: nothing that follows a change is starved', async () => {
    // At 5,000 policies strict priority for wake-ups left keys that follow changes waiting 30 s
    // and more, and steps wait for some of those too (a canary pod ready, a conflict retried).
    const time = manualTime();
    const { queue, started, next } = oneBusyWorker(time);
    queue.add('shop/drain-1');
    queue.addAfter('shop/step-due', 1000, 'schedule');
    time.advance(1000);
    queue.add('shop/drain-2');
    await next();
    await next();
    await next();
    expect(started).toEqual(['busy:change', 'shop/drain-1:change', 'shop/step-due:schedule', 'shop/drain-2:change']);
  });

  it('starts a wake-up on a reserved worker while every shared worker is in a slow write', async () => {
    const time = manualTime();
    const { queue, started, waits, next } = oneBusyWorker(time, () => null, 1);
    queue.add('shop/drain-1');
    queue.add('shop/drain-2');
    time.advance(300);
    queue.add('shop/step-due', 'schedule');
    expect(started).toEqual(['busy:change', 'shop/step-due:schedule']);
    expect(waits.get('shop/step-due')).toBe(0);
    await next();
    expect(started.slice(2)).toEqual(['shop/drain-1:change']);
  });

  it('a key waiting for a look joins the schedule lane when its wake-up fires, keeping its place; its wait counts from the wake-up', async () => {
    const time = manualTime();
    const { queue, started, waits, next } = oneBusyWorker(time);
    queue.add('shop/web'); // a watch event
    queue.add('shop/other');
    time.advance(300);
    queue.addAfter('shop/web', 200, 'schedule'); // its hold ends
    time.advance(200);
    time.advance(100); // the worker is still busy
    await next();
    expect(started).toEqual(['busy:change', 'shop/web:schedule']);
    expect(waits.get('shop/web')).toBe(100); // how late the due step started, not how long the watch event waited
    expect(queue.size).toBe(2); // shop/web running, shop/other waiting: nothing lost
  });

  it('keeps the lane of a wake-up that came while the key was running', async () => {
    const time = manualTime();
    const { queue, started, next } = oneBusyWorker(time);
    queue.add('shop/other');
    queue.add('busy', 'schedule'); // its wake-up came during its own reconcile
    await next();
    await next();
    expect(started).toEqual(['busy:change', 'shop/other:change', 'busy:schedule']);
  });

  it('a run requeued at once (a conflict) keeps its lane', async () => {
    const time = manualTime();
    let conflicts = 1;
    const { queue, started, next } = oneBusyWorker(
      time,
      (key) => (key === 'shop/step-due' && conflicts-- > 0 ? { afterMs: 0 } : null),
      1,
    );
    queue.add('shop/step-due', 'schedule'); // on the reserved worker
    await next(); // busy done
    await next(); // shop/step-due: a conflict, again at once
    expect(started).toEqual(['busy:change', 'shop/step-due:schedule', 'shop/step-due:schedule']);
  });

  it('keeps a key’s wake-up beside an earlier look: the look waits in line, the wake-up takes a reserved worker', async () => {
    // A step just started: look again in 250 ms (its pods), the hold ends in 1 s.
    const time = manualTime();
    let stepStarted = false;
    const { queue, started, next } = oneBusyWorker(
      time,
      (key) => {
        if (key !== 'busy' || stepStarted) return null;
        stepStarted = true;
        return { afterMs: 250, wakeAfterMs: 1000 };
      },
      1,
    );
    for (const key of ['shop/a', 'shop/b', 'shop/c']) queue.add(key);
    await next(); // busy done; shop/a starts
    time.advance(250); // the look: behind shop/b and shop/c
    expect(started).toEqual(['busy:change', 'shop/a:change']);
    time.advance(750); // the wake-up
    expect(started).toEqual(['busy:change', 'shop/a:change', 'busy:schedule']);
    for (let i = 0; i < 4; i++) await next();
    // the look and the wake-up were one run: the key waited in line once
    expect(started.slice(3)).toEqual(['shop/b:change', 'shop/c:change']);
    expect(queue.size).toBe(0);
    expect(time.pending()).toEqual([]);
  });

  it('drops a key’s timers when it starts: the run says what it needs next', async () => {
    const time = manualTime();
    const again: Array<Requeue | null> = [{ afterMs: 5000, wakeAfterMs: 60_000 }, null];
    const queue = new WorkQueue(async () => again.shift() ?? null, time);
    queue.add('shop/web');
    await settle();
    expect(time.pending()).toEqual([5000, 60_000]);
    queue.add('shop/web'); // a watch event
    await settle();
    expect(time.pending()).toEqual([]); // that run asked for nothing more
  });

  it('keeps workers for wake-ups: a due step starts while every other worker is in a slow write', () => {
    const time = manualTime();
    const started: string[] = [];
    const queue = new WorkQueue(
      (key, _waited, lane) =>
        new Promise<null>(() => {
          started.push(`${key}:${lane}`);
        }),
      { concurrency: 2, wakeReserve: 1, ...time },
    );
    for (const key of ['shop/a', 'shop/b', 'shop/c']) queue.add(key);
    expect(started).toEqual(['shop/a:change', 'shop/b:change']); // shop/c waits: 2 workers for changes
    queue.add('shop/step-due', 'schedule');
    queue.add('shop/round-due', 'schedule');
    expect(started).toEqual(['shop/a:change', 'shop/b:change', 'shop/step-due:schedule']); // the reserve
    expect(queue.size).toBe(5); // shop/c and shop/round-due wait for the next free worker
  });

  it('reserves a quarter of the workers for wake-ups by default', () => {
    const { queue, running } = neverFinishing();
    for (let i = 0; i < 30; i++) queue.add(`shop/change-${i}`);
    for (let i = 0; i < 10; i++) queue.add(`shop/due-${i}`, 'schedule');
    expect(running()).toBe(20); // 16 for changes, 4 more for wake-ups
  });

  it('a reconcile deferred past stop() does not start', async () => {
    const runs: string[] = [];
    const queue = new WorkQueue(async (key) => {
      runs.push(key);
      return { afterMs: 0 };
    });
    queue.add('shop/web');
    await queue.stop();
    await settle();
    expect(runs).toEqual([]);
    expect(queue.size).toBe(0);
  });
});
