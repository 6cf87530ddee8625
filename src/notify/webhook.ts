// The generic webhook's request body: canaryd.dev/v1 JSON, or the same as the data of a
// structured-mode CloudEvent.
import type { Notification } from './events.ts';
import { CLOUDEVENT_TYPE_PREFIX, type CloudEventBody, SCHEMA_VERSION, type WebhookBody } from './schema.ts';

export const DATA_SCHEMA_URI = 'https://canaryd.dev/schemas/notification/v1';

export function webhookBody(notification: Notification): WebhookBody {
  return { schemaVersion: SCHEMA_VERSION, ...structuredClone(notification) };
}

export function cloudEvent(notification: Notification): CloudEventBody {
  const { namespace, name } = notification.policy;
  return {
    specversion: '1.0',
    id: notification.id,
    source: `/apis/canaryd.dev/v1alpha1/namespaces/${namespace}/canarypolicies/${name}`,
    type: `${CLOUDEVENT_TYPE_PREFIX}${notification.type}`,
    subject: notification.release === undefined ? name : `${name}/revision/${notification.release.revision}`,
    time: notification.time,
    datacontenttype: 'application/json',
    dataschema: DATA_SCHEMA_URI,
    data: webhookBody(notification),
  };
}
