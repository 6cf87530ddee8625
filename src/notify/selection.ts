// Which receivers and events a policy's notifications go to: its spec.notifications, else the
// defaults of the controller's notification settings.
import type { NotificationsSpec } from '../policy/schema.ts';
import type { NotificationSettings } from '../settings/notifications.ts';
import type { Transition } from './derive.ts';
import type { NotificationType } from './events.ts';

export interface Selection {
  receivers: string[];
  events: NotificationType[];
}

/** The receivers and events a policy asks for: its spec.notifications, else the settings' defaults. */
export function selectionFor(transition: Pick<Transition, 'policy'>, settings: NotificationSettings): Selection {
  return selectionOf(transition.policy.spec.notifications, settings);
}

export function selectionOf(spec: NotificationsSpec | undefined, settings: NotificationSettings): Selection {
  return {
    receivers: spec?.receivers ?? settings.defaults.receivers,
    events: spec?.events ?? settings.defaults.events,
  };
}
