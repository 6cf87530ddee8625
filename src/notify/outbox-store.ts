// The outbox in a ConfigMap of canaryd's own namespace (labelled as canaryd's), one key holding
// the JSON list. Replaced with the resourceVersion canaryd last read or wrote, so a canaryd that
// lost its lease cannot overwrite what the new leader wrote: it is told (OutboxTaken) and stops.
import { isKubeError, type KubeApi } from '../kube/api.ts';
import type { KubeObject } from '../kube/objects.ts';
import { type OutboxStore, OutboxTaken } from './outbox.ts';

export const OUTBOX_KEY = 'outbox.json';

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

export class ConfigMapOutboxStore implements OutboxStore {
  readonly #kube: KubeApi;
  readonly #namespace: string;
  readonly #name: string;
  /** The version canaryd last read or wrote; undefined: the ConfigMap did not exist. */
  #resourceVersion: string | undefined;
  #loaded = false;

  constructor(kube: KubeApi, namespace: string, name: string) {
    this.#kube = kube;
    this.#namespace = namespace;
    this.#name = name;
  }

  get where(): string {
    return `ConfigMap ${this.#namespace}/${this.#name}`;
  }

  async load(): Promise<string | undefined> {
    const found = await this.#kube.get<ConfigMap>(this.#ref());
    this.#loaded = true;
    this.#resourceVersion = found?.metadata.resourceVersion;
    return found?.data?.[OUTBOX_KEY];
  }

  async save(text: string): Promise<void> {
    if (!this.#loaded) await this.load();
    const object: ConfigMap = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: this.#name,
        namespace: this.#namespace,
        labels: { 'app.kubernetes.io/name': 'canaryd', 'app.kubernetes.io/component': 'notification-outbox' },
        annotations: {
          'canaryd.dev/description':
            'Notifications canaryd still owes its receivers (docs/notifications.md#delivery); written by canaryd only.',
        },
        ...(this.#resourceVersion === undefined ? {} : { resourceVersion: this.#resourceVersion }),
      },
      data: { [OUTBOX_KEY]: text },
    };
    try {
      const written =
        this.#resourceVersion === undefined ? await this.#kube.create(object) : await this.#kube.replace(object);
      this.#resourceVersion = written.metadata.resourceVersion;
    } catch (error) {
      if (isKubeError(error, 'Conflict') || isKubeError(error, 'AlreadyExists')) {
        throw new OutboxTaken(`${this.where} was written by someone else since canaryd read it`, { cause: error });
      }
      if (isKubeError(error, 'NotFound')) this.#resourceVersion = undefined; // deleted: created on the next write
      throw error;
    }
  }

  #ref() {
    return { apiVersion: 'v1' as const, kind: 'ConfigMap' as const, namespace: this.#namespace, name: this.#name };
  }
}
