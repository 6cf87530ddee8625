// The outbox: what the receivers' queues still owe, kept in the cluster so a restarted canaryd
// (or a new leader) sends it. One entry per notification, with the receivers still owed it and
// when each got it (its deadline counts from then, across restarts). Writes are coalesced (at
// most one in flight, the latest state wins) and bounded in size; the notification's id, its
// idempotency key, is kept, so a notification sent again after a restart is one receivers can
// deduplicate. A write that fails is retried; delivery never waits for one. It also records
// which receiver was handed which notification lately (sent or given up since, or not): at
// start, a notification a policy's status holds that the outbox never recorded is one a crash
// lost before its write (recovery.ts). The saved format is outbox-format.ts.
import type { Notification } from './events.ts';
import {
  boundedOutbox,
  keptRecords,
  type OutboxEntry,
  type OutboxLog,
  parseOutbox,
  RECORDED_MAX,
  type Recorded,
  recordKey,
} from './outbox-format.ts';

/** Where the outbox lives (a ConfigMap: outbox-store.ts). */
export interface OutboxStore {
  /** The text saved last; undefined when there is none. */
  load(): Promise<string | undefined>;
  /** Replaces it. Throws OutboxTaken when another canaryd wrote it since (this one must stop). */
  save(text: string): Promise<void>;
  /** Where, for messages. */
  readonly where: string;
}

/** Someone else wrote the outbox since this canaryd read it: a new leader owns it now. */
export class OutboxTaken extends Error {
  override name = 'OutboxTaken';
}

export interface OutboxOptions {
  store: OutboxStore;
  log: OutboxLog;
  /** Changes within this window go out in one write. Default 200 ms. */
  coalesceMs?: number;
  /** After a failed write. Default 2 s, doubled up to 60 s. */
  retryMs?: number;
  maxBytes?: number;
  sleep?: (ms: number) => Promise<void>;
  /** The clock records are aged by (epoch ms). Default Date.now. */
  now?: () => number;
}

export class Outbox {
  readonly #options: OutboxOptions;
  /** Insertion order = age. */
  readonly #entries = new Map<string, OutboxEntry>();
  /** Every (receiver, notification) handed over lately, owed or done: what recovery must not resend. */
  #recorded: Recorded = new Map();
  #dirty = false;
  #writer: Promise<void> | undefined;
  #stopped = false;
  #warnedFull = false;

  constructor(options: OutboxOptions) {
    this.#options = options;
  }

  /** What the last canaryd left; the caller queues it again. Entries added meanwhile are kept. */
  async load(): Promise<OutboxEntry[]> {
    const text = await this.#options.store.load();
    if (text === undefined) return [];
    const { entries, recorded } = parseOutbox(text, this.#options.store.where, this.#options.log);
    for (const [key, at] of recorded) this.#record(key, at);
    for (const entry of entries) {
      // An outbox saved before records existed: what it owes was handed over, too.
      for (const [receiver, at] of Object.entries(entry.owed))
        this.#record(recordKey(receiver, entry.notification.id), at);
      const known = this.#entries.get(entry.notification.id);
      if (known === undefined) this.#entries.set(entry.notification.id, structuredClone(entry));
      else for (const [receiver, at] of Object.entries(entry.owed)) known.owed[receiver] ??= at;
    }
    return entries;
  }

  /** `receiver` owes `notification` (queued at `at`), and it is recorded as handed over. Idempotent. */
  owe(notification: Notification, receiver: string, at: number): void {
    this.#record(recordKey(receiver, notification.id), at);
    let entry = this.#entries.get(notification.id);
    if (entry === undefined) {
      entry = { notification, owed: {} };
      this.#entries.set(notification.id, entry);
    }
    if (entry.owed[receiver] !== undefined) return;
    entry.owed[receiver] = at;
    this.#changed();
  }

  /** `receiver` is done with the notification: sent, or given up (deadline, rejected, queue full). */
  settle(id: string, receiver: string): void {
    const entry = this.#entries.get(id);
    if (entry?.owed[receiver] === undefined) return;
    delete entry.owed[receiver];
    if (Object.keys(entry.owed).length === 0) this.#entries.delete(id);
    this.#changed();
  }

  /** Is `receiver` still owed notification `id`? */
  owes(id: string, receiver: string): boolean {
    return this.#entries.get(id)?.owed[receiver] !== undefined;
  }

  /** Was `receiver` handed notification `id` lately (owed now, or sent, or given up)? */
  recorded(id: string, receiver: string): boolean {
    return this.#recorded.has(recordKey(receiver, id));
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Writes what is owed now and waits for it, at most `timeoutMs` (a clean stop must end). */
  async flush(timeoutMs = 5000): Promise<void> {
    this.#dirty = true;
    this.#startWriter(0);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    const written = (async () => {
      while (this.#writer !== undefined) await this.#writer;
    })();
    await Promise.race([written, timeout]);
    clearTimeout(timer);
  }

  /** No more writes: another canaryd owns the outbox now (a lost lease), or the process ends. */
  stop(): void {
    this.#stopped = true;
  }

  #changed(): void {
    this.#dirty = true;
    this.#startWriter(this.#options.coalesceMs ?? 200);
  }

  #startWriter(delayMs: number): void {
    if (this.#writer !== undefined || this.#stopped) return;
    this.#writer = this.#write(delayMs).finally(() => {
      this.#writer = undefined;
      if (this.#dirty && !this.#stopped) this.#startWriter(this.#options.coalesceMs ?? 200);
    });
  }

  async #write(delayMs: number): Promise<void> {
    const sleep = this.#options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    if (delayMs > 0) await sleep(delayMs);
    let retryMs = this.#options.retryMs ?? 2000;
    while (this.#dirty && !this.#stopped) {
      this.#dirty = false;
      this.#recorded = keptRecords(this.#recorded, (this.#options.now ?? Date.now)());
      const { text, left } = boundedOutbox([...this.#entries.values()], this.#recorded, this.#options.maxBytes);
      this.#reportFull(left.length);
      try {
        await this.#options.store.save(text);
        return;
      } catch (error) {
        if (error instanceof OutboxTaken) {
          this.#stopped = true;
          this.#options.log.warn('another canaryd writes the notification outbox now; this one stops writing it', {
            where: this.#options.store.where,
          });
          return;
        }
        this.#dirty = true;
        this.#options.log.warn('could not save the notification outbox; retrying', {
          where: this.#options.store.where,
          error: (error as Error).message,
          retryInMs: retryMs,
        });
        await sleep(retryMs);
        retryMs = Math.min(60_000, retryMs * 2);
      }
    }
  }

  #record(key: string, at: number): void {
    if (this.#recorded.has(key)) return;
    this.#recorded.set(key, at);
    // Bounded between writes too: the oldest (first in) goes.
    if (this.#recorded.size > RECORDED_MAX) this.#recorded.delete(this.#recorded.keys().next().value!);
  }

  #reportFull(left: number): void {
    if (left === 0) {
      this.#warnedFull = false;
      return;
    }
    if (this.#warnedFull) return;
    this.#warnedFull = true;
    this.#options.log.warn(
      'notification outbox full: the oldest queued notifications are kept in memory only (lost if canaryd restarts)',
      { where: this.#options.store.where, notKept: left },
    );
  }
}
