// The notification shell: derive the notifications of a transition (pure), pick the policy's
// receivers and events, and hand each to its receiver's queue and to the outbox (which keeps it
// across a restart). notify() never waits for a receiver or a write and never throws: a
// decision is never delayed or undone by delivery. A receiver's delivery line is delivery.ts,
// restoring at start what was owed restore.ts, the policy's receivers and events selection.ts.
import type { EventRecorder } from '../kube/events.ts';
import type { SecretSource } from '../kube/secrets.ts';
import { API_VERSION, KIND } from '../policy/schema.ts';
import type { NotificationSettings, ReceiverSettings } from '../settings/notifications.ts';
import { type DeliveryShell, deliveryLine } from './delivery.ts';
import { deriveNotifications, type Transition } from './derive.ts';
import type { Notification } from './events.ts';
import type { NotifyMetrics } from './metrics.ts';
import type { Outbox } from './outbox.ts';
import { type Backoff, type Clock, type ReceiverQueue, systemClock } from './queue.ts';
import type { PolicyOnRecord } from './recovery.ts';
import { restoreOwed } from './restore.ts';
import { selectionFor } from './selection.ts';

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
    const shell: DeliveryShell = {
      rememberSent: (key) => this.#rememberSent(key),
      warn: (notification, reason, message) => this.#warn(notification, reason, message),
    };
    for (const receiver of settings.receivers) {
      this.#receivers.set(receiver.name, receiver);
      this.#queues.set(receiver.name, deliveryLine(receiver, deps, shell));
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

  /** Queues again what the previous canaryd owed, or a crash lost (restore.ts). Returns how many. */
  restore(policies: readonly PolicyOnRecord[] = []): Promise<number> {
    return restoreOwed(
      { settings: this.#settings, deps: this.#deps, queues: this.#queues, receivers: this.#receivers },
      policies,
    );
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
