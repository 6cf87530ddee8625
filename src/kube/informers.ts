// Watches (not polling lists) on the resources canaryd reacts to, across namespaces. Each event
// is handed on as a plain object; a broken watch restarts with backoff. `synced` resolves once
// every informer has listed its resource (readiness).
import * as k8s from '@kubernetes/client-node';
import type { KubeObject } from './objects.ts';

export interface WatchedResource {
  /** e.g. "apps/v1" */
  apiVersion: string;
  kind: string;
  /** The collection path across namespaces, e.g. /apis/apps/v1/deployments */
  path: string;
}

export const WATCHED: WatchedResource[] = [
  { apiVersion: 'canaryd.dev/v1alpha1', kind: 'CanaryPolicy', path: '/apis/canaryd.dev/v1alpha1/canarypolicies' },
  { apiVersion: 'apps/v1', kind: 'Deployment', path: '/apis/apps/v1/deployments' },
  { apiVersion: 'apps/v1', kind: 'ReplicaSet', path: '/apis/apps/v1/replicasets' },
  { apiVersion: 'v1', kind: 'Service', path: '/api/v1/services' },
  { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', path: '/apis/networking.k8s.io/v1/ingresses' },
  { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', path: '/apis/discovery.k8s.io/v1/endpointslices' },
];

export type WatchEvent = 'add' | 'update' | 'delete';

export interface Informers {
  synced: Promise<void>;
  isSynced(): boolean;
  stop(): Promise<void>;
}

export function startInformers(
  kc: k8s.KubeConfig,
  resources: WatchedResource[],
  onEvent: (event: WatchEvent, object: KubeObject) => void,
  log: (message: string, fields?: Record<string, unknown>) => void = () => {},
  namespace?: string,
): Informers {
  const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
  let stopped = false;
  let syncedCount = 0;
  let markSynced: () => void = () => {};
  const synced = new Promise<void>((resolve) => {
    markSynced = resolve;
  });
  const informers = resources.map((resource) => {
    const path = namespace ? namespacedPath(resource.path, namespace) : resource.path;
    const informer = k8s.makeInformer(kc, path, async () => {
      const list = await objects.list(resource.apiVersion, resource.kind, namespace);
      return list as k8s.KubernetesListObject<k8s.KubernetesObject>;
    });
    const hand = (event: WatchEvent) => (object: k8s.KubernetesObject) =>
      onEvent(event, { ...object, apiVersion: resource.apiVersion, kind: resource.kind } as unknown as KubeObject);
    informer.on('add', hand('add'));
    informer.on('update', hand('update'));
    informer.on('delete', hand('delete'));
    // Exponential backoff while the apiserver stays away. client-node emits 'connect' before
    // each attempt (not after a success), so a quiet minute, not 'connect', resets it: else an
    // outage logs a retry every half second per resource.
    let backoffMs = 500;
    let lastErrorAt = Number.NEGATIVE_INFINITY;
    informer.on('error', (error: unknown) => {
      if (stopped) return;
      const now = Date.now();
      if (now - lastErrorAt > 60_000) backoffMs = 500;
      lastErrorAt = now;
      log('watch failed; restarting', { kind: resource.kind, error: String(error), inMs: backoffMs });
      setTimeout(() => {
        if (!stopped) informer.start().catch(() => {});
      }, backoffMs);
      backoffMs = Math.min(backoffMs * 2, 10_000); // back within 10 s of the apiserver
    });
    return { resource, informer };
  });
  void Promise.all(
    informers.map(async ({ resource, informer }) => {
      for (let attempt = 0; !stopped; attempt++) {
        try {
          await informer.start();
          break;
        } catch (error) {
          log('initial list failed; retrying', { kind: resource.kind, error: String(error) });
          await new Promise((r) => setTimeout(r, Math.min(500 * 2 ** attempt, 10_000)));
        }
      }
      syncedCount++;
    }),
  ).then(() => markSynced());
  return {
    synced,
    isSynced: () => syncedCount === informers.length,
    async stop() {
      stopped = true;
      await Promise.all(informers.map(({ informer }) => informer.stop().catch(() => {})));
    },
  };
}

const namespacedPath = (path: string, namespace: string): string => {
  const parts = path.split('/');
  const plural = parts.pop();
  return `${parts.join('/')}/namespaces/${namespace}/${plural}`;
};
