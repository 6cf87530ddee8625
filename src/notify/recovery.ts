// Closes the outbox's crash window (issue 15). The controller persists a decision before it acts,
// and hands the decision's notifications to the queues and the outbox (written within 200 ms)
// only after the actions: a canaryd killed in between restarts past the decision and never
// derives them again. So the decision's notifications are also written into the policy status,
// in the same write as the decision (afterDecision). At start, one there that the outbox neither
// owes nor recorded for a receiver was never handed to it: it is owed now (missedNotifications).
// One the outbox recorded was sent or given up already: a clean stop resends nothing.
import type { NotificationsSpec } from '../policy/schema.ts';
import type { Notification } from './events.ts';
import { storedNotification } from './outbox-format.ts';

/** How long a decision's notifications stay in the status for the next canaryd to check. */
export const RECENT_WINDOW_MS = 10 * 60_000;
/** At most this many earlier ones are kept beside a decision's own (newest last). */
export const RECENT_MAX = 5;

/**
 * The status's notifications after a decision that derived `decided` (before its actions, so
 * without a measured share; the ids are the ones derived after, derive.ts): the earlier ones
 * still young, then the decision's own. A decision that derived none keeps the list as it was
 * (aged ones are ignored at start), so a reconcile that decides nothing writes nothing.
 */
export function afterDecision(
  previous: readonly Notification[] | undefined,
  decided: readonly Notification[],
  now: Date,
): Notification[] | undefined {
  if (decided.length === 0) return previous === undefined ? undefined : [...previous];
  const ids = new Set(decided.map((notification) => notification.id));
  const young = (previous ?? []).filter((n) => !ids.has(n.id) && isYoung(n, now.getTime()));
  return [...young.slice(Math.max(0, young.length + decided.length - RECENT_MAX)), ...decided];
}

/** A policy as the watch cache holds it at start: its recent notifications and whom they go to. */
export interface PolicyOnRecord {
  /** namespace/name, for messages. */
  policy: string;
  /** Its spec.notifications (the last valid spec); undefined: the settings' defaults. */
  notifications: NotificationsSpec | undefined;
  /** status.notifications as read (validated here). */
  recent: readonly unknown[];
}

export interface Missed {
  notification: Notification;
  receiver: string;
  /** The decision's time (epoch ms): the receiver's deadline counts from it. */
  at: number;
}

/**
 * The (notification, receiver) pairs that policies' recent decisions owe and that no outbox was
 * ever handed: `receiversOf` says whom a policy sends a type to (its selection, receivers
 * configured now), `handed` whether the outbox owes or recorded the pair. Oldest first.
 */
export function missedNotifications(
  policies: readonly PolicyOnRecord[],
  receiversOf: (spec: NotificationsSpec | undefined, type: Notification['type']) => readonly string[],
  handed: (id: string, receiver: string) => boolean,
  now: number,
): { missed: Missed[]; unreadable: string[] } {
  const missed: Missed[] = [];
  const unreadable: string[] = [];
  for (const { policy, notifications, recent } of policies) {
    for (const raw of recent) {
      const parsed = storedNotification.safeParse(raw);
      if (!parsed.success) {
        unreadable.push(policy);
        continue;
      }
      const notification = parsed.data as unknown as Notification;
      if (!isYoung(notification, now)) continue;
      for (const receiver of receiversOf(notifications, notification.type)) {
        if (!handed(notification.id, receiver)) missed.push({ notification, receiver, at: timeOf(notification) });
      }
    }
  }
  return { missed: missed.sort((a, b) => a.at - b.at), unreadable };
}

const timeOf = (notification: Notification): number => Date.parse(notification.time);

/** Younger than the window at `now`; one without a readable time is not. */
function isYoung(notification: Notification, now: number): boolean {
  const at = timeOf(notification);
  return Number.isFinite(at) && now - at <= RECENT_WINDOW_MS;
}
