// At start, before any reconcile: what the previous canaryd still owed (its outbox) and what a
// crash lost before the outbox was written (the policies' statuses, recovery.ts), queued again
// on the receivers' delivery lines, or dropped past their deadline.
import { parseDuration } from '../schedule/duration.ts';
import type { NotificationSettings, ReceiverSettings } from '../settings/notifications.ts';
import type { NotifierDeps } from './notifier.ts';
import type { Outbox } from './outbox.ts';
import { type ReceiverQueue, systemClock } from './queue.ts';
import { missedNotifications, type PolicyOnRecord } from './recovery.ts';
import { selectionOf } from './selection.ts';

/** What restoring reads of the notifier: its settings and deps, the receivers and their queues. */
export interface RestoreContext {
  settings: NotificationSettings;
  deps: NotifierDeps;
  queues: ReadonlyMap<string, ReceiverQueue>;
  receivers: ReadonlyMap<string, ReceiverSettings>;
}

/**
 * Queues again what the previous canaryd still owed (its outbox), before any reconcile: each
 * keeps its id (the receivers' idempotency key) and its deadline. Then what the policies'
 * latest decisions (`policies`, from the synced cache) persisted and no outbox was ever handed:
 * a canaryd killed between a decision and its outbox write (recovery.ts). Returns how many; a
 * failure to read the outbox is logged and delivery goes on from memory.
 */
export async function restoreOwed(context: RestoreContext, policies: readonly PolicyOnRecord[]): Promise<number> {
  const { deps, queues, receivers } = context;
  const outbox = deps.outbox;
  if (outbox === undefined) return 0;
  let entries: Awaited<ReturnType<Outbox['load']>>;
  try {
    entries = await outbox.load();
  } catch (error) {
    deps.log.warn(
      'could not read the notification outbox; what the previous canaryd owed, or lost in a crash, is not sent',
      { error: (error as Error).message },
    );
    return 0;
  }
  const now = (deps.clock ?? systemClock).now();
  const owed = entries.flatMap(({ notification, owed }) =>
    Object.entries(owed).map(([receiver, at]) => ({ notification, receiver, at })),
  );
  const recovered = missedFromStatus(context, policies, outbox, now);
  let restored = 0;
  for (const { notification, receiver: name, at } of [...owed, ...recovered]) {
    const queue = queues.get(name);
    const receiver = receivers.get(name);
    if (queue === undefined || receiver === undefined) {
      deps.log.warn('notification owed to a receiver that is no longer configured; dropped', {
        receiver: name,
        id: notification.id,
      });
      outbox.settle(notification.id, name);
      continue;
    }
    if (now - at > parseDuration(receiver.deadline)) {
      outbox.settle(notification.id, name);
      deps.metrics?.dropped(name, 'deadline');
      deps.log.warn('notification dropped', {
        receiver: name,
        type: notification.type,
        id: notification.id,
        reason: 'deadline',
        detail: `owed since ${new Date(at).toISOString()}, longer than the deadline (${receiver.deadline}) when canaryd started`,
      });
      continue;
    }
    queue.enqueue(notification, at);
    restored += 1;
  }
  for (const [name, queue] of queues) deps.metrics?.queued(name, queue.size);
  if (restored > 0) {
    deps.log.info('notifications restored from the outbox', {
      restored,
      recoveredFromStatus: recovered.length,
    });
  }
  return restored;
}

/** What policies' statuses hold that the outbox never had; owed from now on (and saved). */
function missedFromStatus(context: RestoreContext, policies: readonly PolicyOnRecord[], outbox: Outbox, now: number) {
  const { settings, deps, queues } = context;
  const { missed, unreadable } = missedNotifications(
    policies,
    (spec, type) => {
      const selection = selectionOf(spec, settings);
      return selection.events.includes(type) ? selection.receivers.filter((name) => queues.has(name)) : [];
    },
    (id, receiver) => outbox.owes(id, receiver) || outbox.recorded(id, receiver),
    now,
  );
  for (const policy of new Set(unreadable)) {
    deps.log.warn('a notification in the policy status is unreadable; not checked after the restart', {
      policy,
    });
  }
  for (const { notification, receiver, at } of missed) {
    outbox.owe(notification, receiver, at);
    deps.log.info('notification recovered from the policy status (lost before the outbox was written)', {
      receiver,
      type: notification.type,
      id: notification.id,
    });
  }
  return missed;
}
