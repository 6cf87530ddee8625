// A work queue of policy keys: each key is reconciled by one worker at a time, a key added while
// it runs is run again afterwards (nothing is lost), and delayed requeues keep only the earliest
// of each lane. A run says everything it needs next (a look soon, its wake-up): the timers set
// before it are dropped as it starts. The time a key waits between being due (added, or its
// timer fired) and starting is handed to the work: under load it is most of a step's latency.
//
// Wake-ups have workers of their own. A key whose wake-up came (a hold's end, an analysis round,
// a window opening, a deadline) is in the schedule lane, any other waiting key in the change lane.
// `concurrency` workers take every key in the order it became due, both lanes alike; `wakeReserve`
// more take only keys whose wake-up came. When the API server is slow every worker is in a write,
// and a due step used to queue behind other policies' starts, promotions and drains; now it takes
// a reserved worker. The order of the shared workers is not changed: strict priority for
// wake-ups starved the change lane at 5,000 policies (30 s and more), and with it what steps
// wait for too (a pod ready, a conflict retried). A key keeps a timer for its wake-up beside any
// earlier look it asked for; a key waiting for a look joins the schedule lane when its wake-up
// fires, keeping its place; a run requeued at once (a conflict) keeps its lane.
//
// A reconcile starts on a turn of its own (setImmediate), never straight from the one before it:
// a reconcile that finds nothing to write does no I/O, and a backlog of them chained through
// promise callbacks held the event loop for a second at 1,000 policies (the scale benchmark's CPU
// profile), with watch events, API answers, Lease renewals and /healthz waiting behind it. Now at
// most `concurrency` of them (and the wake-ups' reserved workers) run between two looks at I/O.

/** `schedule`: the key's wake-up came (it may also take a reserved worker); `change`: something in the cluster changed. */
export type Lane = 'schedule' | 'change';

/** When the work wants its key again, ms from now (0: at once): a look in the change lane, its wake-up in the schedule lane. */
export interface Requeue {
  afterMs?: number;
  wakeAfterMs?: number;
}

export interface WorkQueueOptions {
  /** Shared workers: every key, in the order it became due (default 16). */
  concurrency?: number;
  /** Workers beyond `concurrency` that take only keys whose wake-up came (default a quarter of it, at least 1; 0: none). */
  wakeReserve?: number;
  /** Runs `start` on a later turn of the event loop (test seam; default setImmediate). */
  defer?: (start: () => void) => void;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
  /** Milliseconds, monotonic (test seam). */
  now?: () => number;
}

const first = (a: Lane | undefined, b: Lane): Lane => (a === 'schedule' || b === 'schedule' ? 'schedule' : 'change');

