// The reader port over the watch caches: get and list answer from the ObjectStore the informers
// fill; writes go to the API server and their answers go into the store (a reconcile reads what
// it just wrote). The API server is read only
// - for a kind canaryd does not watch (Secrets, Leases, admission policies), or one whose cache
//   has not synced yet (startup, a CRD that is not installed): reason "uncached" / "unsynced";
// - once, for an object a write found changed or already existing (Conflict, AlreadyExists): the
//   cache is behind, and the caller's next read of it recovers from the API server: "recover".
// - to ask whether objects the caches do not hold exist after all (another shard's policies) before
//   acting on their absence: "orphan" (controller/orphan-sweep.ts, rare).
// Every such read is counted (onLiveRead), so a benchmark can show reconciles read from the caches.
// A list the API server answered NotFound (the kind's CRD is not installed: the Gateway API's
// HTTPRoute on a cluster without it) is answered so again, without asking, for ABSENT_REUSE_MS:
// every router choice of a policy asks for HTTPRoutes, and would otherwise list live each time.
import { type DeleteOptions, isKubeError, type KubeApi, type StatusWriter } from './api.ts';
import { type ObjectStore, parseLabelSelector } from './object-store.ts';
import type { KubeObject, ObjectRef } from './objects.ts';
import { trimForCache } from './trim.ts';

export type LiveReadReason = 'uncached' | 'unsynced' | 'recover' | 'selector' | 'orphan';

export interface CachedKubeOptions {
  /** Is the cache of this kind filled (its informer listed)? false for a kind not watched. */
  synced(kind: string): boolean;
  onLiveRead?(verb: 'get' | 'list', kind: string, reason: LiveReadReason): void;
  /**
   * Is this object one the watches select (a CanaryPolicy of this replica's shard)? One that is
   * not, read live or answered by a write (it just moved to another shard), is not this
   * replica's: get answers null and the store forgets it. Default: every object.
   */
  inScope?(object: KubeObject): boolean;
  now?(): number;
}

/** How long a NotFound list (a CRD not installed) is answered again without asking the API server. */
export const ABSENT_REUSE_MS = 30_000;

/** Up to this many objects of a namespace, existing() reads each; more, it lists the namespace. */
const EXISTING_BY_GET = 10;

const keyOf = (ref: ObjectRef) => `${ref.kind}/${ref.namespace ?? ''}/${ref.name}`;
const refOf = (object: KubeObject): ObjectRef => ({
  apiVersion: object.apiVersion,
  kind: object.kind,
  namespace: object.metadata.namespace,
  name: object.metadata.name,
});

export class CachedKubeApi implements KubeApi, StatusWriter {
  readonly #live: KubeApi & StatusWriter;
  readonly #store: ObjectStore;
  readonly #options: CachedKubeOptions;
  /** Objects a write found stale in the cache: their next get asks the API server. */
  readonly #stale = new Set<string>();
  /** Kinds whose list answered NotFound (CRD not installed): the answer, and until when it is reused. */
  readonly #absent = new Map<string, { until: number; error: unknown }>();

  constructor(live: KubeApi & StatusWriter, store: ObjectStore, options: CachedKubeOptions) {
    this.#live = live;
    this.#store = store;
    this.#options = options;
  }

  async get<T extends KubeObject>(ref: ObjectRef): Promise<T | null> {
    const reason = this.#stale.has(keyOf(ref))
      ? 'recover'
      : this.#options.synced(ref.kind)
        ? undefined
        : this.#store.get(ref.kind, ref.namespace ?? '', ref.name) === undefined
          ? 'uncached'
          : 'unsynced';
    if (reason === undefined) {
      const held = this.#store.get(ref.kind, ref.namespace ?? '', ref.name);
      // A copy: callers build patches from what they read and must not edit the cache.
      return held === undefined ? null : (structuredClone(held) as T);
    }
    this.#options.onLiveRead?.('get', ref.kind, reason);
    const object = await this.#live.get<T>(ref);
    this.#stale.delete(keyOf(ref));
    if (object !== null && this.#options.synced(ref.kind)) this.#remember(object, ref);
    return object === null || this.#inScope(object) ? object : null;
  }

  /** Does the object exist, as get would answer, without copying it? */
  async holds(ref: ObjectRef): Promise<boolean> {
    return (await this.peek(ref, () => true)) !== null;
  }

  /** `pick` of the object as get would answer it, without copying it; null when there is no such object. */
  async peek<R>(ref: ObjectRef, pick: (object: Readonly<KubeObject>) => R): Promise<R | null> {
    if (this.#stale.has(keyOf(ref)) || !this.#options.synced(ref.kind)) {
      const object = await this.get(ref);
      return object === null ? null : pick(object);
    }
    const held = this.#store.get(ref.kind, ref.namespace ?? '', ref.name);
    return held === undefined ? null : pick(held);
  }

  async list<T extends KubeObject>(
    apiVersion: string,
    kind: string,
    namespace: string,
    labelSelector?: string,
  ): Promise<T[]> {
    const matcher = parseLabelSelector(labelSelector);
    if (this.#options.synced(kind) && matcher !== undefined) {
      return this.#store.list(kind, namespace, matcher).map((object) => structuredClone(object) as T);
    }
    return this.#liveList<T>(
      apiVersion,
      kind,
      namespace,
      labelSelector,
      matcher === undefined ? 'selector' : 'unsynced',
    );
  }

