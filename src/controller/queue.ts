// A work queue of policy keys: each key is reconciled by one worker at a time, a key added while
// it runs is run again afterwards (nothing is lost), and delayed requeues keep only the earliest
// of each lane. A run says everything it needs next (a look soon, its wake-up): the timers set
// before it are dropped as it starts. The time a key waits between being due (added, or its
// timer fired) and starting is handed to the work: under load it is most of a step's latency.
//
// Two lanes. A key whose wake-up came (a hold's end, an analysis round, a window opening, a
// deadline) goes before keys that follow a change in the cluster: when the API server is slow
// every worker waits on a write, and a due step used to queue behind the writes of other
// policies' starts, promotions and drains. Within a lane keys keep their order. A key keeps a
// timer for its wake-up beside any earlier look it asked for, and a key already waiting in the
// change lane moves to the schedule lane when its wake-up comes (before, a look after writes
// that sat in a long change lane carried the due step with it). Going first is not enough when
// every worker is in a slow write, so wake-ups also have workers of their own: keys that follow
// changes use at most `concurrency` workers, wake-ups any free one of `concurrency +
// wakeReserve`. The schedule lane cannot starve the other: a key enters it once per wake-up the
// engine asked for.
//
// A reconcile starts on a turn of its own (setImmediate), never straight from the one before it:
// a reconcile that finds nothing to write does no I/O, and a backlog of them chained through
// promise callbacks held the event loop for a second at 1,000 policies (the scale benchmark's CPU
// profile), with watch events, API answers, Lease renewals and /healthz waiting behind it. Now at
// most `concurrency` of them run between two looks at I/O.

/** `schedule`: the key's wake-up came (goes first); `change`: something in the cluster changed. */
export type Lane = 'schedule' | 'change';

/** When the work wants its key again, ms from now (0: at once): a look in the change lane, its wake-up in the schedule lane. */
export interface Requeue {
  afterMs?: number;
  wakeAfterMs?: number;
}

export interface WorkQueueOptions {
  /** Workers for keys that follow changes (default 16). */
  concurrency?: number;
  /** Workers beyond `concurrency` only wake-ups may take (default a quarter of it, at least 1). */
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
  readonly #workers: number;
  readonly #now: () => number;
  /** Keys waiting for a worker, by lane, in the order they became due (a Set keeps insertion order). */
  readonly #lanes: Record<Lane, Set<string>> = { schedule: new Set(), change: new Set() };
  /** When each waiting key became due. */
  readonly #dueAt = new Map<string, number>();
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
  /** Reconciles running, by the lane they were taken from. */
  readonly #active: Record<Lane, number> = { schedule: 0, change: 0 };
  #stopped = false;
  #idle: Array<() => void> = [];

  /** `work` returns when the key should run again, or null (only when something changes). */
  constructor(
    work: (key: string, waitedMs: number, lane: Lane) => Promise<Requeue | null>,
    options: WorkQueueOptions = {},
  ) {
    this.#work = work;
    this.#concurrency = options.concurrency ?? 16;
    this.#workers = this.#concurrency + (options.wakeReserve ?? Math.max(1, Math.floor(this.#concurrency / 4)));
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
    if (this.#lanes.schedule.has(key)) return;
    if (this.#lanes.change.has(key)) {
      if (lane === 'change') return;
      this.#lanes.change.delete(key); // its wake-up came while it waited: it goes first now
    }
    // A key moved up waits from its wake-up: the schedule lane's wait is how late a due step starts.
    this.#dueAt.set(key, this.#now());
    this.#lanes[lane].add(key);
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
    return this.#lanes.schedule.size + this.#lanes.change.size + this.#running.size;
  }

  /** Stops taking work; resolves when the running reconciles have finished (graceful shutdown). */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const timers of Object.values(this.#timers)) {
      for (const { handle } of timers.values()) this.#clearTimer(handle);
      timers.clear();
    }
    this.#lanes.schedule.clear();
    this.#lanes.change.clear();
    this.#dueAt.clear();
    if (this.#running.size === 0) return;
    await new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  /** The lane whose first key may start now, if any. */
  #startable(): Lane | undefined {
    if (this.#stopped || this.#running.size >= this.#workers) return undefined;
    if (this.#lanes.schedule.size > 0) return 'schedule';
    if (this.#lanes.change.size > 0 && this.#active.change < this.#concurrency) return 'change';
    return undefined;
  }

  #pump(): void {
    for (let lane = this.#startable(); lane !== undefined; lane = this.#startable()) {
      const key = this.#lanes[lane].values().next().value as string;
      this.#lanes[lane].delete(key);
      const waitedMs = this.#now() - (this.#dueAt.get(key) ?? this.#now());
      this.#dueAt.delete(key);
      this.#running.add(key);
      this.#dropTimers(key);
      this.#active[lane]++;
      this.#defer(() => void this.#run(key, waitedMs, lane));
    }
  }

  async #run(key: string, waitedMs: number, lane: Lane): Promise<void> {
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
    this.#active[lane]--;
    const dirty = this.#dirty.get(key);
    if (dirty !== undefined) {
      this.#dirty.delete(key);
      this.add(key, dirty);
    } else if (again !== null) {
      if (again.afterMs !== undefined) this.addAfter(key, again.afterMs, 'change');
      if (again.wakeAfterMs !== undefined) this.addAfter(key, again.wakeAfterMs, 'schedule');
    }
    if (this.#running.size === 0 && this.#stopped) for (const resolve of this.#idle.splice(0)) resolve();
    this.#pump();
  }
}
