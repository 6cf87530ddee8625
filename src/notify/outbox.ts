// The outbox: what the receivers' queues still owe, kept in the cluster so a restarted canaryd
// (or a new leader) sends it. One entry per notification, with the receivers still owed it and
// when each got it (its deadline counts from then, across restarts). Writes are coalesced (at
// most one in flight, the latest state wins) and bounded in size; the notification's id, its
// idempotency key, is kept, so a notification sent again after a restart is one receivers can
// deduplicate. A write that fails is retried; delivery never waits for one.
import { z } from 'zod';
import type { Notification } from './events.ts';

export interface OutboxEntry {
  notification: Notification;
  /** Receiver name → when it was queued for that receiver (epoch ms). */
  owed: Record<string, number>;
}

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

export interface OutboxLog {
  warn(message: string, fields?: Record<string, unknown>): void;
}

/** A ConfigMap holds 1 MiB; the outbox keeps to half of it. */
export const OUTBOX_MAX_BYTES = 512 * 1024;

const entrySchema = z.object({
  notification: z.looseObject({ id: z.string(), type: z.string(), policy: z.object({}).loose() }),
  owed: z.record(z.string(), z.number()),
});

/** Parses a saved outbox; what cannot be read is reported and left out (never blocks a start). */
export function parseOutbox(text: string, where: string, log?: OutboxLog): OutboxEntry[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    log?.warn('notification outbox is not JSON; starting without it', { where, error: (error as Error).message });
    return [];
  }
  if (!Array.isArray(raw)) {
    log?.warn('notification outbox is not a list; starting without it', { where });
    return [];
  }
  const entries: OutboxEntry[] = [];
  for (const [index, item] of raw.entries()) {
    const parsed = entrySchema.safeParse(item);
    if (parsed.success) entries.push(parsed.data as unknown as OutboxEntry);
    else log?.warn('notification outbox entry unreadable; left out', { where, index, error: parsed.error.message });
  }
  return entries;
}

/**
 * The entries to save, oldest first, within `maxBytes` of JSON: when they do not fit, the oldest
 * are left out (they are still queued in memory; only their survival of a restart is lost).
 */
export function boundedOutbox(
  entries: readonly OutboxEntry[],
  maxBytes = OUTBOX_MAX_BYTES,
): { text: string; left: OutboxEntry[] } {
  const sizes = entries.map((entry) => Buffer.byteLength(JSON.stringify(entry)) + 1);
  let total = 2;
  let first = entries.length;
  while (first > 0 && total + sizes[first - 1]! <= maxBytes) total += sizes[--first]!;
  const kept = entries.slice(first);
  return { text: JSON.stringify(kept), left: entries.slice(0, first) };
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
}

export class Outbox {
  readonly #options: OutboxOptions;
  /** Insertion order = age. */
  readonly #entries = new Map<string, OutboxEntry>();
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
    const loaded = text === undefined ? [] : parseOutbox(text, this.#options.store.where, this.#options.log);
    for (const entry of loaded) {
      const known = this.#entries.get(entry.notification.id);
      if (known === undefined) this.#entries.set(entry.notification.id, structuredClone(entry));
      else for (const [receiver, at] of Object.entries(entry.owed)) known.owed[receiver] ??= at;
    }
    return loaded;
  }

  /** `receiver` owes `notification` (queued at `at`). Idempotent. */
  owe(notification: Notification, receiver: string, at: number): void {
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
      const { text, left } = boundedOutbox([...this.#entries.values()], this.#options.maxBytes);
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
