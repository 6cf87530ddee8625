// The notification shell: derive the notifications of a transition (pure), pick the policy's
// receivers and events, and hand each to its receiver's queue and to the outbox (which keeps it
// across a restart). notify() never waits for a receiver or a write and never throws: a
// decision is never delayed or undone by delivery.
import type { EventRecorder } from '../kube/events.ts';
import type { SecretSource } from '../kube/secrets.ts';
import { API_VERSION, KIND, type NotificationsSpec } from '../policy/schema.ts';
import { parseDuration } from '../schedule/duration.ts';
import type { NotificationSettings, ReceiverSettings } from '../settings/notifications.ts';
import { deriveNotifications, type Transition } from './derive.ts';
import type { Notification, NotificationType } from './events.ts';
import type { NotifyMetrics } from './metrics.ts';
import type { Outbox } from './outbox.ts';
import { type Backoff, type Clock, ReceiverQueue, systemClock } from './queue.ts';
import { missedNotifications, type PolicyOnRecord } from './recovery.ts';
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
  /** Keeps what is owed across restarts (outbox.ts); absent: memory only. */
  outbox?: Outbox;
}

export interface Selection {
  receivers: string[];
  events: NotificationType[];
}

/** The receivers and events a policy asks for: its spec.notifications, else the settings' defaults. */
export function selectionFor(transition: Pick<Transition, 'policy'>, settings: NotificationSettings): Selection {
  return selectionOf(transition.policy.spec.notifications, settings);
}

function selectionOf(spec: NotificationsSpec | undefined, settings: NotificationSettings): Selection {
  return {
    receivers: spec?.receivers ?? settings.defaults.receivers,
    events: spec?.events ?? settings.defaults.events,
  };
}

/** How many sent notifications (receiver and id) are remembered to skip a repeated derivation. */
const RECENTLY_SENT = 1000;

export class Notifier {
  readonly #settings: NotificationSettings;
  readonly #deps: NotifierDeps;
  readonly #queues = new Map<string, ReceiverQueue>();
  readonly #receivers = new Map<string, ReceiverSettings>();
  /** `receiver id` of the last notifications sent: the same transition derived again is not sent twice. */
  readonly #recentlySent = new Set<string>();
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
    const now = (this.#deps.clock ?? systemClock).now();
    for (const name of selection.receivers) {
      const queue = this.#queues.get(name);
      if (queue === undefined) {
        this.#unknownReceiver(transition, name);
        continue;
      }
      for (const notification of wanted) {
        // Derived again (a repeated reconcile, the first one after a restart): queued or sent once.
        if (queue.has(notification.id) || this.#recentlySent.has(`${name} ${notification.id}`)) continue;
        this.#deps.outbox?.owe(notification, name, now);
        queue.enqueue(notification, now);
      }
      this.#deps.metrics?.queued(name, queue.size);
    }
  }

  /**
   * Queues again what the previous canaryd still owed (its outbox), before any reconcile: each
   * keeps its id (the receivers' idempotency key) and its deadline. Then what the policies'
   * latest decisions (`policies`, from the synced cache) persisted and no outbox was ever handed:
   * a canaryd killed between a decision and its outbox write (recovery.ts). Returns how many; a
   * failure to read the outbox is logged and delivery goes on from memory.
   */
  async restore(policies: readonly PolicyOnRecord[] = []): Promise<number> {
    const outbox = this.#deps.outbox;
    if (outbox === undefined) return 0;
    let entries: Awaited<ReturnType<Outbox['load']>>;
    try {
      entries = await outbox.load();
    } catch (error) {
      this.#deps.log.warn(
        'could not read the notification outbox; what the previous canaryd owed, or lost in a crash, is not sent',
        { error: (error as Error).message },
      );
      return 0;
    }
    const now = (this.#deps.clock ?? systemClock).now();
    const owed = entries.flatMap(({ notification, owed }) =>
      Object.entries(owed).map(([receiver, at]) => ({ notification, receiver, at })),
    );
    const recovered = this.#missed(policies, outbox, now);
    let restored = 0;
    for (const { notification, receiver: name, at } of [...owed, ...recovered]) {
      const queue = this.#queues.get(name);
      const receiver = this.#receivers.get(name);
      if (queue === undefined || receiver === undefined) {
        this.#deps.log.warn('notification owed to a receiver that is no longer configured; dropped', {
          receiver: name,
          id: notification.id,
        });
        outbox.settle(notification.id, name);
        continue;
      }
      if (now - at > parseDuration(receiver.deadline)) {
        outbox.settle(notification.id, name);
        this.#deps.metrics?.dropped(name, 'deadline');
        this.#deps.log.warn('notification dropped', {
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
    for (const [name, queue] of this.#queues) this.#deps.metrics?.queued(name, queue.size);
    if (restored > 0) {
      this.#deps.log.info('notifications restored from the outbox', {
        restored,
        recoveredFromStatus: recovered.length,
      });
    }
    return restored;
  }

  /** What policies' statuses hold that the outbox never had; owed from now on (and saved). */
  #missed(policies: readonly PolicyOnRecord[], outbox: Outbox, now: number) {
    const { missed, unreadable } = missedNotifications(
      policies,
      (spec, type) => {
        const selection = selectionOf(spec, this.#settings);
        return selection.events.includes(type) ? selection.receivers.filter((name) => this.#queues.has(name)) : [];
      },
      (id, receiver) => outbox.owes(id, receiver) || outbox.recorded(id, receiver),
      now,
    );
    for (const policy of new Set(unreadable)) {
      this.#deps.log.warn('a notification in the policy status is unreadable; not checked after the restart', {
        policy,
      });
    }
    for (const { notification, receiver, at } of missed) {
      outbox.owe(notification, receiver, at);
      this.#deps.log.info('notification recovered from the policy status (lost before the outbox was written)', {
        receiver,
        type: notification.type,
        id: notification.id,
      });
    }
    return missed;
  }

  /** Resolves when every queue is empty (tests). */
  async idle(): Promise<void> {
    await Promise.all([...this.#queues.values()].map((queue) => queue.idle()));
  }

  /**
   * Stops sending. `keepOutbox`: write what is still owed so the next canaryd sends it (a clean
   * stop); false when another canaryd owns the outbox now (a lost lease): write nothing more.
   */
  async stop(options: { keepOutbox: boolean } = { keepOutbox: true }): Promise<void> {
    for (const queue of this.#queues.values()) queue.stop();
    // An attempt in flight is aborted; wait for it, so nothing is sent after the outbox is written.
    await Promise.all([...this.#queues.values()].map((queue) => queue.idle()));
    const outbox = this.#deps.outbox;
    if (outbox === undefined) return;
    if (!options.keepOutbox) {
      outbox.stop();
      return;
    }
    await outbox.flush().catch((error: Error) => {
      this.#deps.log.warn('could not save the notification outbox at stop', { error: error.message });
    });
    outbox.stop();
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
          this.#deps.outbox?.settle(notification.id, name);
          this.#rememberSent(`${name} ${notification.id}`);
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
          this.#deps.outbox?.settle(notification.id, name);
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

  #rememberSent(key: string): void {
    this.#recentlySent.add(key);
    if (this.#recentlySent.size > RECENTLY_SENT) {
      const oldest = this.#recentlySent.values().next().value;
      if (oldest !== undefined) this.#recentlySent.delete(oldest);
    }
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
