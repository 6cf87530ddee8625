// The objects canaryd has seen, by kind → namespace → name: fed by the watches and by the answers
// to canaryd's own writes (so a reconcile reads what it just wrote, and the watch event of that
// write is recognised as already known). Pure data, no I/O.
import type { KubeObject } from './objects.ts';
import { readProjection } from './trim.ts';

/** What a put did: a new object, a change canaryd reads, a change it does not, or nothing new. */
export type PutResult = 'added' | 'changed' | 'unread' | 'known';

/** -1, 0, 1; resourceVersions are opaque, but the apiserver's are etcd revisions (digits). */
export function compareVersions(a: string | undefined, b: string | undefined): number | undefined {
  if (a === undefined || b === undefined || !/^\d+$/.test(a) || !/^\d+$/.test(b)) return undefined;
  const x = BigInt(a);
  const y = BigInt(b);
  return x === y ? 0 : x < y ? -1 : 1;
}

/** How long a deleted object's last version is remembered (see `remove`). */
export const TOMBSTONE_MS = 60_000;

export class ObjectStore {
  readonly #kinds = new Map<string, Map<string, Map<string, KubeObject>>>();
  /**
   * kind/namespace/name → the version a watch saw deleted, and when. The answer to one of
   * canaryd's own writes can arrive after the watch's delete (the finalizer canaryd removes is the
   * last one: the write's answer is the object's last version): without this it would bring the
   * deleted object back into the cache for good.
   */
  readonly #tombstones = new Map<string, { version: string | undefined; atMs: number }>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Stores `object` unless the store holds a newer version of it. */
  put(object: KubeObject): PutResult {
    const namespace = object.metadata.namespace ?? '';
    const key = `${object.kind}/${namespace}/${object.metadata.name}`;
    const tombstone = this.#tombstones.get(key);
    if (tombstone !== undefined) {
      const order = compareVersions(object.metadata.resourceVersion, tombstone.version);
      // Not newer than the deletion (or not comparable, within the tombstone's time): gone.
      if (order === -1 || order === 0 || (order === undefined && this.#now() - tombstone.atMs < TOMBSTONE_MS)) {
        return 'known';
      }
      this.#tombstones.delete(key); // created again since
    }
    const namespaces = this.#namespacesOf(object.kind);
    let names = namespaces.get(namespace);
    if (names === undefined) {
      names = new Map();
      namespaces.set(namespace, names);
    }
    const name = object.metadata.name;
    const held = names.get(name);
    if (held === undefined) {
      names.set(name, object);
      return 'added';
    }
    const order = compareVersions(object.metadata.resourceVersion, held.metadata.resourceVersion);
    if (order === -1) return 'known'; // a watch behind canaryd's own write
    if (order === 0) {
      names.set(name, object); // the same version: keep one copy (the watch's) in memory
      return 'known';
    }
    names.set(name, object);
    return readProjection(held) === readProjection(object) ? 'unread' : 'changed';
  }

  /**
   * Forgets an object. `deletedVersion` (the watch's delete) also keeps a tombstone: an older
   * version put later (the answer to a write that raced the delete) is ignored.
   */
  remove(kind: string, namespace: string, name: string, deletedVersion?: string): boolean {
    if (deletedVersion !== undefined) this.#bury(`${kind}/${namespace}/${name}`, deletedVersion);
    const names = this.#kinds.get(kind)?.get(namespace);
    if (names === undefined || !names.delete(name)) return false;
    if (names.size === 0) this.#kinds.get(kind)?.delete(namespace);
    return true;
  }

  #bury(key: string, version: string): void {
    const nowMs = this.#now();
    for (const [old, { atMs }] of this.#tombstones) {
      if (nowMs - atMs < TOMBSTONE_MS) break; // insertion order: the rest are younger
      this.#tombstones.delete(old);
    }
    this.#tombstones.delete(key);
    this.#tombstones.set(key, { version, atMs: nowMs });
  }

  get(kind: string, namespace: string, name: string): KubeObject | undefined {
    return this.#kinds.get(kind)?.get(namespace)?.get(name);
  }

  /** The objects of a kind in a namespace ('' = all namespaces), optionally matching a selector. */
  list(kind: string, namespace: string, selector?: LabelMatcher): KubeObject[] {
    const namespaces = this.#kinds.get(kind);
    if (namespaces === undefined) return [];
    const pools = namespace === '' ? [...namespaces.values()] : [namespaces.get(namespace) ?? new Map()];
    const found: KubeObject[] = [];
    for (const pool of pools)
      for (const object of pool.values()) if (!selector || selector(object.metadata.labels ?? {})) found.push(object);
    return found;
  }

  /** Replaces everything held of a kind (a fresh list). */
  clear(kind: string): void {
    this.#kinds.delete(kind);
  }

  counts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const [kind, namespaces] of this.#kinds) {
      let n = 0;
      for (const names of namespaces.values()) n += names.size;
      counts[kind] = n;
    }
    return counts;
  }

  #namespacesOf(kind: string): Map<string, Map<string, KubeObject>> {
    let namespaces = this.#kinds.get(kind);
    if (namespaces === undefined) {
      namespaces = new Map();
      this.#kinds.set(kind, namespaces);
    }
    return namespaces;
  }
}

export type LabelMatcher = (labels: Record<string, string>) => boolean;

/**
 * A label selector string as the API takes it, for the forms canaryd writes: `k=v`, `k==v`,
 * `k!=v`, `k`, `!k`, comma-separated. undefined for anything else (set-based `in`/`notin`):
 * the caller asks the API server instead.
 */
export function parseLabelSelector(selector: string | undefined): LabelMatcher | undefined {
  if (selector === undefined || selector.trim() === '') return () => true;
  const tests: LabelMatcher[] = [];
  for (const raw of selector.split(',')) {
    const term = raw.trim();
    if (/\s(in|notin)\s/.test(term) || term.includes('(')) return undefined;
    const notEqual = term.match(/^([^!=]+)!=(.*)$/);
    const equal = term.match(/^([^!=]+)==?(.*)$/);
    if (notEqual) {
      const [, key = '', value = ''] = notEqual;
      tests.push((labels) => labels[key.trim()] !== value.trim());
    } else if (equal) {
      const [, key = '', value = ''] = equal;
      tests.push((labels) => labels[key.trim()] === value.trim());
    } else if (term.startsWith('!')) {
      const key = term.slice(1).trim();
      tests.push((labels) => !(key in labels));
    } else if (/^[A-Za-z0-9./_-]+$/.test(term)) {
      tests.push((labels) => term in labels);
    } else {
      return undefined;
    }
  }
  return (labels) => tests.every((test) => test(labels));
}
