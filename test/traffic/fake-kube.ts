// An in-memory KubeApi for unit tests: objects keyed by apiVersion/kind/namespace/name, label
// selectors, RFC 7386 merge patches and resourceVersion conflicts as the API server does them,
// and a journal of every call so tests can assert "one write" or "no write to the user's
// Service". Not specific to traffic: any port user may reuse it.
import { type KubeApi, KubeError, type KubeErrorCode } from '../../src/kube/api.ts';
import type { KubeObject, ObjectRef } from '../../src/kube/objects.ts';

export type Verb = 'get' | 'list' | 'create' | 'mergePatch' | 'apply' | 'replace' | 'delete';
export const WRITE_VERBS: ReadonlySet<Verb> = new Set(['create', 'mergePatch', 'apply', 'replace', 'delete']);

export interface Call {
  verb: Verb;
  apiVersion: string;
  kind: string;
  namespace?: string;
  name?: string;
  /** The patch or object sent, for writes. */
  body?: unknown;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** RFC 7386 JSON merge patch: objects merge key by key, null deletes, anything else replaces. */
export const applyMergePatch = (target: unknown, patch: unknown): unknown => {
  if (!isPlainObject(patch)) return structuredClone(patch);
  const result: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key], value);
  }
  return result;
};

/** Label selector matching as the API server does it (equality- and set-based). */
export const matchesLabelSelector = (labels: Record<string, string> = {}, selector = ''): boolean => {
  const requirements = selector
    .split(/,(?![^(]*\))/)
    .map((part) => part.trim())
    .filter((part) => part !== '');
  return requirements.every((requirement) => {
    const set = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(requirement);
    if (set !== null) {
      const [, key, operator, list] = set;
      const values = list!.split(',').map((value) => value.trim());
      const has = key! in labels && values.includes(labels[key!]!);
      return operator === 'in' ? has : !has;
    }
    const equality = /^([^!=]+?)\s*(==|=|!=)\s*(.*)$/.exec(requirement);
    if (equality !== null) {
      const [, key, operator, value] = equality;
      return operator === '!=' ? labels[key!] !== value : labels[key!] === value;
    }
    if (requirement.startsWith('!')) return !(requirement.slice(1) in labels);
    return requirement in labels;
  });
};

/**
 * The fields an applied configuration sets, as paths to leaves: maps are granular, lists atomic
 * (every list the gateway-api router applies is x-kubernetes-list-type: atomic).
 */
const appliedPaths = (value: unknown, prefix: string[] = []): string[][] => {
  if (!isPlainObject(value) || (prefix.length > 0 && Object.keys(value).length === 0)) return [prefix];
  return Object.entries(value).flatMap(([key, child]) => appliedPaths(child, [...prefix, key]));
};

const deletePath = (target: Record<string, unknown>, path: string[]): void => {
  const [head, ...rest] = path;
  if (head === undefined || !(head in target)) return;
  if (rest.length === 0) {
    delete target[head];
    return;
  }
  const child = target[head];
  if (!isPlainObject(child)) return;
  deletePath(child, rest);
  if (Object.keys(child).length === 0) delete target[head];
};

/** Deep merge for apply: maps merge key by key, anything else (lists included) replaces. */
const mergeApplied = (target: unknown, applied: unknown): unknown => {
  if (!isPlainObject(applied) || !isPlainObject(target)) return structuredClone(applied);
  const result: Record<string, unknown> = { ...target };
  for (const [key, value] of Object.entries(applied)) result[key] = mergeApplied(result[key], value);
  return result;
};

/** What an apply configuration sets besides the object's identity. */
const applyConfiguration = (object: KubeObject): Record<string, unknown> => {
  const { apiVersion: _v, kind: _k, metadata, ...rest } = object;
  const { name: _n, namespace: _ns, resourceVersion: _rv, ...meta } = metadata;
  return Object.keys(meta).length === 0 ? rest : { ...rest, metadata: meta };
};

const keyOf = (ref: ObjectRef): string => `${ref.apiVersion}|${ref.kind}|${ref.namespace ?? ''}|${ref.name}`;

const describe = (ref: ObjectRef): string => `${ref.kind} ${ref.namespace ?? ''}/${ref.name}`;

// The API server omits empty maps (omitempty), so a patch that deletes the last annotation
// leaves no `annotations: {}` behind.
const normalize = (object: KubeObject): KubeObject => {
  for (const field of ['labels', 'annotations'] as const) {
    const map = object.metadata[field];
    if (map !== undefined && Object.keys(map).length === 0) delete object.metadata[field];
  }
  return object;
};

