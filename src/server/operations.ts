// How a manual operation reaches the controller, shared by the HTTP API and `kubectl canary`:
// a JSON merge patch of the CanaryPolicy annotations canaryd.dev/operation (the JSON of a
// ManualOperation without `by`) and canaryd.dev/operation-by (who asks; see controller/actor.ts
// for how canaryd knows that is true). The controller applies each id once and acknowledges it in the status
// (release.lastOperationId / recentOperationIds) and records the result in the release's history.
import { randomUUID } from 'node:crypto';
import { OPERATION_ANNOTATION, OPERATION_BY_ANNOTATION } from '../controller/names.ts';
import type { ManualOperation, OperationKind, OperationRecord } from '../engine/types.ts';
import { isKubeError, type KubeApi } from '../kube/api.ts';
import type { KubeObject, ObjectRef } from '../kube/objects.ts';
import { API_VERSION, KIND } from '../policy/schema.ts';
import type { OperationRequester } from './ports.ts';

export { OPERATION_ANNOTATION, OPERATION_BY_ANNOTATION };

/**
 * An unacknowledged operation younger than this blocks a new one (it would overwrite it unseen);
 * an older one is taken as lost (e.g. the policy was invalid) and may be replaced.
 */
export const PENDING_OPERATION_GRACE_MS = 60_000;

export interface OperationRequest {
  op: OperationKind;
  toRevision?: number;
  skipCanary?: boolean;
}

export const policyRef = (namespace: string, name: string): ObjectRef => ({
  apiVersion: API_VERSION,
  kind: KIND,
  namespace,
  name,
});

export function newOperation(
  request: OperationRequest,
  by: string,
  now: Date,
  id: string = randomUUID(),
): ManualOperation {
  return {
    id,
    op: request.op,
    ...(request.toRevision === undefined ? {} : { toRevision: request.toRevision }),
    ...(request.skipCanary === undefined ? {} : { skipCanary: request.skipCanary }),
    by,
    at: now.toISOString(),
  };
}

/**
 * The merge patch that hands `operation` to the controller. With `resourceVersion` the API
 * server applies it only to that version of the object (409 Conflict otherwise).
 */
export function operationPatch(operation: ManualOperation, resourceVersion?: string): object {
  const { by, ...rest } = operation;
  return {
    metadata: {
      // `by` in an annotation of its own: the admission policy compares it with the writer.
      annotations: { [OPERATION_ANNOTATION]: JSON.stringify(rest), [OPERATION_BY_ANNOTATION]: by },
      ...(resourceVersion === undefined ? {} : { resourceVersion }),
    },
  };
}

interface StatusOperations {
  release?: {
    lastOperationId?: string;
    recentOperationIds?: string[];
    recentOperations?: OperationRecord[];
    current?: { operations?: OperationRecord[] };
    history?: Array<{ operations?: OperationRecord[] }>;
  };
}

const statusOf = (policy: KubeObject): StatusOperations => (policy.status ?? {}) as StatusOperations;

/** Has the controller processed operation `id` (applied or refused)? */
export function isAcknowledged(policy: KubeObject, id: string): boolean {
  const release = statusOf(policy).release;
  return release?.lastOperationId === id || (release?.recentOperationIds ?? []).includes(id);
}

/** What the controller recorded for operation `id` ("applied" or why it refused), if it recorded it. */
export function operationResult(policy: KubeObject, id: string): OperationRecord | undefined {
  const release = statusOf(policy).release;
  const records = [
    ...(release?.recentOperations ?? []),
    ...(release?.current?.operations ?? []),
    ...(release?.history ?? []).flatMap((entry) => entry.operations ?? []),
  ];
  return records.find((record) => record.id === id);
}

/** The operation in the annotation, when the controller has not processed it yet. */
export function pendingOperation(policy: KubeObject): ManualOperation | undefined {
  const raw = policy.metadata.annotations?.[OPERATION_ANNOTATION];
  if (raw === undefined) return undefined;
  let operation: Partial<ManualOperation>;
  try {
    operation = JSON.parse(raw) as Partial<ManualOperation>;
  } catch {
    // Malformed: the controller ignores it, so it blocks nothing.
    return undefined;
  }
  if (typeof operation?.id !== 'string' || typeof operation.at !== 'string') return undefined;
  if (isAcknowledged(policy, operation.id)) return undefined;
  const by = policy.metadata.annotations?.[OPERATION_BY_ANNOTATION] ?? operation.by ?? '';
  return { ...operation, by } as ManualOperation;
}

export type OperationErrorCode = 'release-not-found' | 'operation-pending';

export class OperationError extends Error {
  readonly code: OperationErrorCode;
  constructor(code: OperationErrorCode, message: string) {
    super(message);
    this.name = 'OperationError';
    this.code = code;
  }
}

/**
 * Writes the operation annotation. Refuses while another operation is still unprocessed (it would
 * be overwritten unseen); retries when the object changed between read and write (the controller
 * writes status often).
 */
export async function requestOperation(
  kube: KubeApi,
  namespace: string,
  name: string,
  operation: ManualOperation,
  options: { now?: () => Date; attempts?: number } = {},
): Promise<KubeObject> {
  const now = options.now ?? (() => new Date());
  const ref = policyRef(namespace, name);
  const attempts = options.attempts ?? 3;
  for (let attempt = 1; ; attempt++) {
    const policy = await kube.get<KubeObject>(ref);
    if (policy === null) {
      throw new OperationError('release-not-found', `CanaryPolicy ${namespace}/${name} not found`);
    }
    const pending = pendingOperation(policy);
    if (pending !== undefined && now().getTime() - Date.parse(pending.at) < PENDING_OPERATION_GRACE_MS) {
      throw new OperationError(
        'operation-pending',
        `CanaryPolicy ${namespace}/${name}: operation ${pending.op} (id ${pending.id}) by ${pending.by} at ${pending.at} ` +
          'is not processed yet; retry once canaryd has acknowledged it (is the controller running?)',
      );
    }
    try {
      return await kube.mergePatch<KubeObject>(ref, operationPatch(operation, policy.metadata.resourceVersion));
    } catch (error) {
      if (isKubeError(error, 'NotFound')) {
        throw new OperationError('release-not-found', `CanaryPolicy ${namespace}/${name} not found`);
      }
      if (!isKubeError(error, 'Conflict') || attempt >= attempts) throw error;
    }
  }
}

/** The OperationRequester the server uses: the annotation on the CanaryPolicy, via the API. */
export function kubeOperationRequester(kube: KubeApi, now?: () => Date): OperationRequester {
  return {
    async request(namespace, name, operation) {
      await requestOperation(kube, namespace, name, operation, now === undefined ? {} : { now });
    },
  };
}
