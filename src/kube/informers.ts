// Watches (not polling lists) on the resources canaryd reads, across namespaces. They fill the
// ObjectStore the reconciles read from (kube/cached-api.ts), trimmed to what canaryd reads
// (kube/trim.ts), and hand on only the events that change something canaryd reads: a watch
// event of canaryd's own write (already in the store) or of a field it ignores wakes nothing.
// A broken watch restarts with backoff. `synced` resolves once every required resource is listed.
// Lists and watches go through rest/ (plain HTTP), not @kubernetes/client-node.
import type { ObjectStore } from './object-store.ts';
import type { KubeObject } from './objects.ts';
import { type ListWatchTransport, RestListWatch } from './rest/list-watch.ts';
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
  transport: ListWatchTransport,
  resources: WatchedResource[],
  store: ObjectStore,
  onEvent: (event: WatchEvent, object: KubeObject) => void,
  log: (message: string, fields?: Record<string, unknown>) => void = () => {},
  namespace?: string,
): Informers {
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
  // Once its first list is in the store, a kind's cache answers reads.
  const startOne = (resource: WatchedResource, informer: RestListWatch) =>
    void informer.start().then(() => {
      if (informer.listed) listed(resource);
    });
  const informers = resources.map((resource) => {
    const scope = namespace && !resource.clusterScoped ? namespace : undefined;
    const path = scope ? namespacedPath(resource.path, scope) : resource.path;
    const informer = new RestListWatch(transport, {
      path,
      fieldSelector: resource.fieldSelector,
      prepare: (item) => trimForCache(item, resource.apiVersion, resource.kind),
    });
    const changed = (kept: KubeObject) => {
      const result = store.put(kept);
      if (result === 'added') onEvent('add', kept);
      else if (result === 'changed') onEvent('update', kept);
    };
    informer.on('add', changed);
    informer.on('update', changed);
    informer.on('delete', (gone: KubeObject) => {
      store.remove(
        resource.kind,
        gone.metadata.namespace ?? '',
        gone.metadata.name,
        gone.metadata.resourceVersion ?? '',
      );
      onEvent('delete', gone);
    });
    // Exponential backoff while the apiserver stays away; a quiet minute resets it (else an
    // outage logs a retry every half second per resource).
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
        if (!stopped) startOne(resource, informer);
      }, inMs).unref();
      if (!notInstalled) backoffMs = Math.min(backoffMs * 2, 10_000); // back within 10 s of the apiserver
    });
    return { resource, informer };
  });
  for (const { resource, informer } of informers) startOne(resource, informer);
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

/** A 404 on the list: the CRD is not installed. */
const isNotInstalled = (error: unknown): boolean => (error as { status?: number })?.status === 404;

const namespacedPath = (path: string, namespace: string): string => {
  const parts = path.split('/');
  const plural = parts.pop();
  return `${parts.join('/')}/namespaces/${namespace}/${plural}`;
};
