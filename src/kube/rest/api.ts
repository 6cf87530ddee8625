// KubeApi over plain HTTP (rest/transport.ts): the controller's client. Same answers and the
// same KubeError codes as ClientKubeApi (kube/client.ts, which kubectl-canary keeps for its
// users' kubeconfigs), without loading @kubernetes/client-node.
import { type KubeApi, KubeError, type StatusWriter } from '../api.ts';
import type { KubeObject, ObjectRef } from '../objects.ts';
import { describeRef, statusError } from '../status-error.ts';
import { Resources } from './resources.ts';
import { HttpStatusError, type RestTransport } from './transport.ts';

/** Any failure → KubeError: the apiserver's Status reason, or Unavailable when it did not answer. */
export function toKubeError(error: unknown, action: string, ref?: ObjectRef): KubeError {
  if (error instanceof KubeError) return error;
  if (error instanceof HttpStatusError) return statusError(error.status, error.body, action, ref, error);
  const message = error instanceof Error ? error.message : String(error);
  return new KubeError('Unavailable', `${action} ${describeRef(ref)}: ${message}`, { ref, cause: error });
}

const refOf = (object: KubeObject): ObjectRef => ({
  apiVersion: object.apiVersion,
  kind: object.kind,
  namespace: object.metadata.namespace,
  name: object.metadata.name,
});

export class RestKubeApi implements KubeApi, StatusWriter {
  readonly #http: RestTransport;
  readonly resources: Resources;
  readonly #fieldManager: string;

  constructor(transport: RestTransport, fieldManager = 'canaryd') {
    this.#http = transport;
    this.resources = new Resources(transport);
    this.#fieldManager = fieldManager;
  }

  async #call<T>(action: string, ref: ObjectRef | undefined, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw toKubeError(error, action, ref);
    }
  }

  async get<T extends KubeObject>(ref: ObjectRef): Promise<T | null> {
    try {
      return await this.#call('read', ref, async () =>
        this.#http.request<T>('GET', await this.resources.objectPath(ref)),
      );
    } catch (error) {
      if ((error as KubeError).code === 'NotFound') return null;
      throw error;
    }
  }

  list<T extends KubeObject>(
    apiVersion: string,
    kind: string,
    namespace: string,
    labelSelector?: string,
  ): Promise<T[]> {
    const ref = { apiVersion, kind, namespace, name: labelSelector ?? '*' };
    return this.#call('list', ref, async () => {
      const path = await this.resources.collectionPath(apiVersion, kind, namespace);
      const list = await this.#http.request<{ items?: T[] }>('GET', path, { query: { labelSelector } });
      // List items carry no apiVersion/kind; give them back so callers can build refs from them.
      return (list.items ?? []).map((item) => ({ ...item, apiVersion, kind }));
    });
  }

  create<T extends KubeObject>(object: T): Promise<T> {
    return this.#call('create', refOf(object), async () => {
      const path = await this.resources.collectionPath(object.apiVersion, object.kind, object.metadata.namespace);
      return this.#http.request<T>('POST', path, { body: object, query: { fieldManager: this.#fieldManager } });
    });
  }

  mergePatch<T extends KubeObject>(ref: ObjectRef, patch: object): Promise<T> {
    return this.#call('patch', ref, async () =>
      this.#http.request<T>('PATCH', await this.resources.objectPath(ref), {
        body: patch,
        contentType: 'application/merge-patch+json',
        query: { fieldManager: this.#fieldManager },
      }),
    );
  }

  apply<T extends KubeObject>(object: T): Promise<T> {
    return this.#call('apply', refOf(object), async () =>
      // JSON is YAML: application/apply-patch+yaml takes the object as it is.
      this.#http.request<T>('PATCH', await this.resources.objectPath(refOf(object)), {
        body: object,
        contentType: 'application/apply-patch+yaml',
        query: { fieldManager: this.#fieldManager, force: true },
      }),
    );
  }

  replace<T extends KubeObject>(object: T): Promise<T> {
    return this.#call('update', refOf(object), async () =>
      this.#http.request<T>('PUT', await this.resources.objectPath(refOf(object)), {
        body: object,
        query: { fieldManager: this.#fieldManager },
      }),
    );
  }

  async delete(ref: ObjectRef): Promise<void> {
    try {
      await this.#call('delete', ref, async () =>
        this.#http.request('DELETE', await this.resources.objectPath(ref), {
          query: { propagationPolicy: 'Background' },
        }),
      );
    } catch (error) {
      if ((error as KubeError).code !== 'NotFound') throw error;
    }
  }

  /** Custom resources only (CanaryPolicy): PUT .../status with the object's resourceVersion. */
  async replaceStatus<T extends KubeObject>(object: T): Promise<T> {
    const ref = refOf(object);
    if (!object.apiVersion.includes('/') || !object.metadata.namespace) {
      throw new KubeError(
        'Invalid',
        `replaceStatus needs a namespaced custom resource, got ${object.apiVersion} ${object.kind}`,
      );
    }
    return this.#call('update status of', ref, async () =>
      this.#http.request<T>('PUT', await this.resources.objectPath(ref, 'status'), {
        body: object,
        query: { fieldManager: this.#fieldManager },
      }),
    );
  }
}