export class WorkQueue {
  readonly #work: (key: string, waitedMs: number, lane: Lane) => Promise<Requeue | null>;
  readonly #concurrency: number;
  readonly #reserve: number;
  readonly #now: () => number;
  /** Keys waiting for a worker, in the order they became due (a Set keeps insertion order). */
  readonly #ready = new Set<string>();
  /** Of those, the keys whose wake-up came (the schedule lane), in the order of their wake-ups. */
  readonly #awake = new Set<string>();
  /** When each waiting key became due, and when each awake key's wake-up came. */
  readonly #dueAt = new Map<string, number>();
  readonly #wokeAt = new Map<string, number>();
  readonly #setTimer: (fn: () => void, ms: number) => unknown;
  readonly #clearTimer: (handle: unknown) => void;
  readonly #defer: (start: () => void) => void;
  readonly #running = new Set<string>();
  /** Keys added while they ran, to run again afterwards, in the lane they were added to. */
  readonly #dirty = new Map<string, Lane>();
  readonly #timers: Record<Lane, Map<string, { at: number; handle: unknown }>> = {
    schedule: new Map(),
    change: new Map(),
  };
  /** Reconciles running on the shared workers and on the reserved ones. */
  readonly #active = { shared: 0, reserved: 0 };
  #stopped = false;
  #idle: Array<() => void> = [];

  /** `work` returns when the key should run again, or null (only when something changes). */
  constructor(
    work: (key: string, waitedMs: number, lane: Lane) => Promise<Requeue | null>,
    options: WorkQueueOptions = {},
  ) {
    this.#work = work;
    this.#concurrency = options.concurrency ?? 16;
    this.#reserve = options.wakeReserve ?? Math.max(1, Math.floor(this.#concurrency / 4));
    this.#now = options.now ?? (() => performance.now());
    this.#setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.#clearTimer = options.clearTimer ?? ((handle) => clearTimeout(handle as NodeJS.Timeout));
    this.#defer = options.defer ?? ((start) => setImmediate(start));
  }

  add(key: string, lane: Lane = 'change'): void {
    if (this.#stopped) return;
    if (this.#running.has(key)) {
      this.#dirty.set(key, first(this.#dirty.get(key), lane));
      return;
    }
    if (!this.#ready.has(key)) {
      this.#ready.add(key);
      this.#dueAt.set(key, this.#now());
    }
    if (lane === 'schedule' && !this.#awake.has(key)) {
      this.#awake.add(key);
      this.#wokeAt.set(key, this.#now());
    }
    this.#pump();
  }

  addAfter(key: string, ms: number, lane: Lane = 'change'): void {
    if (this.#stopped) return;
    if (ms <= 0) {
      this.add(key, lane);
      return;
    }
    const at = Date.now() + ms;
    const timers = this.#timers[lane];
    const existing = timers.get(key);
    if (existing && existing.at <= at) return;
    if (existing) this.#clearTimer(existing.handle);
    const handle = this.#setTimer(() => {
      timers.delete(key);
      this.add(key, lane);
    }, ms);
    timers.set(key, { at, handle });
  }

  /** Drops the key's timers: the run starting now says what it needs next. */
  #dropTimers(key: string): void {
    for (const timers of Object.values(this.#timers)) {
      const timer = timers.get(key);
      if (timer === undefined) continue;
      this.#clearTimer(timer.handle);
      timers.delete(key);
    }
  }

  get size(): number {
    return this.#ready.size + this.#running.size;
  }

  /** Stops taking work; resolves when the running reconciles have finished (graceful shutdown). */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const timers of Object.values(this.#timers)) {
      for (const { handle } of timers.values()) this.#clearTimer(handle);
      timers.clear();
    }
    this.#ready.clear();
    this.#awake.clear();
    this.#dueAt.clear();
    this.#wokeAt.clear();
    if (this.#running.size === 0) return;
    await new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  /** The next key to start and the workers it takes: the first due on a shared worker, else the first awake on a reserved one. */
  #next(): { key: string; pool: 'shared' | 'reserved' } | undefined {
    if (this.#stopped) return undefined;
    if (this.#active.shared < this.#concurrency && this.#ready.size > 0) {
      return { key: this.#ready.values().next().value as string, pool: 'shared' };
    }
    if (this.#active.reserved < this.#reserve && this.#awake.size > 0) {
      return { key: this.#awake.values().next().value as string, pool: 'reserved' };
    }
    return undefined;
  }

  #pump(): void {
    for (let next = this.#next(); next !== undefined; next = this.#next()) {
      const { key, pool } = next;
      const lane: Lane = this.#awake.has(key) ? 'schedule' : 'change';
      const now = this.#now();
      // An awake key waited from its wake-up: how late a due step or round started.
      const since = lane === 'schedule' ? this.#wokeAt.get(key) : this.#dueAt.get(key);
      const waitedMs = now - (since ?? now);
      this.#ready.delete(key);
      this.#awake.delete(key);
      this.#dueAt.delete(key);
      this.#wokeAt.delete(key);
      this.#running.add(key);
      this.#dropTimers(key);
      this.#active[pool]++;
      this.#defer(() => void this.#run(key, waitedMs, lane, pool));
    }
  }

  async #run(key: string, waitedMs: number, lane: Lane, pool: 'shared' | 'reserved'): Promise<void> {
    let again: Requeue | null = null;
    if (!this.#stopped) {
      try {
        again = await this.#work(key, waitedMs, lane);
      } catch {
        // The worker reports its own errors; a failed key is retried with a delay.
        again = { afterMs: 2000 };
      }
    }
    this.#running.delete(key);
    this.#active[pool]--;
    const dirty = this.#dirty.get(key);
    if (dirty !== undefined) {
      this.#dirty.delete(key);
      this.add(key, dirty);
    } else if (again !== null) {
      // At once (a conflict: the pass did not get through) keeps the lane it ran in.
      if (again.afterMs !== undefined) this.addAfter(key, again.afterMs, again.afterMs === 0 ? lane : 'change');
      if (again.wakeAfterMs !== undefined) this.addAfter(key, again.wakeAfterMs, 'schedule');
    }
    if (this.#running.size === 0 && this.#stopped) for (const resolve of this.#idle.splice(0)) resolve();
    this.#pump();
  }
}
