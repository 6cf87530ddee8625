// A reconcile that failed says so where people look: a `Reconciled=False` condition with the
// reason (a KubeError code, or Error) and the message on the policy's status, not only in the log.
// The next successful reconcile turns it back to True (reconciler.ts, reconciledCondition).
import { isKubeError, type KubeApi, type StatusWriter } from '../kube/api.ts';
import { API_VERSION, KIND } from '../policy/schema.ts';
import type { PolicyObject } from './deps.ts';
import { type Condition, readStatus, setCondition, storedStatus } from './status.ts';

export const RECONCILED = 'Reconciled';

/** The reason a person can filter on: the KubeError code, else the error's name. */
export function errorReason(error: unknown): string {
  if (isKubeError(error)) return error.code;
  return error instanceof Error && error.name !== 'Error' ? error.name : 'ReconcileError';
}

/** Conditions with Reconciled=True, if Reconciled was False (an error cleared); else as they are. */
export function reconciledCondition(conditions: Condition[], now: Date): Condition[] {
  const reconciled = conditions.find((c) => c.type === RECONCILED);
  if (reconciled === undefined || reconciled.status === 'True') return conditions;
  return setCondition(conditions, { type: RECONCILED, status: 'True', reason: 'Reconciled', message: '' }, now);
}

export async function reportReconcileError(
  kube: KubeApi & StatusWriter,
  namespace: string,
  name: string,
  error: unknown,
  retryInMs: number,
  now: Date,
): Promise<void> {
  const object = await kube.get<PolicyObject>({ apiVersion: API_VERSION, kind: KIND, namespace, name });
  if (object === null) return;
  const status = readStatus(object.status, now);
  const message = `${error instanceof Error ? error.message : String(error)} (retrying in ${Math.round(retryInMs / 1000)} s)`;
  const reason = errorReason(error);
  const previous = status.conditions.find((c) => c.type === RECONCILED);
  if (previous?.status === 'False' && previous.reason === reason && previous.message === message) return;
  const conditions = setCondition(status.conditions, { type: RECONCILED, status: 'False', reason, message }, now);
  await kube.replaceStatus<PolicyObject>({
    ...object,
    status: storedStatus({ ...status, conditions, updatedAt: now.toISOString() }),
  });
}
