// One receiver's delivery line: a bounded queue in memory (full: the oldest is dropped and
// counted; what it holds is also in the outbox, outbox.ts), one request at a time in order,
// retries with exponential backoff until the notification's deadline. Nothing here is awaited by the controller: enqueue() returns at once,
// so a slow or dead receiver can never delay a decision (invariant 2).
import type { Notification } from './events.ts';

export type AttemptResult =
  | { ok: true }
  | { ok: false; retry: boolean; reason: string /** Retry-After, when the receiver said. */; retryAfterMs?: number };

export interface Clock {
  now(): number;
  /** Resolves after ms, or early when the signal aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    }),
};

export interface Backoff {
  initialMs: number;
  factor: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { initialMs: 1000, factor: 2, maxMs: 60_000 };

/** Delay before retry number `failures` (1 = after the first failed attempt). */
export function backoffDelay(backoff: Backoff, failures: number, retryAfterMs?: number): number {
  const exponential = Math.min(backoff.maxMs, backoff.initialMs * backoff.factor ** Math.max(0, failures - 1));
  return retryAfterMs === undefined ? exponential : Math.min(backoff.maxMs, Math.max(exponential, retryAfterMs));
}

export type DropReason = 'queueFull' | 'deadline' | 'rejected';

export interface QueueEvents {
  sent(notification: Notification, attempts: number): void;
  attemptFailed(notification: Notification, reason: string, consecutiveFailures: number): void;
  dropped(notification: Notification, reason: DropReason, detail: string): void;
  /** After a failing streak, the first success. */
  recovered?(notification: Notification, failedAttempts: number): void;
}

export interface ReceiverQueueOptions {
  capacity: number;
  deadlineMs: number;
  send(notification: Notification, signal: AbortSignal): Promise<AttemptResult>;
  events: QueueEvents;
  clock?: Clock;
  backoff?: Backoff;
}

interface Pending {
  notification: Notification;
  enqueuedAt: number;
  attempts: number;
  /** Dropped (queue full) while its attempt was in flight: its result is not reported. */
  dropped?: boolean;
}

export class ReceiverQueue {
  readonly #options: ReceiverQueueOptions;
  readonly #clock: Clock;
  readonly #backoff: Backoff;
  readonly #pending: Pending[] = [];
  readonly #stop = new AbortController();
  #worker: Promise<void> | undefined;
  /** Failed attempts in a row, across notifications (a receiver that keeps failing). */
  #consecutiveFailures = 0;

  constructor(options: ReceiverQueueOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
  }

  get size(): number {
    return this.#pending.length;
  }

  /** Is notification `id` waiting (or being sent) here? */
  has(id: string): boolean {
    return this.#pending.some((pending) => pending.notification.id === id);
  }

  /**
   * Queues it, unless it already waits here (the same transition derived again). `enqueuedAt`:
   * when it was first queued (a notification restored from the outbox keeps its deadline).
   */
  enqueue(notification: Notification, enqueuedAt = this.#clock.now()): void {
    if (this.#stop.signal.aborted || this.has(notification.id)) return;
    if (this.#pending.length >= this.#options.capacity) {
      // The head may be in flight: drop the oldest one that is not (or the head if it is alone).
      const oldest = this.#pending.length > 1 && this.#worker !== undefined ? 1 : 0;
      const [dropped] = this.#pending.splice(oldest, 1);
      if (dropped) dropped.dropped = true;
      if (dropped)
        this.#options.events.dropped(dropped.notification, 'queueFull', `queue of ${this.#options.capacity} full`);
    }
    this.#pending.push({ notification, enqueuedAt, attempts: 0 });
    this.#worker ??= this.#drain().finally(() => {
      this.#worker = undefined;
    });
  }

  /** Resolves when the queue is empty (tests) or stopped. */
  async idle(): Promise<void> {
    while (this.#worker !== undefined) await this.#worker;
  }

  /** Stops retrying; what is queued is abandoned here (the outbox keeps it for the next canaryd). */
  stop(): void {
    this.#stop.abort();
  }

  async #drain(): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      const head = this.#pending[0];
      if (head === undefined) return;
      head.attempts += 1;
      const result = await this.#attempt(head, signal);
      if (signal.aborted) return;
      if (head.dropped === true) continue;
      if (result.ok) {
        this.#remove(head);
        if (this.#consecutiveFailures > 0)
          this.#options.events.recovered?.(head.notification, this.#consecutiveFailures);
        this.#consecutiveFailures = 0;
        this.#options.events.sent(head.notification, head.attempts);
        continue;
      }
      this.#consecutiveFailures += 1;
      this.#options.events.attemptFailed(head.notification, result.reason, this.#consecutiveFailures);
      if (!result.retry) {
        this.#remove(head);
        this.#options.events.dropped(head.notification, 'rejected', result.reason);
        continue;
      }
      const delay = backoffDelay(this.#backoff, head.attempts, result.retryAfterMs);
      if (this.#clock.now() + delay > head.enqueuedAt + this.#options.deadlineMs) {
        this.#remove(head);
        this.#options.events.dropped(
          head.notification,
          'deadline',
          `gave up after ${head.attempts} attempts: ${result.reason}`,
        );
        continue;
      }
      await this.#clock.sleep(delay, signal);
    }
  }

  async #attempt(pending: Pending, signal: AbortSignal): Promise<AttemptResult> {
    try {
      return await this.#options.send(pending.notification, signal);
    } catch (error) {
      // send() reports failures as results; an exception is a bug or an unexpected I/O error: retry it.
      return { ok: false, retry: true, reason: error instanceof Error ? error.message : String(error) };
    }
  }

  #remove(pending: Pending): void {
    const index = this.#pending.indexOf(pending);
    if (index >= 0) this.#pending.splice(index, 1);
  }
}
