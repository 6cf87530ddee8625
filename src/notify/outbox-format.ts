// The outbox as saved (one ConfigMap key, JSON): the entries still owed, oldest first, and which
// receiver was handed which notification and when ("recorded"), so that at start the recovery
// from the policies' status (recovery.ts) sends only what no outbox ever got. Read defensively:
// a canaryd before issue 15 saved a plain list of entries; what cannot be read is reported and
// left out, never blocking a start.
import { z } from 'zod';
import type { Notification } from './events.ts';

export interface OutboxEntry {
  notification: Notification;
  /** Receiver name → when it was queued for that receiver (epoch ms). */
  owed: Record<string, number>;
}

/** `receiver/id` → when the receiver was first handed the notification (epoch ms); oldest first. */
export type Recorded = Map<string, number>;

/** Receiver names are Kubernetes object names (no "/"), so the key is unambiguous. */
export const recordKey = (receiver: string, id: string): string => `${receiver}/${id}`;

export interface SavedOutbox {
  entries: OutboxEntry[];
  recorded: Recorded;
}

export interface OutboxLog {
  warn(message: string, fields?: Record<string, unknown>): void;
}

/** A ConfigMap holds 1 MiB; the outbox keeps to half of it. */
export const OUTBOX_MAX_BYTES = 512 * 1024;
/** How long a handed notification stays recorded: longer than any status keeps it (recovery.ts). */
export const RECORDED_MAX_AGE_MS = 60 * 60_000;
/** At most this many (receiver, id) pairs recorded (53 bytes each: about 104 KiB), the newest kept. */
export const RECORDED_MAX = 2000;

/** What every stored notification has at least (the outbox's and the policy status's copies). */
export const storedNotification = z.looseObject({
  id: z.string(),
  type: z.string(),
  time: z.string().optional(),
  policy: z.object({}).loose(),
});

const entrySchema = z.object({ notification: storedNotification, owed: z.record(z.string(), z.number()) });
const recordedSchema = z.record(z.string(), z.record(z.string(), z.number()));

/** Parses a saved outbox, either format; what cannot be read is reported and left out. */
export function parseOutbox(text: string, where: string, log?: OutboxLog): SavedOutbox {
  const saved: SavedOutbox = { entries: [], recorded: new Map() };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    log?.warn('notification outbox is not JSON; starting without it', { where, error: (error as Error).message });
    return saved;
  }
  // Before issue 15 the outbox was the list of entries alone.
  const shaped = Array.isArray(raw) ? { entries: raw } : (raw as { entries?: unknown; recorded?: unknown } | null);
  if (shaped === null || typeof shaped !== 'object' || !Array.isArray(shaped.entries)) {
    log?.warn('notification outbox is not a list; starting without it', { where });
    return saved;
  }
  for (const [index, item] of shaped.entries.entries()) {
    const parsed = entrySchema.safeParse(item);
    if (parsed.success) saved.entries.push(parsed.data as unknown as OutboxEntry);
    else log?.warn('notification outbox entry unreadable; left out', { where, index, error: parsed.error.message });
  }
  if (shaped.recorded !== undefined) {
    const recorded = recordedSchema.safeParse(shaped.recorded);
    if (recorded.success) saved.recorded = flatten(recorded.data);
    else log?.warn('notification outbox record unreadable; left out', { where, error: recorded.error.message });
  }
  return saved;
}

/** The records younger than `maxAgeMs` at `now`, at most `max`, the newest kept; oldest first. */
export function keptRecords(
  recorded: Recorded,
  now: number,
  maxAgeMs = RECORDED_MAX_AGE_MS,
  max = RECORDED_MAX,
): Recorded {
  const young = [...recorded].filter(([, at]) => now - at <= maxAgeMs).sort(([, a], [, b]) => a - b);
  return new Map(young.slice(Math.max(0, young.length - max)));
}

/**
 * The text to save within `maxBytes`: every record (bounded in count by keptRecords), then the
 * owed entries, oldest first; when they do not fit, the oldest are left out (they are still
 * queued in memory; only their survival of a restart is lost).
 */
export function boundedOutbox(
  entries: readonly OutboxEntry[],
  recorded: Recorded,
  maxBytes = OUTBOX_MAX_BYTES,
): { text: string; left: OutboxEntry[] } {
  const head = '{"entries":[';
  const tail = `],"recorded":${JSON.stringify(nest(recorded))}}`;
  const texts = entries.map((entry) => JSON.stringify(entry));
  let total = Buffer.byteLength(head) + Buffer.byteLength(tail);
  let first = entries.length;
  // Each entry but the first adds a comma: counted for all, so the bound holds.
  while (first > 0 && total + Buffer.byteLength(texts[first - 1]!) + 1 <= maxBytes) {
    total += Buffer.byteLength(texts[--first]!) + 1;
  }
  return { text: `${head}${texts.slice(first).join(',')}${tail}`, left: entries.slice(0, first) };
}

/** receiver → id → at, as saved (each receiver's name once). */
function nest(recorded: Recorded): Record<string, Record<string, number>> {
  const nested: Record<string, Record<string, number>> = {};
  for (const [key, at] of recorded) {
    const slash = key.indexOf('/');
    const receiver = key.slice(0, slash);
    const ids = nested[receiver] ?? {};
    ids[key.slice(slash + 1)] = at;
    nested[receiver] = ids;
  }
  return nested;
}

function flatten(nested: Record<string, Record<string, number>>): Recorded {
  const pairs = Object.entries(nested).flatMap(([receiver, ids]) =>
    Object.entries(ids).map(([id, at]) => [recordKey(receiver, id), at] as const),
  );
  return new Map(pairs.sort(([, a], [, b]) => a - b));
}
