// Watches (not polling lists) on the resources canaryd reads, across namespaces. They fill the
// ObjectStore the reconciles read from (kube/cached-api.ts), trimmed to what canaryd reads
// (kube/trim.ts), and hand on only the events that change something canaryd reads: a watch
// event of canaryd's own write (already in the store) or of a field it ignores wakes nothing.
// A broken watch restarts with backoff. `synced` resolves once every required resource is listed.

import { policySelector } from '../policy/shard.ts';
import * as k8s from './client-node/index.ts';
import { ObjectApi } from './client-node/object-api.ts';
import type { ObjectStore } from './object-store.ts';
import type { KubeObject } from './objects.ts';
import { trimForCache } from './trim.ts';

export interface WatchedResource {
  /** e.g. "apps/v1" */
  apiVersion: string;
  kind: string;
  /** The collection path across namespaces, e.g. /apis/apps/v1/deployments */
  path: string;
  clusterScoped?: boolean;
  /** A CRD that may not be installed: readiness does not wait for it; reads go to the API server. */
  optional?: boolean;
  /** Only the objects canaryd can act on (the API server filters, the watch says when one leaves). */
  fieldSelector?: string;
  /** Only the objects of this replica's shard (controller/shard.ts): one that leaves is a delete. */
  labelSelector?: string;
}

