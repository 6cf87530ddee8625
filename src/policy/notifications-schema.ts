// spec.notifications: which receivers hear of this policy's releases and which events they get.
// Kept apart from schema.ts, which imports it; docs/notifications.md explains receivers.
import { z } from 'zod';
import { NOTIFICATION_TYPES } from '../notify/events.ts';
import { dnsName } from './schema-parts.ts';

export const notificationsSpec = z
  .strictObject({
    receivers: z.array(dnsName).optional().meta({
      description:
        "Receivers (by name) defined in the controller's notification settings. Default: the settings' defaults.receivers; [] turns notifications off for this policy.",
    }),
    events: z.array(z.enum(NOTIFICATION_TYPES)).optional().meta({
      description:
        "Which release events are sent. Default: the settings' defaults.events (every event unless changed).",
    }),
  })
  .meta({
    description:
      'Who is told about this release (Slack, Teams, webhooks). Receivers and their URLs and secrets live in the controller settings and Kubernetes Secrets, never here. See docs/notifications.md.',
  });

export type NotificationsSpec = z.output<typeof notificationsSpec>;
