// The watch caches against the real apiserver: a first list read a page at a time still fills
// the cache with every object, and the watch goes on from that list's snapshot.
import { afterEach, describe, expect, it } from 'vitest';
import { ClientKubeApi } from '../src/kube/client.ts';
import { type Informers, startInformers, WATCHED, type WatchEvent } from '../src/kube/informers.ts';
import { ObjectStore } from '../src/kube/object-store.ts';
import type { KubeObject } from '../src/kube/objects.ts';
import { waitFor } from './cluster/wait.ts';
import { installCrd } from './support/crd.ts';
import { useTestEnv } from './support/env.ts';

describe('informers on the real apiserver', () => {
  const env = useTestEnv('informers');
  let informers: Informers | undefined;
  afterEach(async () => {
    await informers?.stop();
  });

  it('lists in pages and caches every object, trimmed, then follows the watch from that list', async () => {
    await installCrd(env.kc);
    const kube = new ClientKubeApi(env.kc);
    const services = ['a', 'b', 'c', 'd', 'e'];
    for (const name of services) {
      await kube.create({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: {
          name,
          namespace: env.namespace,
          annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' },
        },
        spec: { ports: [{ port: 80 }] },
      } as KubeObject);
    }
    for (const name of ['p1', 'p2', 'p3']) {
      await kube.create({
        apiVersion: 'canaryd.dev/v1alpha1',
        kind: 'CanaryPolicy',
        metadata: { name, namespace: env.namespace },
        spec: { target: { deployment: name, service: name } },
      } as KubeObject);
    }

    const store = new ObjectStore();
    const events: Array<[WatchEvent, string]> = [];
    const lists: string[] = [];
    const resources = WATCHED.filter((r) => r.kind === 'Service' || r.kind === 'CanaryPolicy');
    informers = startInformers(
      env.kc,
      resources,
      store,
      (event, object) => events.push([event, `${object.kind}/${object.metadata.name}`]),
      () => {},
      env.namespace,
      { onList: (kind) => lists.push(kind), pageSize: 2 },
    );
    await waitFor(async () => informers?.isSynced(), { timeoutMs: 30_000, description: 'informers synced' });

    // Five Services in three pages, three policies in two: all of them cached, once each.
    const names = (kind: string) =>
      store
        .list(kind, env.namespace)
        .map((o) => o.metadata.name)
        .sort();
    expect(names('Service')).toEqual(services);
    expect(names('CanaryPolicy')).toEqual(['p1', 'p2', 'p3']);
    expect(lists.sort()).toEqual(['CanaryPolicy', 'Service']);
    expect(store.get('Service', env.namespace, 'a')?.metadata.annotations ?? {}).not.toHaveProperty(
      'kubectl.kubernetes.io/last-applied-configuration',
    );
    expect(store.get('Service', env.namespace, 'a')?.metadata.managedFields).toBeUndefined();

    // The watch started from the list's snapshot: a new object and a delete arrive as events.
    await kube.create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'f', namespace: env.namespace },
      spec: { ports: [{ port: 80 }] },
    } as KubeObject);
    await kube.delete({ apiVersion: 'v1', kind: 'Service', namespace: env.namespace, name: 'a' });
    await waitFor(async () => names('Service').join() === 'b,c,d,e,f', {
      timeoutMs: 30_000,
      description: 'watch events after the paged list',
    });
    expect(events).toContainEqual(['add', 'Service/f']);
    expect(events).toContainEqual(['delete', 'Service/a']);
  });
});
