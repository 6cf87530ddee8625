// Who last wrote a field of an object, read from metadata.managedFields (server-side field
// ownership). Pure: plain JSON in, plain data out. Used to name the field manager in a
// DriftCorrected Event (e.g. `kubectl-rollout` for `kubectl rollout restart`).
//
// A limit Kubernetes sets: a field that is *removed* is owned by nobody afterwards, and the
// request that removed it leaves no entry when it set nothing else. `kubectl rollout resume`
// removes spec.paused (false is omitted), so an unpause has no writer to name.

import { byCodeUnits } from '../order.ts';

export interface FieldWriter {
  /** The field manager, e.g. "kubectl-rollout", "kubectl-scale", "helm", "argocd-controller". */
  manager: string;
  /** "Update" or "Apply". */
  operation: string;
  /** When the manager last changed a field (second precision), if recorded. */
  time?: string;
  /** e.g. "scale" when the write went through the scale subresource. */
  subresource?: string;
}

interface ManagedFieldsEntry {
  manager?: unknown;
  operation?: unknown;
  time?: unknown;
  subresource?: unknown;
  fieldsV1?: unknown;
}

/** Does a fieldsV1 tree own `path` or anything below it? path: field names, e.g. ['spec', 'template']. */
export function ownsPath(fieldsV1: unknown, path: readonly string[]): boolean {
  let node = fieldsV1;
  for (const name of path) {
    if (node === null || typeof node !== 'object') return false;
    node = (node as Record<string, unknown>)[`f:${name}`];
    if (node === undefined) return false;
  }
  return true;
}

/**
 * The manager that most recently wrote `path` (or below it), ignoring `ignore` (canaryd itself,
 * the controllers that only write status). undefined when no remaining entry owns the field.
 */
export function lastWriterOf(
  managedFields: unknown,
  path: readonly string[],
  ignore: readonly string[] = [],
): FieldWriter | undefined {
  if (!Array.isArray(managedFields)) return undefined;
  const owners = (managedFields as ManagedFieldsEntry[]).filter(
    (entry) => typeof entry?.manager === 'string' && !ignore.includes(entry.manager) && ownsPath(entry.fieldsV1, path),
  );
  // Newest first; an entry without a time sorts last (ISO times compare as strings).
  owners.sort((a, b) => byCodeUnits(String(b.time ?? ''), String(a.time ?? '')));
  const newest = owners[0];
  if (newest === undefined) return undefined;
  return {
    manager: newest.manager as string,
    operation: typeof newest.operation === 'string' ? newest.operation : 'Update',
    ...(typeof newest.time === 'string' ? { time: newest.time } : {}),
    ...(typeof newest.subresource === 'string' && newest.subresource !== '' ? { subresource: newest.subresource } : {}),
  };
}
