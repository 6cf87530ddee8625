// The notification shell: derive the notifications of a transition (pure), pick the policy's
// receivers and events, and hand each to its receiver's queue. notify() never waits for a
// receiver and never throws: a decision is never delayed or undone by delivery.
import type { EventRecorder } from '../kube/events.ts';
import type { SecretSource } from '../kube/secrets.ts';
import { API_VERSION, KIND } from '../policy/schema.ts';
import { parseDuration } from '../schedule/duration.ts';
import type { NotificationSettings, ReceiverSettings } from '../settings/notifications.ts';
import { deriveNotifications, type Transition } from './derive.ts';
import type { Notification, NotificationType } from './events.ts';
import type { NotifyMetrics } from './metrics.ts';
import { type Backoff, type Clock, ReceiverQueue } from './queue.ts';
import { sendOnce } from './send.ts';

export interface NotifierLog {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

export interface NotifierDeps {
  secrets: SecretSource;
  events: EventRecorder;
  metrics?: NotifyMetrics;
  log: NotifierLog;
  clock?: Clock;
  backoff?: Backoff;
  fetch?: typeof fetch;
}

export interface Selection {
  receivers: string[];
  events: NotificationType[];
}

/** The receivers and events a policy asks for: its spec.notifications, else the settings' defaults. */
export function selectionFor(transition: Pick<Transition, 'policy'>, settings: NotificationSettings): Selection {
  const spec = transition.policy.spec.notifications;
  return {
    receivers: spec?.receivers ?? settings.defaults.receivers,
    events: spec?.events ?? settings.defaults.events,
  };
}

export class Notifier {
  readonly #settings: NotificationSettings;
  readonly #deps: NotifierDeps;
  readonly #queues = new Map<string, ReceiverQueue>();
  readonly #receivers = new Map<string, ReceiverSettings>();
  /** policy/receiver pairs already warned about an unknown receiver (once per process). */
  readonly #warnedUnknown = new Set<string>();

  constructor(settings: NotificationSettings, deps: NotifierDeps) {
    this.#settings = settings;
    this.#deps = deps;
    for (const receiver of settings.receivers) {
      this.#receivers.set(receiver.name, receiver);
      this.#queues.set(receiver.name, this.#queueFor(receiver));
      deps.metrics?.receiver(receiver.name);
    }
  }

  /** Called by the controller after a decision was persisted. Returns at once. */
  notify(transition: Transition): void {
    let notifications: Notification[];
    try {
      notifications = deriveNotifications(transition);
    } catch (error) {
      this.#deps.log.warn('could not derive notifications', { error: (error as Error).message });
      return;
    }
    if (notifications.length === 0) return;
    const selection = selectionFor(transition, this.#settings);
    const wanted = notifications.filter((n) => selection.events.includes(n.type));
    for (const name of selection.receivers) {
      const queue = this.#queues.get(name);
      if (queue === undefined) {
        this.#unknownReceiver(transition, name);
        continue;
      }
      for (const notification of wanted) queue.enqueue(notification);
      this.#deps.metrics?.queued(name, queue.size);
    }
  }

  /** Resolves when every queue is empty (tests). */
  async idle(): Promise<void> {
    await Promise.all([...this.#queues.values()].map((queue) => queue.idle()));
  }

  stop(): void {
    for (const queue of this.#queues.values()) queue.stop();
  }

  #queueFor(receiver: ReceiverSettings): ReceiverQueue {
    const { metrics, log } = this.#deps;
    const name = receiver.name;
    const queue: ReceiverQueue = new ReceiverQueue({
      capacity: receiver.queueSize,
      deadlineMs: parseDuration(receiver.deadline),
      ...(this.#deps.clock === undefined ? {} : { clock: this.#deps.clock }),
      backoff: this.#deps.backoff ?? {
        initialMs: parseDuration(receiver.initialBackoff),
        factor: 2,
        maxMs: Math.max(parseDuration(receiver.initialBackoff), parseDuration(receiver.maxBackoff)),
      },
      send: (notification, signal) =>
        sendOnce(
          receiver,
          notification,
          {
            secrets: this.#deps.secrets,
            ...(this.#deps.fetch === undefined ? {} : { fetch: this.#deps.fetch }),
            ...(this.#deps.clock === undefined ? {} : { nowMs: this.#deps.clock.now }),
          },
          signal,
        ),
      events: {
        sent: (notification, attempts) => {
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
            this.#warn(
              notification,
              'NotificationsFailing',
              `receiver ${name} (${receiver.type}) failed ${consecutive} delivery attempts in a row, the last: ${reason}; notifications are retried until their deadline (${receiver.deadline}), releases are not affected`,
            );
          }
        },
        dropped: (notification, reason, detail) => {
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

  #unknownReceiver(transition: Transition, name: string): void {
    const { namespace, name: policy } = transition.policy.metadata;
    const key = `${namespace}/${policy}/${name}`;
    if (this.#warnedUnknown.has(key)) return;
    this.#warnedUnknown.add(key);
    const defined = [...this.#receivers.keys()].join(', ') || 'none';
    this.#recordOn(
      namespace,
      policy,
      'NotificationReceiverUnknown',
      `spec.notifications.receivers: no receiver "${name}" in the controller's notification settings (defined: ${defined}); nothing is sent to it`,
    );
  }

  #warn(notification: Notification, reason: string, message: string): void {
    this.#recordOn(notification.policy.namespace, notification.policy.name, reason, message);
  }

  #recordOn(namespace: string, name: string, reason: string, message: string): void {
    this.#deps.log.warn(message, { policy: `${namespace}/${name}`, reason });
    void this.#deps.events
      .record({ apiVersion: API_VERSION, kind: KIND, namespace, name }, 'Warning', reason, message)
      .catch((error: Error) => {
        this.#deps.log.warn('could not record event', { reason, error: error.message });
      });
  }
}
