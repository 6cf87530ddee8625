// The port through which everything outside kube/ talks to the Kubernetes API. kube/client.ts
// implements it with @kubernetes/client-node; unit tests implement it in memory.
import type { KubeObject, ObjectRef } from './objects.ts';

export interface KubeApi {
  /** The object, or null when it does not exist. */
  get<T extends KubeObject>(ref: ObjectRef): Promise<T | null>;
  list<T extends KubeObject>(apiVersion: string, kind: string, namespace: string, labelSelector?: string): Promise<T[]>;
  /**
   * What `pick` takes of each object of a kind in a namespace, without copying the objects (the
   * watch caches answer it in place; `pick` must return values, not parts of the object). Where
   * absent, callers list and pick from the copies.
   */
  project?<R>(
    apiVersion: string,
    kind: string,
    namespace: string,
    pick: (object: Readonly<KubeObject>) => R,
  ): Promise<R[]>;
  /** Fails with KubeError code "AlreadyExists" when it exists. */
  create<T extends KubeObject>(object: T): Promise<T>;
  /** JSON merge patch (RFC 7386); null values delete keys. Fails with "NotFound". */
  mergePatch<T extends KubeObject>(ref: ObjectRef, patch: object): Promise<T>;
  /**
   * Server-side apply as canaryd's field manager, forcing ownership of the fields sent (they are
   * canaryd's from then on; fields it sent before and leaves out now are removed). With
   * metadata.resourceVersion set, fails with code "Conflict" when it is stale. Creates a missing object.
   */
  apply<T extends KubeObject>(object: T): Promise<T>;
  /** Full update; with metadata.resourceVersion set, fails with code "Conflict" when it is stale. */
  replace<T extends KubeObject>(object: T): Promise<T>;
  /**
   * Deletes; an object that is already gone is not an error. `dependentsFirst`: foreground
   * deletion, the object stays (with deletionTimestamp) until what it owns is gone: a canary
   * Deployment until its ReplicaSets and pods are, so "gone" means no canary pod is left.
   */
  delete(ref: ObjectRef, options?: DeleteOptions): Promise<void>;
}

export interface DeleteOptions {
  dependentsFirst?: boolean;
}

export type KubeErrorCode =
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Invalid'
  | 'Forbidden'
  | 'Unauthorized'
  | 'Unavailable'
  | 'Unknown';

export class KubeError extends Error {
  readonly code: KubeErrorCode;
  readonly status: number | undefined;
  readonly ref: ObjectRef | undefined;
  constructor(
    code: KubeErrorCode,
    message: string,
    options: { status?: number; ref?: ObjectRef; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'KubeError';
    this.code = code;
    this.status = options.status;
    this.ref = options.ref;
  }
}

export const isKubeError = (error: unknown, code?: KubeErrorCode): error is KubeError =>
  error instanceof KubeError && (code === undefined || error.code === code);

/** Writes an object's status subresource (full replace; conflicts on a stale resourceVersion). */
export interface StatusWriter {
  replaceStatus<T extends KubeObject>(object: T): Promise<T>;
}