export class FakeKube implements KubeApi {
  /** Every call in order, including those that failed (an attempted write is still a write). */
  readonly calls: Call[] = [];
  readonly #objects = new Map<string, KubeObject>();
  /** Per object, the fields canaryd's last apply set (server-side apply's managedFields, reduced). */
  readonly #applied = new Map<string, string[][]>();
  #resourceVersion = 1000;
  #uid = 0;
  readonly #failures: Array<{ verb: Verb; match: (ref: ObjectRef) => boolean; code: KubeErrorCode }> = [];

  constructor(...objects: KubeObject[]) {
    this.seed(...objects);
  }

  /** Stores objects as the API server would (uid, resourceVersion), without journaling. */
  seed(...objects: KubeObject[]): void {
    for (const object of objects) {
      const stored = structuredClone(object);
      stored.metadata.uid ??= `uid-${++this.#uid}`;
      stored.metadata.resourceVersion = String(++this.#resourceVersion);
      stored.metadata.generation ??= 1;
      stored.metadata.creationTimestamp ??= '2026-01-01T00:00:00Z';
      this.#objects.set(keyOf(refOfObject(stored)), normalize(stored));
    }
  }

  /** Changes an object behind the API's back (a controller updating status, a person editing). */
  mutate<T extends KubeObject>(ref: ObjectRef, change: (object: T) => void): void {
    const object = this.#objects.get(keyOf(ref)) as T | undefined;
    if (object === undefined) throw new Error(`mutate: ${describe(ref)} does not exist`);
    change(object);
    object.metadata.resourceVersion = String(++this.#resourceVersion);
    normalize(object);
  }

  /** Deletes behind the API's back (a controller garbage-collecting), without journaling. */
  remove(ref: ObjectRef): void {
    this.#objects.delete(keyOf(ref));
  }

  /** A copy of the stored object, without journaling. */
  peek<T extends KubeObject>(ref: ObjectRef): T | undefined {
    const object = this.#objects.get(keyOf(ref));
    return object === undefined ? undefined : (structuredClone(object) as T);
  }

  /** Copies of every stored object, without journaling. */
  all(): KubeObject[] {
    return [...this.#objects.values()].map((object) => structuredClone(object));
  }

  /** The journaled writes (create, patch, replace, delete), optionally since index `from`. */
  writes(from = 0): Call[] {
    return this.calls.slice(from).filter((call) => WRITE_VERBS.has(call.verb));
  }

  /** Makes the next `verb` call whose ref matches fail with `code`. */
  failNext(verb: Verb, code: KubeErrorCode, match: (ref: ObjectRef) => boolean = () => true): void {
    this.#failures.push({ verb, match, code });
  }

  #enter(verb: Verb, ref: ObjectRef, body?: unknown): void {
    this.calls.push({
      verb,
      apiVersion: ref.apiVersion,
      kind: ref.kind,
      ...(ref.namespace === undefined ? {} : { namespace: ref.namespace }),
      ...(ref.name === '' ? {} : { name: ref.name }),
      ...(body === undefined ? {} : { body: structuredClone(body) }),
    });
    const index = this.#failures.findIndex((failure) => failure.verb === verb && failure.match(ref));
    if (index >= 0) {
      const [failure] = this.#failures.splice(index, 1);
      throw new KubeError(failure!.code, `injected ${failure!.code} on ${verb} ${describe(ref)}`, { ref });
    }
  }

  async get<T extends KubeObject>(ref: ObjectRef): Promise<T | null> {
    this.#enter('get', ref);
    return this.peek<T>(ref) ?? null;
  }

  async list<T extends KubeObject>(
    apiVersion: string,
    kind: string,
    namespace: string,
    labelSelector?: string,
  ): Promise<T[]> {
    this.#enter('list', { apiVersion, kind, namespace, name: '' });
    return [...this.#objects.values()]
      .filter(
        (object) =>
          object.apiVersion === apiVersion &&
          object.kind === kind &&
          object.metadata.namespace === namespace &&
          matchesLabelSelector(object.metadata.labels, labelSelector),
      )
      .map((object) => structuredClone(object) as T);
  }

  async create<T extends KubeObject>(object: T): Promise<T> {
    const ref = refOfObject(object);
    this.#enter('create', ref, object);
    if (this.#objects.has(keyOf(ref))) throw new KubeError('AlreadyExists', `${describe(ref)} already exists`, { ref });
    const stored = structuredClone(object);
    delete stored.metadata.resourceVersion;
    delete stored.metadata.uid;
    this.seed(stored);
    return this.peek<T>(ref)!;
  }

  async mergePatch<T extends KubeObject>(ref: ObjectRef, patch: object): Promise<T> {
    this.#enter('mergePatch', ref, patch);
    const current = this.#objects.get(keyOf(ref));
    if (current === undefined) throw new KubeError('NotFound', `${describe(ref)} not found`, { ref });
    // A patch that names a resourceVersion is a precondition, as the API server takes it.
    const sent = (patch as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion;
    if (sent !== undefined && sent !== current.metadata.resourceVersion) {
      throw new KubeError('Conflict', `${describe(ref)}: the object has been modified`, { ref, status: 409 });
    }
    const next = applyMergePatch(current, patch) as KubeObject;
    return this.#store(ref, current, next) as T;
  }

  /**
   * Server-side apply by one field manager with force: fields it applied before and leaves out
   * now are removed, the rest merged in; a stale resourceVersion in the configuration conflicts.
   */
  async apply<T extends KubeObject>(object: T): Promise<T> {
    const ref = refOfObject(object);
    this.#enter('apply', ref, object);
    const key = keyOf(ref);
    const current = this.#objects.get(key);
    const sent = object.metadata.resourceVersion;
    if (current === undefined) {
      if (sent !== undefined) throw new KubeError('NotFound', `${describe(ref)} not found`, { ref });
      const created = structuredClone(object);
      delete created.metadata.resourceVersion;
      this.seed(created);
      this.#applied.set(key, appliedPaths(applyConfiguration(object)));
      return this.peek<T>(ref)!;
    }
    if (sent !== undefined && sent !== current.metadata.resourceVersion) {
      throw new KubeError('Conflict', `${describe(ref)}: the object has been modified`, { ref, status: 409 });
    }
    const configuration = applyConfiguration(object);
    const paths = appliedPaths(configuration);
    const kept = new Set(paths.map((path) => path.join('\u0000')));
    const next = structuredClone(current) as unknown as Record<string, unknown>;
    for (const path of this.#applied.get(key) ?? []) {
      if (!kept.has(path.join('\u0000'))) deletePath(next, path);
    }
    this.#applied.set(key, paths);
    const merged = mergeApplied(next, configuration) as KubeObject;
    return this.#store(ref, current, merged) as T;
  }

  async replace<T extends KubeObject>(object: T): Promise<T> {
    const ref = refOfObject(object);
    this.#enter('replace', ref, object);
    const current = this.#objects.get(keyOf(ref));
    if (current === undefined) throw new KubeError('NotFound', `${describe(ref)} not found`, { ref });
    const sent = object.metadata.resourceVersion;
    if (sent !== undefined && sent !== current.metadata.resourceVersion) {
      throw new KubeError('Conflict', `${describe(ref)}: the object has been modified`, { ref, status: 409 });
    }
    return this.#store(ref, current, structuredClone(object) as KubeObject) as T;
  }

  async delete(ref: ObjectRef): Promise<void> {
    this.#enter('delete', ref);
    this.#objects.delete(keyOf(ref));
  }

  #store(ref: ObjectRef, current: KubeObject, next: KubeObject): KubeObject {
    if (next.metadata?.name !== current.metadata.name || next.metadata.namespace !== current.metadata.namespace) {
      throw new KubeError('Invalid', `${describe(ref)}: name and namespace cannot change`, { ref, status: 422 });
    }
    // Fields the API server owns.
    next.metadata.uid = current.metadata.uid;
    next.metadata.creationTimestamp = current.metadata.creationTimestamp;
    const specChanged = JSON.stringify(next.spec as Json) !== JSON.stringify(current.spec as Json);
    next.metadata.generation = (current.metadata.generation ?? 1) + (specChanged ? 1 : 0);
    next.metadata.resourceVersion = String(++this.#resourceVersion);
    this.#objects.set(keyOf(ref), normalize(next));
    return structuredClone(next);
  }
}

const refOfObject = (object: KubeObject): ObjectRef => ({
  apiVersion: object.apiVersion,
  kind: object.kind,
  ...(object.metadata.namespace === undefined ? {} : { namespace: object.metadata.namespace }),
  name: object.metadata.name,
});
