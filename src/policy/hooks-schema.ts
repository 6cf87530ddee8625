// spec.hooks: HTTP endpoints other systems answer to let a release go on ("yes"), hold it or roll
// it back ("no"). Kept apart from schema.ts, which imports it; docs/hooks.md explains each hook.
import { z } from 'zod';
import { duration, secretKeyRef } from './schema-parts.ts';

const endpoint = {
  url: z
    .url({ protocol: /^https?$/ })
    .optional()
    .meta({ description: 'Where canaryd POSTs the request (http or https). Exactly one of url and urlSecretRef.' }),
  urlSecretRef: secretKeyRef.optional().meta({
    description: 'A Secret (in the policy namespace) holding the URL (key default "url"), for URLs that carry a token.',
  }),
  timeout: duration.default('10s').meta({ description: 'Deadline of one HTTP attempt.' }),
  retries: z.number().int().min(0).max(5).default(1).meta({
    description: 'Further attempts after a timeout, a connection error or a 5xx, before the answer is inconclusive.',
  }),
};

export const gateHookSpec = z
  .strictObject({
    ...endpoint,
    onNo: z.enum(['block', 'rollback']).default('block').meta({
      description:
        'What an answer {"approved": false} does: block holds the release and asks again every `interval`; rollback rolls it back at once.',
    }),
    interval: duration.default('15s').meta({
      description:
        'How long after a "no" (block) or an inconclusive answer the hook is asked again. Inconclusive answers in a row count against spec.analysis.inconclusiveLimit, then spec.analysis.onInconclusive applies.',
    }),
  })
  .meta({ description: 'A hook whose answer gates the release.' });

export const noticeHookSpec = z
  .strictObject(endpoint)
  .meta({ description: 'A hook told what happened; its answer is recorded in the status but gates nothing.' });

export const hooksSpec = z
  .strictObject({
    preRollout: gateHookSpec.optional().meta({ description: 'Asked before the canary receives any traffic.' }),
    confirmStep: gateHookSpec
      .optional()
      .meta({ description: "Asked before each step's weight is set (every weight increase, the first included)." }),
    confirmPromotion: gateHookSpec
      .optional()
      .meta({ description: 'Asked after the last step passed, before the stable Deployment rolls.' }),
    during: gateHookSpec.optional().meta({
      description:
        'Asked every spec.analysis.interval while a step holds (smoke or load tests); a step advances only after a "yes" of this step, like a passing check.',
    }),
    postRollout: noticeHookSpec.optional().meta({ description: 'Told once a release was promoted.' }),
    onRollback: noticeHookSpec.optional().meta({ description: 'Told when a release starts rolling back.' }),
  })
  .meta({ description: 'Webhooks that gate the release (docs/hooks.md).' });

export type GateHookSpec = z.output<typeof gateHookSpec>;
export type NoticeHookSpec = z.output<typeof noticeHookSpec>;
export type HooksSpec = z.output<typeof hooksSpec>;
export type HookName = keyof HooksSpec;
export const GATE_HOOKS = ['preRollout', 'confirmStep', 'confirmPromotion', 'during'] as const;
export const HOOK_NAMES: readonly HookName[] = [...GATE_HOOKS, 'postRollout', 'onRollback'];
