// The one reader of Kubernetes Secrets: notification webhook URLs and signing keys, hook
// credentials, Prometheus credentials of analysis and of the dashboard. Values are read when
// used (a rotated Secret takes effect without a restart) and decoded the same way everywhere.
//
// `kube` is whatever reader the caller has: the controller passes the watch-cache reader
// (kube/cached-api.ts), which answers from the cache when it holds Secrets and asks the API
// server otherwise (canaryd does not watch Secrets today: each such read is counted as an
// `uncached` live read). Values read from the API server are kept briefly (ttlMs) so a burst of
// notifications or analysis rounds does not read the same Secret each time; values the watch
// cache holds are current already and are not kept.
import type { KubeApi } from './api.ts';
import type { KubeObject } from './objects.ts';

/** A key of a Secret in a namespace. */
export interface SecretKeyRef {
  namespace: string;
  name: string;
  key: string;
}

export interface SecretSource {
  /** The key's value; throws an Error naming the Secret and key when either is missing. */
  value(ref: SecretKeyRef): Promise<string>;
}

interface Secret extends KubeObject {
  data?: Record<string, string>;
}

export interface KubeSecretSourceOptions {
  /** How long a value read from the API server is kept (default 30 s). */
  ttlMs?: number;
  now?: () => number;
  /** Does `kube` answer Secrets from a watch cache that is filled? Then nothing is kept here. */
  watched?: () => boolean;
}

export class KubeSecretSource implements SecretSource {
  readonly #kube: KubeApi;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #watched: () => boolean;
  readonly #kept = new Map<string, { value: string; at: number }>();

  constructor(kube: KubeApi, options: KubeSecretSourceOptions = {}) {
    this.#kube = kube;
    this.#ttlMs = options.ttlMs ?? 30_000;
    this.#now = options.now ?? Date.now;
    this.#watched = options.watched ?? (() => false);
  }

  async value(ref: SecretKeyRef): Promise<string> {
    const watched = this.#watched();
    const key = `${ref.namespace}/${ref.name}/${ref.key}`;
    const kept = watched ? undefined : this.#kept.get(key);
    if (kept !== undefined && this.#now() - kept.at < this.#ttlMs) return kept.value;
    const secret = await this.#kube.get<Secret>({
      apiVersion: 'v1',
      kind: 'Secret',
      namespace: ref.namespace,
      name: ref.name,
    });
    if (secret === null) throw new Error(`Secret ${ref.namespace}/${ref.name} does not exist`);
    const encoded = secret.data?.[ref.key];
    if (encoded === undefined) throw new Error(`Secret ${ref.namespace}/${ref.name} has no key ${ref.key}`);
    // A trailing newline (echo … | kubectl create secret --from-file) is never part of a URL, key or token.
    const value = Buffer.from(encoded, 'base64').toString('utf8').trim();
    if (watched) this.#kept.delete(key);
    else this.#kept.set(key, { value, at: this.#now() });
    return value;
  }
}