  async project<R>(
    apiVersion: string,
    kind: string,
    namespace: string,
    pick: (object: Readonly<KubeObject>) => R,
  ): Promise<R[]> {
    if (this.#options.synced(kind)) return this.#store.list(kind, namespace).map(pick);
    return (await this.#liveList(apiVersion, kind, namespace, undefined, 'unsynced')).map(pick);
  }

  /** A list from the API server, counted; a kind it just found not installed is answered so again (top). */
  async #liveList<T extends KubeObject>(
    apiVersion: string,
    kind: string,
    namespace: string,
    labelSelector: string | undefined,
    reason: LiveReadReason,
  ): Promise<T[]> {
    const now = this.#options.now?.() ?? Date.now();
    const absent = this.#absent.get(kind);
    if (absent !== undefined && now < absent.until) throw absent.error;
    this.#options.onLiveRead?.('list', kind, reason);
    try {
      const items = await this.#live.list<T>(apiVersion, kind, namespace, labelSelector);
      this.#absent.delete(kind);
      return items;
    } catch (error) {
      if (isKubeError(error, 'NotFound')) this.#absent.set(kind, { until: now + ABSENT_REUSE_MS, error });
      throw error;
    }
  }

  /**
   * Which of these objects ("namespace/name") exist on the API server, whatever the watches select
   * (a policy of another shard exists), each as the API server answered. A few of a namespace are
   * read one by one, more by one list.
   */
  async existing(apiVersion: string, kind: string, keys: string[]): Promise<Map<string, KubeObject>> {
    const byNamespace = new Map<string, string[]>();
    for (const key of keys) {
      const slash = key.indexOf('/');
      const namespace = key.slice(0, slash);
      byNamespace.set(namespace, [...(byNamespace.get(namespace) ?? []), key.slice(slash + 1)]);
    }
    const found = new Map<string, KubeObject>();
    for (const [namespace, names] of byNamespace) {
      if (names.length > EXISTING_BY_GET) {
        this.#options.onLiveRead?.('list', kind, 'orphan');
        const held = new Map((await this.#live.list(apiVersion, kind, namespace)).map((o) => [o.metadata.name, o]));
        for (const name of names) {
          const object = held.get(name);
          if (object !== undefined) found.set(`${namespace}/${name}`, object);
        }
        continue;
      }
      for (const name of names) {
        this.#options.onLiveRead?.('get', kind, 'orphan');
        const object = await this.#live.get({ apiVersion, kind, namespace, name });
        if (object !== null) found.set(`${namespace}/${name}`, object);
      }
    }
    return found;
  }

  create<T extends KubeObject>(object: T): Promise<T> {
    return this.#write(refOf(object), () => this.#live.create(object));
  }

  mergePatch<T extends KubeObject>(ref: ObjectRef, patch: object): Promise<T> {
    return this.#write(ref, () => this.#live.mergePatch<T>(ref, patch));
  }

  apply<T extends KubeObject>(object: T): Promise<T> {
    return this.#write(refOf(object), () => this.#live.apply(object));
  }

  replace<T extends KubeObject>(object: T): Promise<T> {
    return this.#write(refOf(object), () => this.#live.replace(object));
  }

  replaceStatus<T extends KubeObject>(object: T): Promise<T> {
    return this.#write(refOf(object), () => this.#live.replaceStatus(object));
  }

  async delete(ref: ObjectRef, options?: DeleteOptions): Promise<void> {
    await this.#live.delete(ref, options);
    // Gone, or going (finalizers, dependents first): the watch says which. Until it does, the
    // cache shows the object as going (deletionTimestamp), not as gone: a canary Deployment
    // deleted a moment ago may still have pods, and what waits for it to be gone must wait.
    if (!this.#options.synced(ref.kind)) return;
    const held = this.#store.get(ref.kind, ref.namespace ?? '', ref.name);
    if (held === undefined || held.metadata.deletionTimestamp) return;
    const going = structuredClone(held);
    going.metadata.deletionTimestamp = new Date().toISOString();
    this.#store.put(going); // the same resourceVersion: replaces the held copy
  }

  async #write<T extends KubeObject>(ref: ObjectRef, call: () => Promise<T>): Promise<T> {
    try {
      const written = await call();
      this.#stale.delete(keyOf(ref));
      if (this.#options.synced(ref.kind)) this.#remember(written, ref);
      return written;
    } catch (error) {
      if (isKubeError(error, 'Conflict') || isKubeError(error, 'AlreadyExists')) this.#stale.add(keyOf(ref));
      // Gone from the apiserver: the cache lags behind its watch; do not act on it again.
      if (isKubeError(error, 'NotFound') && this.#options.synced(ref.kind)) {
        this.#store.remove(ref.kind, ref.namespace ?? '', ref.name);
      }
      throw error;
    }
  }

  #inScope(object: KubeObject): boolean {
    return this.#options.inScope?.(object) ?? true;
  }

  #remember(object: KubeObject, ref: ObjectRef): void {
    if (!this.#inScope(object)) {
      this.#store.remove(ref.kind, ref.namespace ?? '', ref.name);
      return;
    }
    // Deleting with no finalizer left: the apiserver has removed it (this answer is its last version).
    const { deletionTimestamp, finalizers } = object.metadata as { deletionTimestamp?: unknown; finalizers?: string[] };
    if (deletionTimestamp && (finalizers ?? []).length === 0) {
      this.#store.remove(ref.kind, ref.namespace ?? '', ref.name, object.metadata.resourceVersion);
      return;
    }
    // Plain JSON (the client's answers carry Dates), trimmed like the watch's objects.
    const plain = JSON.parse(JSON.stringify(object)) as KubeObject;
    this.#store.put(trimForCache(plain, ref.apiVersion, ref.kind));
  }
}
