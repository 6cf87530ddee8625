// One receiver's delivery line as canaryd runs it: the queue's capacity, deadline and backoff
// from the receiver's settings, one attempt through send.ts, and what each outcome means: the
// outbox settled, the metrics and the log, a Warning Event on the policy when a receiver keeps
// failing.
import { parseDuration } from '../schedule/duration.ts';
import type { ReceiverSettings } from '../settings/notifications.ts';
import type { Notification } from './events.ts';
import type { NotifierDeps } from './notifier.ts';
import { ReceiverQueue } from './queue.ts';
import { sendOnce } from './send.ts';

/** What a delivery line tells the notifier that owns it. */
export interface DeliveryShell {
  /** `receiver id` of a notification sent: the same transition derived again is not sent twice. */
  rememberSent(key: string): void;
  /** A Warning Event on the notification's policy (and the log). */
  warn(notification: Notification, reason: string, message: string): void;
}

export function deliveryLine(receiver: ReceiverSettings, deps: NotifierDeps, shell: DeliveryShell): ReceiverQueue {
  const { metrics, log } = deps;
  const name = receiver.name;
  const queue: ReceiverQueue = new ReceiverQueue({
    capacity: receiver.queueSize,
    deadlineMs: parseDuration(receiver.deadline),
    ...(deps.clock === undefined ? {} : { clock: deps.clock }),
    backoff: deps.backoff ?? {
      initialMs: parseDuration(receiver.initialBackoff),
      factor: 2,
      maxMs: Math.max(parseDuration(receiver.initialBackoff), parseDuration(receiver.maxBackoff)),
    },
    send: (notification, signal) =>
      sendOnce(
        receiver,
        notification,
        {
          secrets: deps.secrets,
          ...(deps.fetch === undefined ? {} : { fetch: deps.fetch }),
          ...(deps.clock === undefined ? {} : { nowMs: deps.clock.now }),
        },
        signal,
      ),
    events: {
      sent: (notification, attempts) => {
        deps.outbox?.settle(notification.id, name);
        shell.rememberSent(`${name} ${notification.id}`);
        metrics?.sent(name);
        metrics?.queued(name, queue.size);
        log.info('notification sent', { receiver: name, type: notification.type, id: notification.id, attempts });
      },
      attemptFailed: (notification, reason, consecutive) => {
        metrics?.failed(name);
        log.warn('notification attempt failed', {
          receiver: name,
          type: notification.type,
          id: notification.id,
          reason,
        });
        if (consecutive === receiver.failuresBeforeWarning) {
          shell.warn(
            notification,
            'NotificationsFailing',
            `receiver ${name} (${receiver.type}) failed ${consecutive} delivery attempts in a row, the last: ${reason}; notifications are retried until their deadline (${receiver.deadline}), releases are not affected`,
          );
        }
      },
      dropped: (notification, reason, detail) => {
        deps.outbox?.settle(notification.id, name);
        metrics?.dropped(name, reason);
        metrics?.queued(name, queue.size);
        log.warn('notification dropped', {
          receiver: name,
          type: notification.type,
          id: notification.id,
          reason,
          detail,
        });
      },
      recovered: (notification, failed) => {
        log.info('receiver recovered', { receiver: name, failedAttempts: failed, id: notification.id });
      },
    },
  });
  return queue;
}
