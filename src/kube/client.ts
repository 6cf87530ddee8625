// KubeApi over @kubernetes/client-node's generic object API. kube/ is the only place that
// imports the client library (through kube/client-node/); everything else sees plain objects
// and KubeError codes.

import { type DeleteOptions, type KubeApi, KubeError, type KubeErrorCode, type StatusWriter } from './api.ts';
import * as k8s from './client-node/index.ts';
import { ObjectApi } from './client-node/object-api.ts';
import type { KubeObject, ObjectRef } from './objects.ts';
import { PooledKubeConfig } from './pooled-config.ts';

export function loadKubeConfig(kubeconfigPath?: string): k8s.KubeConfig {
  const kc = new PooledKubeConfig();
  if (kubeconfigPath) kc.loadFromFile(kubeconfigPath);
  else kc.loadFromDefault();
  return kc;
}

const header = (ref: ObjectRef) => ({
  apiVersion: ref.apiVersion,
  kind: ref.kind,
  metadata: { name: ref.name, ...(ref.namespace ? { namespace: ref.namespace } : {}) },
});

const describe = (ref: ObjectRef | undefined) =>
  ref ? `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}` : 'object';

/** Maps the client's exceptions onto KubeError codes a caller can act on. */
export function toKubeError(error: unknown, action: string, ref?: ObjectRef): KubeError {
  if (error instanceof KubeError) return error;
  if (error instanceof k8s.ApiException) {
    const body = parseBody(error.body);
    const code = codeOf(error.code, body?.reason);
    const detail = body?.message ?? `HTTP ${error.code}`;
    return new KubeError(code, `${action} ${describe(ref)}: ${detail}`, { status: error.code, ref, cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  // Discovery found the API group but not the kind (a CRD of another version installed): the
  // resource does not exist in this cluster, which callers treat like a 404.
  if (message.startsWith('Unrecognized API version and kind')) {
    return new KubeError('NotFound', `${action} ${describe(ref)}: ${message}`, { ref, cause: error });
  }
  return new KubeError('Unavailable', `${action} ${describe(ref)}: ${message}`, { ref, cause: error });
}

function codeOf(status: number, reason: string | undefined): KubeErrorCode {
  if (status === 409) return reason === 'AlreadyExists' ? 'AlreadyExists' : 'Conflict';
  const byStatus: Record<number, KubeErrorCode> = {
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'NotFound',
    422: 'Invalid',
    429: 'Unavailable',
  };
  return byStatus[status] ?? (status >= 500 ? 'Unavailable' : 'Unknown');
}

function parseBody(body: unknown): { reason?: string; message?: string } | undefined {
  if (typeof body === 'string') {
    try {
      return JSON.parse(body) as { reason?: string; message?: string };
    } catch {
      // Not JSON (a proxy's HTML error page, say): there is no reason to extract.
      return undefined;
    }
  }
  return typeof body === 'object' && body !== null ? (body as { reason?: string; message?: string }) : undefined;
}

export class ClientKubeApi implements KubeApi, StatusWriter {
  readonly #objects: ObjectApi;
  readonly #fieldManager: string;

  constructor(kc: k8s.KubeConfig, fieldManager = 'canaryd') {
    this.#objects = ObjectApi.over(kc);
    this.#fieldManager = fieldManager;
  }

  /** Custom resources only (CanaryPolicy): PUT .../status with the object's resourceVersion. */
  async replaceStatus<T extends KubeObject>(object: T): Promise<T> {
    const ref = refOfObject(object);
    if (!object.apiVersion.includes('/') || !object.metadata.namespace) {
      throw new KubeError(
        'Invalid',
        `replaceStatus needs a namespaced custom resource, got ${object.apiVersion} ${object.kind}`,
      );
    }
    try {
      return (await this.#objects.replaceStatus(object as k8s.KubernetesObject, this.#fieldManager)) as unknown as T;
    } catch (error) {
      throw toKubeError(error, 'update status of', ref);
    }
  }

  async get<T extends KubeObject>(ref: ObjectRef): Promise<T | null> {
    try {
      return (await this.#objects.read(header(ref))) as unknown as T;
    } catch (error) {
      const mapped = toKubeError(error, 'read', ref);
      if (mapped.code === 'NotFound') return null;
      throw mapped;
    }
  }

  async list<T extends KubeObject>(
    apiVersion: string,
    kind: string,
    namespace: string,
    labelSelector?: string,
  ): Promise<T[]> {
    try {
      const list = await this.#objects.list(
        apiVersion,
        kind,
        namespace,
        undefined,
        undefined,
        undefined,
        undefined,
        labelSelector,
      );
      // List items carry no apiVersion/kind; give them back so callers can build refs from them.
      return list.items.map((item) => ({ ...item, apiVersion, kind }) as unknown as T);
    } catch (error) {
      throw toKubeError(error, 'list', { apiVersion, kind, namespace, name: labelSelector ?? '*' });
    }
  }

  async create<T extends KubeObject>(object: T): Promise<T> {
    try {
      return (await this.#objects.create(
        object as k8s.KubernetesObject,
        undefined,
        undefined,
        this.#fieldManager,
      )) as unknown as T;
    } catch (error) {
      throw toKubeError(error, 'create', refOfObject(object));
    }
  }

  async mergePatch<T extends KubeObject>(ref: ObjectRef, patch: object): Promise<T> {
    try {
      // The generic client routes by apiVersion/kind/metadata.name; keep the patch's own metadata.
      const own = (patch as { metadata?: object }).metadata ?? {};
      const body = { ...patch, ...header(ref), metadata: { ...own, ...header(ref).metadata } } as k8s.KubernetesObject;
      return (await this.#objects.patch(
        body,
        undefined,
        undefined,
        this.#fieldManager,
        undefined,
        k8s.PatchStrategy.MergePatch,
      )) as unknown as T;
    } catch (error) {
      throw toKubeError(error, 'patch', ref);
    }
  }

  async apply<T extends KubeObject>(object: T): Promise<T> {
    try {
      // JSON is YAML: application/apply-patch+yaml takes the object as it is.
      return (await this.#objects.patch(
        object as k8s.KubernetesObject,
        undefined,
        undefined,
        this.#fieldManager,
        true,
        k8s.PatchStrategy.ServerSideApply,
      )) as unknown as T;
    } catch (error) {
      throw toKubeError(error, 'apply', refOfObject(object));
    }
  }

  async replace<T extends KubeObject>(object: T): Promise<T> {
    try {
      return (await this.#objects.replace(
        object as k8s.KubernetesObject,
        undefined,
        undefined,
        this.#fieldManager,
      )) as unknown as T;
    } catch (error) {
      throw toKubeError(error, 'update', refOfObject(object));
    }
  }

  async delete(ref: ObjectRef, options?: DeleteOptions): Promise<void> {
    const propagation = options?.dependentsFirst ? 'Foreground' : 'Background';
    try {
      await this.#objects.delete(header(ref), undefined, undefined, undefined, undefined, propagation);
    } catch (error) {
      const mapped = toKubeError(error, 'delete', ref);
      if (mapped.code !== 'NotFound') throw mapped;
    }
  }
}

const refOfObject = (object: KubeObject): ObjectRef => ({
  apiVersion: object.apiVersion,
  kind: object.kind,
  namespace: object.metadata.namespace,
  name: object.metadata.name,
});
