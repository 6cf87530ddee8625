// Cluster-wide notification settings: the receivers (Slack, Teams, generic webhooks) and the
// defaults policies inherit. A YAML file named by --notifications (CANARYD_NOTIFICATIONS);
// typically a mounted ConfigMap. URLs and signing keys are never written here or in a policy:
// each comes from a Kubernetes Secret (secretKeyRef), read when a notification is sent.
// Errors are reported like a compiler's: file:line:col: field: message.
import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { NOTIFICATION_TYPES } from '../notify/events.ts';
import { formatFieldPath, formatPolicyError, type PolicyError } from '../policy/errors.ts';
import { locatorFor } from '../policy/positions.ts';
import { duration } from '../policy/schema.ts';

const objectName = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, {
    message: 'expected a Kubernetes object name (lowercase letters, digits, "-" and ".")',
  });

export const notificationEvent = z.enum(NOTIFICATION_TYPES);

/** A key of a Secret; the namespace is required (the controller's own, usually canaryd-system). */
export const secretValueRef = z.strictObject({
  secretKeyRef: z.strictObject({
    namespace: objectName,
    name: objectName,
    key: z.string().min(1),
  }),
});

export const receiverSettings = z
  .strictObject({
    name: objectName.meta({ description: 'What policies call this receiver in spec.notifications.receivers.' }),
    type: z.enum(['slack', 'teams', 'webhook']),
    url: secretValueRef.meta({ description: 'The Secret key holding the webhook URL (it contains a credential).' }),
    signingSecret: secretValueRef
      .optional()
      .meta({ description: 'webhook: the Secret key holding the HMAC-SHA256 key for X-Canaryd-Signature.' }),
    cloudEvents: z
      .boolean()
      .default(false)
      .meta({ description: 'webhook: send a structured-mode CloudEvent (application/cloudevents+json).' }),
    timeout: duration.default('5s').meta({ description: 'Deadline of one delivery attempt.' }),
    deadline: duration.default('10m').meta({ description: 'Give a notification up after retrying this long.' }),
    initialBackoff: duration
      .default('1s')
      .meta({ description: 'Wait before the first retry; doubled after each failure.' }),
    maxBackoff: duration.default('1m').meta({ description: 'The longest wait between two attempts.' }),
    queueSize: z.number().int().min(1).max(10_000).default(100).meta({
      description: 'Notifications waiting for this receiver; when full the oldest is dropped (and counted).',
    }),
    failuresBeforeWarning: z.number().int().min(1).default(3).meta({
      description: 'Failed attempts in a row before a Warning Event (NotificationsFailing) is recorded.',
    }),
  })
  .superRefine((receiver, ctx) => {
    if (receiver.type === 'webhook') return;
    for (const field of ['signingSecret', 'cloudEvents'] as const) {
      if (field === 'cloudEvents' ? receiver.cloudEvents : receiver.signingSecret !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [field],
          message: `${field} applies to type webhook only (this receiver is ${receiver.type})`,
        });
      }
    }
  });

export const notificationSettings = z
  .strictObject({
    receivers: z.array(receiverSettings).default([]),
    defaults: z
      .strictObject({
        receivers: z.array(objectName).default([]).meta({
          description: 'Receivers of a policy without spec.notifications.receivers.',
        }),
        events: z
          .array(notificationEvent)
          .default([...NOTIFICATION_TYPES])
          .meta({
            description: 'Events sent for a policy without spec.notifications.events.',
          }),
      })
      .default({ receivers: [], events: [...NOTIFICATION_TYPES] }),
  })
  .superRefine((settings, ctx) => {
    const seen = new Map<string, number>();
    settings.receivers.forEach((receiver, index) => {
      const first = seen.get(receiver.name);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['receivers', index, 'name'],
          message: `receiver "${receiver.name}" is defined twice (first at receivers[${first}])`,
        });
      }
      seen.set(receiver.name, index);
    });
    settings.defaults.receivers.forEach((name, index) => {
      if (!seen.has(name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['defaults', 'receivers', index],
          message: `unknown receiver "${name}" (defined: ${[...seen.keys()].join(', ') || 'none'})`,
        });
      }
    });
  });

export type NotificationSettings = z.output<typeof notificationSettings>;
export type ReceiverSettings = z.output<typeof receiverSettings>;
export type SecretValueRef = z.output<typeof secretValueRef>;

export const NO_NOTIFICATIONS: NotificationSettings = { receivers: [], defaults: { receivers: [], events: [] } };

export class NotificationSettingsError extends Error {
  override name = 'NotificationSettingsError';
  readonly errors: PolicyError[];
  constructor(errors: PolicyError[]) {
    super(`invalid notification settings:\n${errors.map((e) => `  ${formatPolicyError(e)}`).join('\n')}`);
    this.errors = errors;
  }
}

/** Parses the settings file's text; throws NotificationSettingsError naming file, line and field. */
export function parseNotificationSettings(text: string, source: string): NotificationSettings {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new NotificationSettingsError(
      document.errors.map((error) => {
        const position = error.linePos?.[0];
        return {
          source,
          ...(position === undefined ? {} : { line: position.line, column: position.col }),
          path: '',
          message: error.message.split('\n')[0] ?? error.message,
        };
      }),
    );
  }
  const locate = locatorFor(document, lineCounter);
  const parsed = notificationSettings.safeParse(document.toJS() ?? {});
  if (parsed.success) return parsed.data;
  throw new NotificationSettingsError(
    parsed.error.issues.map((issue) => {
      const path = issue.path.filter((segment): segment is string | number => typeof segment !== 'symbol');
      const unknownKeys = issue.code === 'unrecognized_keys' ? issue.keys : [];
      const keyPath = unknownKeys.length > 0 ? [...path, unknownKeys[0]!] : path;
      const position = locate(keyPath, unknownKeys.length > 0 ? 'key' : 'value');
      return {
        source,
        ...(position === undefined ? {} : { line: position.line, column: position.column }),
        path: formatFieldPath(keyPath),
        message: issue.message,
      };
    }),
  );
}

export async function loadNotificationSettings(file: string | undefined): Promise<NotificationSettings> {
  if (file === undefined) return NO_NOTIFICATIONS;
  return parseNotificationSettings(await readFile(file, 'utf8'), file);
}
