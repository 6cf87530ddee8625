// Request bodies of the operation routes, validated by zod; the OpenAPI document is generated
// from the same schemas.
import { z } from 'zod';
import type { OperationRequest } from './operations.ts';

const revision = z.number().int().min(1).meta({ description: 'A revision from `kubectl canary history`.' });

export const emptyBody = z.strictObject({});

export const promoteBody = z.strictObject({
  full: z
    .boolean()
    .optional()
    .meta({ description: 'Skip the remaining steps and analysis: promote now. Default: advance one step.' }),
});

export const retryBody = z.strictObject({
  toRevision: revision.optional().meta({ description: 'Default: the last rolled-back revision.' }),
});

export const undoBody = z.strictObject({
  toRevision: revision,
  skipCanary: z
    .boolean()
    .optional()
    .meta({ description: 'Roll the Deployment straight to that revision, without canary steps.' }),
});

export const OPERATION_ROUTES = {
  pause: { body: emptyBody, summary: 'Hold the release at its current step.' },
  resume: { body: emptyBody, summary: 'Continue a paused release (also lifts a step pause).' },
  promote: { body: promoteBody, summary: 'Advance to the next step now, or promote fully with {"full": true}.' },
  abort: { body: emptyBody, summary: 'Roll the running release back.' },
  retry: { body: retryBody, summary: 'Release a rolled-back revision again.' },
  undo: { body: undoBody, summary: 'Release an earlier revision from the history.' },
  approve: {
    body: emptyBody,
    summary: 'Open the approval gate of the step that waits for it (needs the verb approve on canarypolicies).',
  },
} as const;

export type OperationRoute = keyof typeof OPERATION_ROUTES;

/** The operation a validated body asks for. */
export function operationRequestOf(route: OperationRoute, body: unknown): OperationRequest {
  switch (route) {
    case 'promote':
      return { op: (body as z.output<typeof promoteBody>).full ? 'promoteFull' : 'promote' };
    case 'retry': {
      const { toRevision } = body as z.output<typeof retryBody>;
      return toRevision === undefined ? { op: 'retry' } : { op: 'retry', toRevision };
    }
    case 'undo': {
      const { toRevision, skipCanary } = body as z.output<typeof undoBody>;
      return skipCanary === undefined ? { op: 'undo', toRevision } : { op: 'undo', toRevision, skipCanary };
    }
    default:
      return { op: route };
  }
}

/** Kubernetes object names: what a namespace or CanaryPolicy name may be. */
export const objectName = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, { message: 'expected a Kubernetes object name' });
