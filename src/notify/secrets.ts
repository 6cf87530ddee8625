// Webhook URLs and signing keys, read from Kubernetes Secrets when a notification is sent (so a
// rotated Secret takes effect without a restart), cached briefly so a burst of notifications
// does not read the same Secret for each.
import type { KubeApi } from '../kube/api.ts';
import type { KubeObject } from '../kube/objects.ts';
import type { SecretValueRef } from '../settings/notifications.ts';

export type SecretKeyRef = SecretValueRef['secretKeyRef'];

export interface SecretSource {
  /** The key's value; throws an Error naming the Secret and key when it is missing. */
  value(ref: SecretKeyRef): Promise<string>;
}

interface Secret extends KubeObject {
  data?: Record<string, string>;
}

export class KubeSecretSource implements SecretSource {
  readonly #kube: KubeApi;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #cache = new Map<string, { value: string; at: number }>();

  constructor(kube: KubeApi, options: { ttlMs?: number; now?: () => number } = {}) {
    this.#kube = kube;
    this.#ttlMs = options.ttlMs ?? 30_000;
    this.#now = options.now ?? Date.now;
  }

  async value(ref: SecretKeyRef): Promise<string> {
    const key = `${ref.namespace}/${ref.name}/${ref.key}`;
    const cached = this.#cache.get(key);
    if (cached !== undefined && this.#now() - cached.at < this.#ttlMs) return cached.value;
    const secret = await this.#kube.get<Secret>({
      apiVersion: 'v1',
      kind: 'Secret',
      namespace: ref.namespace,
      name: ref.name,
    });
    if (secret === null) throw new Error(`Secret ${ref.namespace}/${ref.name} not found`);
    const encoded = secret.data?.[ref.key];
    if (encoded === undefined) throw new Error(`Secret ${ref.namespace}/${ref.name} has no key ${ref.key}`);
    // A trailing newline (echo … | kubectl create secret --from-file) is never part of a URL or key.
    const value = Buffer.from(encoded, 'base64').toString('utf8').trim();
    this.#cache.set(key, { value, at: this.#now() });
    return value;
  }
}
