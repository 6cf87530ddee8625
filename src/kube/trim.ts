// What the watch caches keep of an object: only what canaryd reads. Pure, and in place (the
// informer's own store holds the same object, so trimming it there is what saves the memory).
//
// - metadata.managedFields: dropped, except on Deployments, where drift reporting names the last
//   writer of spec.template and spec.replicas (kube/managed-fields.ts): each entry keeps its
//   manager, operation, time and subresource, and of its fieldsV1 only those two paths.
// - kubectl's last-applied-configuration annotation: a second copy of the object; dropped.
// - Pods: only metadata (name, labels, uid, owners): replica-ratio counts pods by label.
// - Deployments and ReplicaSets: of their status only the counts canaryd reads (READ_STATUS); their
//   conditions (with messages) change through every roll and decide nothing here.
import type { KubeObject } from './objects.ts';

export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** The fieldsV1 paths drift reporting asks about (observe.ts writersOf). */
const DRIFT_PATHS = ['f:template', 'f:replicas'] as const;

interface ManagedEntry {
  manager?: unknown;
  operation?: unknown;
  time?: unknown;
  subresource?: unknown;
  fieldsV1?: unknown;
}

function reduceManagedFields(entries: unknown): ManagedEntry[] | undefined {
  if (!Array.isArray(entries)) return undefined;
  const kept: ManagedEntry[] = [];
  for (const entry of entries as ManagedEntry[]) {
    const spec = (entry?.fieldsV1 as Record<string, unknown> | undefined)?.['f:spec'] as
      | Record<string, unknown>
      | undefined;
    if (spec === undefined || spec === null || typeof spec !== 'object') continue;
    const owned = Object.fromEntries(DRIFT_PATHS.filter((path) => path in spec).map((path) => [path, {}]));
    if (Object.keys(owned).length === 0) continue;
    kept.push({
      manager: entry.manager,
      operation: entry.operation,
      ...(entry.time !== undefined ? { time: entry.time } : {}),
      ...(entry.subresource !== undefined ? { subresource: entry.subresource } : {}),
      fieldsV1: { 'f:spec': owned },
    });
  }
  return kept.length > 0 ? kept : undefined;
}

function keepMetadataOnly(object: KubeObject): void {
  for (const key of Object.keys(object))
    if (key !== 'apiVersion' && key !== 'kind' && key !== 'metadata') delete object[key];
  const { name, namespace, uid, resourceVersion, labels, ownerReferences, deletionTimestamp } = object.metadata;
  const kept = { namespace, uid, resourceVersion, labels, ownerReferences, deletionTimestamp };
  object.metadata = { name, ...Object.fromEntries(Object.entries(kept).filter(([, value]) => value !== undefined)) };
}

function keepReadStatus(object: KubeObject, fields: readonly string[]): void {
  const status = object.status as Record<string, unknown> | undefined | null;
  if (status === undefined || status === null || typeof status !== 'object') return;
  object.status = Object.fromEntries(fields.filter((field) => field in status).map((field) => [field, status[field]]));
}

/** Trims `object` in place to what the caches keep, stamps its apiVersion and kind, and returns it. */
export function trimForCache<T extends KubeObject>(object: T, apiVersion: string, kind: string): T {
  object.apiVersion = apiVersion;
  object.kind = kind;
  const metadata = object.metadata;
  if (kind === 'Deployment') {
    const reduced = reduceManagedFields(metadata.managedFields);
    if (reduced === undefined) delete metadata.managedFields;
    else metadata.managedFields = reduced;
  } else {
    delete metadata.managedFields;
  }
  if (metadata.annotations?.[LAST_APPLIED] !== undefined) {
    delete metadata.annotations[LAST_APPLIED];
    if (Object.keys(metadata.annotations).length === 0) delete metadata.annotations;
  }
  if (kind === 'Pod') keepMetadataOnly(object);
  if (kind === 'Deployment' || kind === 'ReplicaSet') keepReadStatus(object, READ_STATUS[kind] ?? []);
  return object;
}

/**
 * The status fields canaryd reads, by kind (controller/observe.ts, traffic/replica-ratio-scale.ts,
 * traffic/canary-template.ts, traffic/selector.ts); a kind not named here is compared whole.
 * Conditions' timestamps and the ready/available counts of ReplicaSets change all the time
 * during a roll, and none of it decides anything.
 */
const READ_STATUS: Record<string, readonly string[]> = {
  Deployment: ['observedGeneration', 'replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas'],
  ReplicaSet: ['replicas'],
  // Only canaryd writes it, and its own writes must not wake it.
  CanaryPolicy: [],
};

/**
 * What canaryd reads of an object, to tell a watch event that changes something from one that
 * does not: everything but the resourceVersion, field ownership and the status fields it never
 * reads (READ_STATUS).
 */
export function readProjection(object: KubeObject): string {
  const { resourceVersion: _rv, managedFields: _mf, ...metadata } = object.metadata;
  const { status, ...rest } = object;
  const fields = READ_STATUS[object.kind];
  const read =
    fields === undefined || status === null || typeof status !== 'object'
      ? status
      : Object.fromEntries(fields.map((field) => [field, (status as Record<string, unknown>)[field]]));
  return JSON.stringify({ ...rest, status: read, metadata });
}
