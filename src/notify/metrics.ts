// prom-client metrics of notification delivery, per receiver, on canaryd's registry.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { DropReason } from './queue.ts';

const DROP_REASONS: readonly DropReason[] = ['queueFull', 'deadline', 'rejected'];

export interface NotifyMetrics {
  /** A configured receiver: its series exist at 0 from the start, so increase() sees its first event. */
  receiver(receiver: string): void;
  sent(receiver: string): void;
  failed(receiver: string): void;
  dropped(receiver: string, reason: DropReason): void;
  queued(receiver: string, size: number): void;
}

export function notifyMetrics(registry: Registry): NotifyMetrics {
  const registers = [registry];
  const sent = new Counter({
    name: 'canaryd_notifications_sent_total',
    help: 'Notifications a receiver accepted (2xx), by receiver.',
    labelNames: ['receiver'],
    registers,
  });
  const failed = new Counter({
    name: 'canaryd_notifications_failed_total',
    help: 'Delivery attempts that failed (timeout, network error, non-2xx), by receiver.',
    labelNames: ['receiver'],
    registers,
  });
  const dropped = new Counter({
    name: 'canaryd_notifications_dropped_total',
    help: 'Notifications given up, by receiver and reason (queueFull, deadline, rejected).',
    labelNames: ['receiver', 'reason'],
    registers,
  });
  const queued = new Gauge({
    name: 'canaryd_notifications_queued',
    help: 'Notifications waiting for a receiver.',
    labelNames: ['receiver'],
    registers,
  });
  return {
    receiver(receiver) {
      sent.inc({ receiver }, 0);
      failed.inc({ receiver }, 0);
      for (const reason of DROP_REASONS) dropped.inc({ receiver, reason }, 0);
      queued.set({ receiver }, 0);
    },
    sent: (receiver) => sent.inc({ receiver }),
    failed: (receiver) => failed.inc({ receiver }),
    dropped: (receiver, reason) => dropped.inc({ receiver, reason }),
    queued: (receiver, size) => queued.set({ receiver }, size),
  };
}
