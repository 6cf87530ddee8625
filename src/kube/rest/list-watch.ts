// One resource kept in sync: list (in pages), then watch from the list's resourceVersion with
// bookmarks, for a few minutes at a time (the server ends it; the next watch continues from the
// last resourceVersion seen). A 410 Gone (the version is too old) lists again, and what the new
// list lacks is reported deleted. Other failures are reported to 'error' and the owner restarts
// it (kube/informers.ts backs off). What client-node's ListWatch does, without its 30 s
// inactivity timeout that re-opened every quiet watch twice a minute.
import type { KubeObject } from '../objects.ts';
import { HttpStatusError, type RestTransport, type WatchHandle } from './transport.ts';

export interface ListWatchOptions {
  /** Collection path, e.g. /apis/apps/v1/deployments */
  path: string;
  fieldSelector?: string;
  /** Each item of a list as it will be kept (trimmed, with apiVersion/kind). */
  prepare(item: KubeObject): KubeObject;
  /** Page size of the lists. */
  pageSize?: number;
  /** Server-side watch duration, seconds: random in [min, 2·min) so watches do not end together. */
  minWatchSeconds?: number;
  random?: () => number;
}

type Handler = (object: KubeObject) => void;

const keyOf = (o: KubeObject) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

/** What a list-watch needs of the transport (tests give a fake). */
export type ListWatchTransport = Pick<RestTransport, 'request' | 'watch'>;

export class RestListWatch {
  readonly #http: ListWatchTransport;
  readonly #options: ListWatchOptions;
  readonly #objects = new Map<string, KubeObject>();
  readonly #handlers = { add: [] as Handler[], update: [] as Handler[], delete: [] as Handler[] };
  readonly #errorHandlers: Array<(error: unknown) => void> = [];
  #resourceVersion = '';
  #watch: WatchHandle | undefined;
  #stopped = true;
  #listed = false;
  /** Bumped on every start/stop: a callback of an older run does nothing. */
  #run = 0;

  constructor(transport: ListWatchTransport, options: ListWatchOptions) {
    this.#http = transport;
    this.#options = options;
  }

  on(event: 'add' | 'update' | 'delete', handler: Handler): void;
  on(event: 'error', handler: (error: unknown) => void): void;
  on(event: 'add' | 'update' | 'delete' | 'error', handler: Handler | ((error: unknown) => void)): void {
    if (event === 'error') this.#errorHandlers.push(handler as (error: unknown) => void);
    else this.#handlers[event].push(handler as Handler);
  }

  /** Lists (unless a watch can continue) and watches; resolves once the list is in. */
  async start(): Promise<void> {
    this.#stopped = false;
    const run = ++this.#run;
    await this.#cycle(run);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#run++;
    this.#watch?.abort();
    this.#watch = undefined;
  }

  async #cycle(run: number): Promise<void> {
    try {
      if (this.#resourceVersion === '') await this.#list(run);
      if (run !== this.#run) return;
      this.#startWatch(run);
    } catch (error) {
      this.#fail(run, error);
    }
  }

  #fail(run: number, error: unknown): void {
    if (run !== this.#run || this.#stopped) return;
    this.#watch = undefined;
    for (const handler of this.#errorHandlers) handler(error);
  }

  async #list(run: number): Promise<void> {
    const seen = new Map<string, KubeObject>();
    let next: string | undefined;
    let resourceVersion = '';
    do {
      const page = await this.#http.request<{
        metadata?: { resourceVersion?: string; continue?: string };
        items?: KubeObject[];
      }>('GET', this.#options.path, {
        query: { fieldSelector: this.#options.fieldSelector, limit: this.#options.pageSize ?? 500, continue: next },
      });
      if (run !== this.#run) return;
      for (const item of page.items ?? []) {
        const kept = this.#options.prepare(item);
        seen.set(keyOf(kept), kept);
      }
      next = page.metadata?.continue || undefined;
      resourceVersion = page.metadata?.resourceVersion ?? '';
    } while (next);
    for (const [key, old] of this.#objects) {
      if (!seen.has(key)) {
        this.#objects.delete(key);
        this.#emit('delete', old);
      }
    }
    for (const object of seen.values()) this.#upsert(object);
    this.#resourceVersion = resourceVersion;
    this.#listed = true;
  }

  /** Has a list completed (the objects are all known)? */
  get listed(): boolean {
    return this.#listed;
  }

  #upsert(object: KubeObject): void {
    const key = keyOf(object);
    const known = this.#objects.get(key);
    if (known && known.metadata.resourceVersion === object.metadata.resourceVersion) return;
    this.#objects.set(key, object);
    this.#emit(known ? 'update' : 'add', object);
  }

  #emit(event: 'add' | 'update' | 'delete', object: KubeObject): void {
    for (const handler of this.#handlers[event]) handler(object);
  }

  #startWatch(run: number): void {
    const min = this.#options.minWatchSeconds ?? 300;
    const timeoutSeconds = Math.floor(min + (this.#options.random ?? Math.random)() * min);
    this.#watch = this.#http.watch(
      this.#options.path,
      {
        resourceVersion: this.#resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds,
        fieldSelector: this.#options.fieldSelector,
      },
      (type, raw) => {
        if (run !== this.#run) return;
        if (type === 'ERROR') {
          // A Status: 410 Gone means the version expired; list again when this watch ends.
          if ((raw as { code?: number }).code === 410) this.#resourceVersion = '';
          return;
        }
        const object = raw as unknown as KubeObject;
        const version = object.metadata?.resourceVersion;
        if (type === 'BOOKMARK') {
          if (version) this.#resourceVersion = version;
          return;
        }
        const kept = this.#options.prepare(object);
        if (type === 'DELETED') {
          this.#objects.delete(keyOf(kept));
          this.#emit('delete', kept);
        } else this.#upsert(kept);
        if (version) this.#resourceVersion = version;
      },
      (error) => {
        if (run !== this.#run || this.#stopped) return;
        if (error instanceof HttpStatusError && error.status === 410) this.#resourceVersion = '';
        if (error === null || this.#resourceVersion === '') void this.#cycle(run);
        else this.#fail(run, error);
      },
    );
  }
}
