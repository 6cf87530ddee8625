// A work queue of policy keys: each key is reconciled by one worker at a time, a key added while
// it runs is run again afterwards (nothing is lost), and delayed requeues keep only the earliest.
// The time a key waits between being due (added, or its requeue timer fired) and starting is
// handed to the work: under load it is most of a step's latency.
//
// A reconcile starts on a turn of its own (setImmediate), never straight from the one before it:
// a reconcile that finds nothing to write does no I/O, and a backlog of them chained through
// promise callbacks held the event loop for a second at 1,000 policies (the scale benchmark's CPU
// profile), with watch events, API answers, Lease renewals and /healthz waiting behind it. Now at
// most `concurrency` of them run between two looks at I/O.
export interface WorkQueueOptions {
  concurrency?: number;
  /** Runs `start` on a later turn of the event loop (test seam; default setImmediate). */
  defer?: (start: () => void) => void;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
  /** Milliseconds, monotonic (test seam). */
  now?: () => number;
}

export class WorkQueue {
  readonly #work: (key: string, waitedMs: number) => Promise<number | null>;
  readonly #concurrency: number;
  readonly #now: () => number;
  /** When each key in #ready became due. */
  readonly #dueAt = new Map<string, number>();
  readonly #setTimer: (fn: () => void, ms: number) => unknown;
  readonly #clearTimer: (handle: unknown) => void;
  readonly #defer: (start: () => void) => void;
  readonly #ready: string[] = [];
  readonly #queued = new Set<string>();
  readonly #running = new Set<string>();
  readonly #dirty = new Set<string>();
  readonly #timers = new Map<string, { at: number; handle: unknown }>();
  #active = 0;
  #stopped = false;
  #idle: Array<() => void> = [];

  /** `work` returns ms until the key should run again (0 at once), or null. */
  constructor(work: (key: string, waitedMs: number) => Promise<number | null>, options: WorkQueueOptions = {}) {
    this.#work = work;
    this.#concurrency = options.concurrency ?? 16;
    this.#now = options.now ?? (() => performance.now());
    this.#setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.#clearTimer = options.clearTimer ?? ((handle) => clearTimeout(handle as NodeJS.Timeout));
    this.#defer = options.defer ?? ((start) => setImmediate(start));
  }

  add(key: string): void {
    if (this.#stopped) return;
    if (this.#running.has(key)) {
      this.#dirty.add(key);
      return;
    }
    if (this.#queued.has(key)) return;
    this.#queued.add(key);
    this.#dueAt.set(key, this.#now());
    this.#ready.push(key);
    this.#pump();
  }

  addAfter(key: string, ms: number): void {
    if (this.#stopped) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const at = Date.now() + ms;
    const existing = this.#timers.get(key);
    if (existing && existing.at <= at) return;
    if (existing) this.#clearTimer(existing.handle);
    const handle = this.#setTimer(() => {
      this.#timers.delete(key);
      this.add(key);
    }, ms);
    this.#timers.set(key, { at, handle });
  }

  get size(): number {
    return this.#ready.length + this.#running.size;
  }

  /** Stops taking work; resolves when the running reconciles have finished (graceful shutdown). */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const { handle } of this.#timers.values()) this.#clearTimer(handle);
    this.#timers.clear();
    this.#ready.length = 0;
    this.#queued.clear();
    this.#dueAt.clear();
    if (this.#active === 0) return;
    await new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  #pump(): void {
    while (!this.#stopped && this.#active < this.#concurrency && this.#ready.length > 0) {
      const key = this.#ready.shift()!;
      this.#queued.delete(key);
      const waitedMs = this.#now() - (this.#dueAt.get(key) ?? this.#now());
      this.#dueAt.delete(key);
      this.#running.add(key);
      this.#active++;
      this.#defer(() => void this.#run(key, waitedMs));
    }
  }

  async #run(key: string, waitedMs: number): Promise<void> {
    let again: number | null = null;
    if (!this.#stopped) {
      try {
        again = await this.#work(key, waitedMs);
      } catch {
        // The worker reports its own errors; a failed key is retried with a delay.
        again = 2000;
      }
    }
    this.#running.delete(key);
    this.#active--;
    if (this.#dirty.delete(key)) this.add(key);
    else if (again !== null) this.addAfter(key, again);
    if (this.#active === 0 && this.#stopped) for (const resolve of this.#idle.splice(0)) resolve();
    this.#pump();
  }
}