export const WATCHED: WatchedResource[] = [
  { apiVersion: 'canaryd.dev/v1alpha1', kind: 'CanaryPolicy', path: '/apis/canaryd.dev/v1alpha1/canarypolicies' },
  { apiVersion: 'apps/v1', kind: 'Deployment', path: '/apis/apps/v1/deployments' },
  { apiVersion: 'apps/v1', kind: 'ReplicaSet', path: '/apis/apps/v1/replicasets' },
  { apiVersion: 'v1', kind: 'Service', path: '/api/v1/services' },
  { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', path: '/apis/networking.k8s.io/v1/ingresses' },
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'IngressClass',
    path: '/apis/networking.k8s.io/v1/ingressclasses',
    clusterScoped: true,
  },
  {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    path: '/apis/gateway.networking.k8s.io/v1/httproutes',
    optional: true,
  },
  { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', path: '/apis/discovery.k8s.io/v1/endpointslices' },
  // Pods that can still serve (kept as metadata only): replica-ratio counts the canary's by label.
  {
    apiVersion: 'v1',
    kind: 'Pod',
    path: '/api/v1/pods',
    fieldSelector: 'status.phase!=Succeeded,status.phase!=Failed',
  },
];

/** What a replica of `shard` watches: every kind, and of the CanaryPolicies only its shard's. */
export const watchedBy = (shard: string | undefined): WatchedResource[] =>
  WATCHED.map((resource) =>
    resource.kind === 'CanaryPolicy' ? { ...resource, labelSelector: policySelector(shard) } : resource,
  );

export type WatchEvent = 'add' | 'update' | 'delete';

export interface Informers {
  synced: Promise<void>;
  isSynced(): boolean;
  /** Is this kind's cache filled (listed at least once)? false for kinds not watched. */
  kindSynced(kind: string): boolean;
  stop(): Promise<void>;
}

/** A CRD that is not installed answers 404 to its list; looked for again this often. */
const ABSENT_RETRY_MS = 5 * 60_000;

export function startInformers(
  kc: k8s.KubeConfig,
  resources: WatchedResource[],
  store: ObjectStore,
  onEvent: (event: WatchEvent, object: KubeObject) => void,
  log: (message: string, fields?: Record<string, unknown>) => void = () => {},
  namespace?: string,
  observe: {
    /** Told every watch event's effect (metrics): reconcile, unread, known or delete. */
    onEffect?: (kind: string, effect: 'reconcile' | 'unread' | 'known' | 'delete') => void;
    /** Told every full list of a kind (metrics): once at start, then after a watch could not resume. */
    onList?: (kind: string) => void;
    /** Objects per page of a list (LIST_PAGE_SIZE). */
    pageSize?: number;
  } = {},
): Informers {
  const { onEffect, onList, pageSize = LIST_PAGE_SIZE } = observe;
  const listPage = pageLister(kc);
  let stopped = false;
  const syncedKinds = new Set<string>();
  const required = resources.filter((r) => !r.optional).length;
  let requiredSynced = 0;
  let markSynced: () => void = () => {};
  const synced = new Promise<void>((resolve) => {
    markSynced = resolve;
  });
  const listed = (resource: WatchedResource) => {
    if (stopped || syncedKinds.has(resource.kind)) return;
    syncedKinds.add(resource.kind);
    if (!resource.optional && ++requiredSynced === required) markSynced();
  };
  const informers = resources.map((resource) => {
    const scope = namespace && !resource.clusterScoped ? namespace : undefined;
    const path = scope ? namespacedPath(resource.path, scope) : resource.path;
    // client-node's ListWatch (what makeInformer builds), with the field selector makeInformer lacks.
    const informer = new k8s.ListWatch(
      path,
      new k8s.Watch(kc),
      async () => {
        onList?.(resource.kind);
        const list = await listInPages(listPage, resource, scope, pageSize);
        // The informer stores the items right after this resolves (same tick); the kind's cache
        // answers reads from the next macrotask on.
        setImmediate(() => listed(resource));
        return list as unknown as k8s.KubernetesListObject<k8s.KubernetesObject>;
      },
      false,
      resource.labelSelector,
      resource.fieldSelector,
    );
    const changed = (object: k8s.KubernetesObject) => {
      // The informer keeps this very object: trimming it here trims its cache too.
      const kept = trimForCache(object as unknown as KubeObject, resource.apiVersion, resource.kind);
      const result = store.put(kept);
      onEffect?.(resource.kind, result === 'added' || result === 'changed' ? 'reconcile' : result);
      if (result === 'added') onEvent('add', kept);
      else if (result === 'changed') onEvent('update', kept);
    };
    informer.on('add', changed);
    informer.on('update', changed);
    informer.on('delete', (object: k8s.KubernetesObject) => {
      const gone = trimForCache(object as unknown as KubeObject, resource.apiVersion, resource.kind);
      store.remove(
        resource.kind,
        gone.metadata.namespace ?? '',
        gone.metadata.name,
        gone.metadata.resourceVersion ?? '',
      );
      onEffect?.(resource.kind, 'delete');
      onEvent('delete', gone);
    });
    // Exponential backoff while the apiserver stays away. client-node emits 'connect' before
    // each attempt (not after a success), so a quiet minute, not 'connect', resets it: else an
    // outage logs a retry every half second per resource.
    let backoffMs = 500;
    let lastErrorAt = Number.NEGATIVE_INFINITY;
    informer.on('error', (error: unknown) => {
      if (stopped) return;
      // A CRD that is not installed (404 on its list): look again now and then, quietly.
      const notInstalled = resource.optional === true && isNotInstalled(error);
      const now = Date.now();
      if (now - lastErrorAt > 60_000) backoffMs = 500;
      lastErrorAt = now;
      const inMs = notInstalled ? ABSENT_RETRY_MS : backoffMs;
      if (!notInstalled) log('watch failed; restarting', { kind: resource.kind, error: String(error), inMs });
      setTimeout(() => {
        if (!stopped) informer.start().catch(() => {});
      }, inMs).unref();
      if (!notInstalled) backoffMs = Math.min(backoffMs * 2, 10_000); // back within 10 s of the apiserver
    });
    return { resource, informer };
  });
  for (const { informer } of informers) informer.start().catch(() => {});
  return {
    synced,
    isSynced: () => requiredSynced === required,
    kindSynced: (kind) => syncedKinds.has(kind),
    async stop() {
      stopped = true;
      await Promise.all(informers.map(({ informer }) => informer.stop().catch(() => {})));
    },
  };
}

/** Objects per page of a first list, as client-go's pager: a page is trimmed before the next. */
export const LIST_PAGE_SIZE = 500;

interface Page {
  items: KubeObject[];
  resourceVersion?: string;
  continueToken?: string;
}

type Lister = (resource: WatchedResource, scope: string | undefined, limit: number, token?: string) => Promise<Page>;

/**
 * One page of a collection as the server's JSON, for every kind: the typed client builds model
 * objects with Dates and names the continue token `_continue`, and with client-node loaded lean
 * (kube/client-node/serializer.ts) it hands back the JSON as it came, `continue` included; one
 * path for both keeps pagination whichever way the library was loaded.
 */
function pageLister(kc: k8s.KubeConfig): Lister {
  const objects = ObjectApi.over(kc);
  return async (resource, scope, limit, token) => {
    const path = scope === undefined ? resource.path : namespacedPath(resource.path, scope);
    const list = (await objects.getJson(path, {
      fieldSelector: resource.fieldSelector,
      labelSelector: resource.labelSelector,
      limit: String(limit),
      continue: token,
    })) as { items?: KubeObject[]; metadata?: { resourceVersion?: string; continue?: string } };
    return {
      // List items carry no apiVersion/kind; trimForCache gives them back.
      items: list.items ?? [],
      resourceVersion: list.metadata?.resourceVersion,
      continueToken: list.metadata?.continue || undefined,
    };
  };
}

/**
 * The whole collection, listed a page at a time and trimmed page by page, so the start-up peak is
 * one page of full objects (not every Deployment of the cluster at once) plus the trimmed cache.
 * A continue token that expired mid-way (410 Gone) lists again from the start.
 */
async function listInPages(
  listPage: Lister,
  resource: WatchedResource,
  scope: string | undefined,
  pageSize: number,
): Promise<{ metadata: { resourceVersion?: string }; items: KubeObject[] }> {
  for (let attempt = 0; ; attempt++) {
    const items: KubeObject[] = [];
    let token: string | undefined;
    try {
      for (;;) {
        const page = await listPage(resource, scope, pageSize, token);
        for (const item of page.items) items.push(trimForCache(item, resource.apiVersion, resource.kind));
        token = page.continueToken;
        // Every page carries the snapshot's resourceVersion; the watch goes on from it.
        if (token === undefined) return { metadata: { resourceVersion: page.resourceVersion }, items };
      }
    } catch (error) {
      if (attempt < 2 && token !== undefined && (error as { code?: number })?.code === 410) continue;
      throw error;
    }
  }
}

/** A 404 on the list, or the client's discovery not knowing the kind (its CRD is not installed). */
const isNotInstalled = (error: unknown): boolean =>
  (error as { code?: number })?.code === 404 ||
  (error instanceof Error && error.message.startsWith('Unrecognized API version and kind'));

const namespacedPath = (path: string, namespace: string): string => {
  const parts = path.split('/');
  const plural = parts.pop();
  return `${parts.join('/')}/namespaces/${namespace}/${plural}`;
};
