// The body canaryd POSTs to a hook (docs/hooks.md, "Request"): versioned by apiVersion, so a
// receiver can refuse a version it does not know. The zod schema is the documentation's source
// and what tests check payloads against.
import { z } from 'zod';
import type { HookName, HookReleaseContext } from '../engine/hook-calls.ts';

export const HOOK_REQUEST_API_VERSION = 'canaryd.dev/hooks/v1';

export const hookRequest = z.strictObject({
  apiVersion: z.literal(HOOK_REQUEST_API_VERSION),
  kind: z.literal('HookRequest'),
  hook: z.enum(['preRollout', 'confirmStep', 'confirmPromotion', 'during', 'postRollout', 'onRollback']),
  /** Unique per call; the same id on a retried attempt (use it to make the receiver idempotent). */
  callId: z.string().min(1),
  sentAt: z.iso.datetime(),
  policy: z.strictObject({ namespace: z.string(), name: z.string() }),
  release: z.strictObject({
    revision: z.number().int(),
    templateHash: z.string(),
    changeCause: z.string(),
    phase: z.string(),
    step: z.number().int().min(0),
    steps: z.number().int().min(1),
    weight: z.number(),
    nextWeight: z.number().optional(),
    reason: z.string(),
  }),
});

export type HookRequest = z.output<typeof hookRequest>;

export function buildHookRequest(
  hook: HookName,
  callId: string,
  policy: { namespace: string; name: string },
  release: HookReleaseContext,
  now: Date,
): HookRequest {
  return {
    apiVersion: HOOK_REQUEST_API_VERSION,
    kind: 'HookRequest',
    hook,
    callId,
    sentAt: now.toISOString(),
    policy: { namespace: policy.namespace, name: policy.name },
    release: { ...release },
  };
}
