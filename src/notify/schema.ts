// The generic webhook's body, version canaryd.dev/v1: the documented contract (docs/notifications.md,
// docs/notification-v1.schema.json is generated from this). Additive changes keep the version;
// anything else gets a new schemaVersion, and the old one is kept while receivers move.
import { z } from 'zod';
import { NOTIFICATION_TYPES } from './events.ts';

export const SCHEMA_VERSION = 'canaryd.dev/v1';
/** CloudEvents `type` prefix: dev.canaryd.release.<notification type>. */
export const CLOUDEVENT_TYPE_PREFIX = 'dev.canaryd.release.';

const thresholds = z.strictObject({
  min: z.number().optional(),
  max: z.number().optional(),
  maxAbove: z.number().optional(),
  maxBelow: z.number().optional(),
  maxRatio: z.number().optional(),
});

export const checkResultSchema = z.strictObject({
  check: z.string().meta({ description: 'The check name from spec.analysis.checks.' }),
  verdict: z.enum(['fail', 'inconclusive']),
  value: z.number().nullable().meta({ description: 'The canary value; null when there was no data.' }),
  stableValue: z.number().nullable().optional(),
  thresholds: thresholds.meta({ description: "The check's thresholds as the policy states them." }),
  reason: z.string(),
});

export const webhookBodySchema = z
  .strictObject({
    schemaVersion: z.literal(SCHEMA_VERSION),
    id: z
      .string()
      .meta({ description: 'Unique per transition; equal to the Idempotency-Key header. Redeliveries repeat it.' }),
    type: z.enum(NOTIFICATION_TYPES).meta({
      description: 'The event. Types may be added within v1: ignore (and acknowledge) a type you do not know.',
    }),
    time: z.iso.datetime({ offset: true }).meta({ description: 'When canaryd decided the transition.' }),
    policy: z.strictObject({ namespace: z.string(), name: z.string() }),
    deployment: z.string(),
    release: z
      .strictObject({
        revision: z.number().int(),
        changeCause: z.string(),
        templateHash: z.string(),
        phase: z.string(),
        step: z.number().int().min(1).optional(),
        steps: z.number().int().min(0),
        weight: z.number().min(0).max(100),
      })
      .optional()
      .meta({ description: 'The release concerned; absent for an operation refused while none runs.' }),
    summary: z.string(),
    details: z.strictObject({
      measuredShare: z.number().min(0).max(100).optional(),
      by: z.string().optional(),
      cause: z.string().optional(),
      reason: z.string().optional(),
      checks: z.array(checkResultSchema).optional(),
      operation: z.string().optional(),
      outcome: z.string().optional(),
      supersededBy: z
        .strictObject({
          revision: z.number().int().optional(),
          templateHash: z.string(),
          changeCause: z.string(),
        })
        .optional()
        .meta({ description: 'superseded: the newer template that replaced the release.' }),
    }),
  })
  .meta({ title: 'canaryd notification (canaryd.dev/v1)' });

export type WebhookBody = z.output<typeof webhookBodySchema>;

/** Structured-mode CloudEvent 1.0 (Content-Type application/cloudevents+json) carrying the body. */
export const cloudEventSchema = z.strictObject({
  specversion: z.literal('1.0'),
  id: z.string(),
  source: z.string(),
  type: z.string().startsWith(CLOUDEVENT_TYPE_PREFIX),
  subject: z.string(),
  time: z.iso.datetime({ offset: true }),
  datacontenttype: z.literal('application/json'),
  dataschema: z.string(),
  data: webhookBodySchema,
});

export type CloudEventBody = z.output<typeof cloudEventSchema>;

/** docs/notification-v1.schema.json: the webhook body as JSON Schema, for receivers in any language. */
export function webhookJsonSchema(): string {
  const schema = z.toJSONSchema(webhookBodySchema, { target: 'draft-2020-12' });
  return `${JSON.stringify({ ...schema, $id: 'https://canaryd.dev/schemas/notification/v1' }, null, 2)}\n`;
}
