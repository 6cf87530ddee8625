// The watch caches the reconciles read from: what they keep of an object, which watch events
// wake the controller, and when the reader port still asks the API server.
import { describe, expect, it } from 'vitest';
import { KubeError, type StatusWriter } from '../../src/kube/api.ts';
import { ABSENT_REUSE_MS, CachedKubeApi, type LiveReadReason } from '../../src/kube/cached-api.ts';
import { lastWriterOf } from '../../src/kube/managed-fields.ts';
import { ObjectStore, parseLabelSelector } from '../../src/kube/object-store.ts';
import type { KubeObject } from '../../src/kube/objects.ts';
import { LAST_APPLIED, trimForCache } from '../../src/kube/trim.ts';
import { FakeKube } from '../traffic/fake-kube.ts';

const managedFields = [
  {
    manager: 'kubectl-client-side-apply',
    operation: 'Update',
    time: '2026-12-01T10:00:00Z',
    fieldsV1: { 'f:metadata': { 'f:labels': {} }, 'f:spec': { 'f:template': { 'f:spec': { 'f:containers': {} } } } },
  },
  {
    manager: 'kubectl-scale',
    operation: 'Update',
    time: '2026-12-01T11:00:00Z',
    subresource: 'scale',
    fieldsV1: { 'f:spec': { 'f:replicas': {} } },
  },
  {
    manager: 'kube-controller-manager',
    operation: 'Update',
    time: '2026-12-01T12:00:00Z',
    subresource: 'status',
    fieldsV1: { 'f:status': { 'f:replicas': {} } },
  },
];

const deployment = (rv: string, extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {
    name: 'web',
    namespace: 'shop',
    resourceVersion: rv,
    annotations: { [LAST_APPLIED]: '{"a huge":"copy"}', keep: 'me' },
    managedFields: structuredClone(managedFields),
  },
  spec: { replicas: 3 },
  ...extra,
});

describe('trimForCache', () => {
  it("keeps of a Deployment's managedFields only what names the last writer of its template and replicas", () => {
    const before = deployment('1');
    const trimmed = trimForCache(structuredClone(before), 'apps/v1', 'Deployment');
    expect(trimmed.metadata.annotations).toEqual({ keep: 'me' });
    expect(trimmed.metadata.managedFields).toEqual([
      {
        manager: 'kubectl-client-side-apply',
        operation: 'Update',
        time: '2026-12-01T10:00:00Z',
        fieldsV1: { 'f:spec': { 'f:template': {} } },
      },
      {
        manager: 'kubectl-scale',
        operation: 'Update',
        time: '2026-12-01T11:00:00Z',
        subresource: 'scale',
        fieldsV1: { 'f:spec': { 'f:replicas': {} } },
      },
    ]);
    // Drift reporting names the same writers from the trimmed object as from the full one.
    for (const path of [
      ['spec', 'template'],
      ['spec', 'replicas'],
    ]) {
      expect(lastWriterOf(trimmed.metadata.managedFields, path)).toEqual(
        lastWriterOf(before.metadata.managedFields, path),
      );
    }
  });

  it('drops managedFields of other kinds and keeps a Pod as its metadata', () => {
    const pod = trimForCache(
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'web-1', namespace: 'shop', uid: 'u1', labels: { app: 'web' }, managedFields: [{}] },
        spec: { containers: [{ name: 'app', image: 'x' }] },
        status: { phase: 'Running' },
      },
      'v1',
      'Pod',
    );
    expect(pod).toEqual({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web-1', namespace: 'shop', uid: 'u1', labels: { app: 'web' } },
    });
    const service = trimForCache(
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 's', managedFields: [{}] } },
      'v1',
      'Service',
    );
    expect(service.metadata.managedFields).toBeUndefined();
  });

  it("keeps of a Deployment's and a ReplicaSet's status only the counts canaryd reads, not their conditions", () => {
    const conditions = [
      { type: 'Progressing', status: 'True', message: 'ReplicaSet "web-7d9" has successfully progressed.' },
    ];
    const status = { observedGeneration: 3, replicas: 2, updatedReplicas: 2, readyReplicas: 1, availableReplicas: 1 };
    const kept = trimForCache(
      deployment('1', { status: { ...status, conditions, collisionCount: 1 } }),
      'apps/v1',
      'Deployment',
    );
    expect(kept.status).toEqual(status);
    const replicaSet = trimForCache(
      {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: { name: 'web-7d9' },
        spec: { replicas: 2 },
        status: { replicas: 2, readyReplicas: 2, fullyLabeledReplicas: 2, conditions },
      },
      'apps/v1',
      'ReplicaSet',
    );
    expect(replicaSet.status).toEqual({ replicas: 2 });
    expect(replicaSet.spec).toEqual({ replicas: 2 });
  });
});

describe('ObjectStore', () => {
  it('tells new objects, changes canaryd reads, changes it does not and versions it already has apart', () => {
    const store = new ObjectStore();
    expect(store.put(deployment('10'))).toBe('added');
    expect(store.put(deployment('10'))).toBe('known');
    // A watch behind a write canaryd already stored.
    expect(store.put(deployment('9', { spec: { replicas: 1 } }))).toBe('known');
    expect(store.get('Deployment', 'shop', 'web')?.spec).toEqual({ replicas: 3 });
    // Only field ownership changed.
    expect(store.put({ ...deployment('11'), metadata: { ...deployment('11').metadata, managedFields: [] } })).toBe(
      'unread',
    );
    expect(store.put(deployment('12', { spec: { replicas: 4 } }))).toBe('changed');
    expect(store.counts()).toEqual({ Deployment: 1 });
    expect(store.remove('Deployment', 'shop', 'web')).toBe(true);
    expect(store.counts()).toEqual({ Deployment: 0 });
  });

  it('a CanaryPolicy whose status alone changed (canaryd writes it) wakes nothing', () => {
    const store = new ObjectStore();
    const policy = (rv: string, status: object, spec: object = { target: { deployment: 'web' } }): KubeObject => ({
      apiVersion: 'canaryd.dev/v1alpha1',
      kind: 'CanaryPolicy',
      metadata: { name: 'web', namespace: 'shop', resourceVersion: rv, generation: 1 },
      spec,
      status,
    });
    store.put(policy('1', { phase: 'idle' }));
    expect(store.put(policy('2', { phase: 'progressing' }))).toBe('unread');
    expect(store.put(policy('3', { phase: 'progressing' }, { target: { deployment: 'api' } }))).toBe('changed');
  });

  it('a Deployment or ReplicaSet status change of nothing canaryd reads (conditions, ready counts of a ReplicaSet) wakes nothing', () => {
    const store = new ObjectStore();
    const deployment = (rv: string, status: object): KubeObject => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'shop', resourceVersion: rv, generation: 2 },
      spec: { replicas: 2 },
      status,
    });
    const progressing = (at: string) => [{ type: 'Progressing', status: 'Unknown', lastUpdateTime: at }];
    store.put(deployment('1', { observedGeneration: 2, readyReplicas: 1, conditions: progressing('10:00') }));
    expect(
      store.put(deployment('2', { observedGeneration: 2, readyReplicas: 1, conditions: progressing('10:01') })),
    ).toBe('unread');
    expect(
      store.put(deployment('3', { observedGeneration: 2, readyReplicas: 2, conditions: progressing('10:01') })),
    ).toBe('changed');
    const replicaSet = (rv: string, status: object): KubeObject => ({
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'web-abc', namespace: 'shop', resourceVersion: rv },
      spec: { replicas: 1 },
      status,
    });
    store.put(replicaSet('1', { replicas: 1, readyReplicas: 0 }));
    expect(store.put(replicaSet('2', { replicas: 1, readyReplicas: 1, availableReplicas: 1 }))).toBe('unread');
    expect(store.put(replicaSet('3', { replicas: 0, readyReplicas: 0 }))).toBe('changed');
  });

  it('evaluates the label selectors canaryd writes, and leaves set-based ones to the API server', () => {
    const match = parseLabelSelector('app=web,tier!=db,canaryd.dev/managed,!legacy');
    expect(match?.({ app: 'web', tier: 'front', 'canaryd.dev/managed': 'true' })).toBe(true);
    expect(match?.({ app: 'web', tier: 'db', 'canaryd.dev/managed': 'true' })).toBe(false);
    expect(match?.({ app: 'web', 'canaryd.dev/managed': 'true', legacy: '1' })).toBe(false);
    expect(parseLabelSelector('app in (web,api)')).toBeUndefined();
    expect(parseLabelSelector(undefined)?.({})).toBe(true);
  });
});

class StatusKube extends FakeKube implements StatusWriter {
  conflictNext = false;
  notFoundNext = false;
  async replaceStatus<T extends KubeObject>(object: T): Promise<T> {
    return this.replace(object);
  }
  override async mergePatch<T extends KubeObject>(
    ref: Parameters<FakeKube['mergePatch']>[0],
    patch: object,
  ): Promise<T> {
    if (this.conflictNext) {
      this.conflictNext = false;
      this.calls.push({ verb: 'mergePatch', apiVersion: ref.apiVersion, kind: ref.kind, name: ref.name });
      throw new KubeError('Conflict', 'the object has been modified', { status: 409 });
    }
    if (this.notFoundNext) {
      this.notFoundNext = false;
      throw new KubeError('NotFound', 'deployments.apps "web" not found', { status: 404 });
    }
    return super.mergePatch<T>(ref, patch);
  }
}

function cachedOver(live: StatusKube, kinds: string[], now?: () => number) {
  const store = new ObjectStore();
  const liveReads: Array<[string, string, LiveReadReason]> = [];
  const api = new CachedKubeApi(live, store, {
    synced: (kind) => kinds.includes(kind),
    onLiveRead: (verb, kind, reason) => liveReads.push([verb, kind, reason]),
    ...(now === undefined ? {} : { now }),
  });
  return { store, api, liveReads };
}

/** An API server without the Gateway API's CRDs until `installed`: a list of HTTPRoutes is NotFound. */
class WithoutGatewayApi extends StatusKube {
  installed = false;
  override async list<T extends KubeObject>(apiVersion: string, kind: string, namespace: string, selector?: string) {
    if (kind === 'HTTPRoute' && !this.installed) {
      throw new KubeError('NotFound', 'the server could not find the requested resource', { status: 404 });
    }
    return super.list<T>(apiVersion, kind, namespace, selector);
  }
}

describe('a kind whose CRD is not installed', () => {
  it('answers NotFound again for a while without asking, then asks again; once installed, lists as usual', async () => {
    let clock = 0;
    const live = new WithoutGatewayApi();
    const { api, liveReads } = cachedOver(live, ['Deployment'], () => clock);
    const list = () => api.list('gateway.networking.k8s.io/v1', 'HTTPRoute', 'shop');
    const project = () => api.project('gateway.networking.k8s.io/v1', 'HTTPRoute', '', (o) => o.metadata.name);
    await expect(list()).rejects.toMatchObject({ code: 'NotFound' });
    expect(liveReads).toEqual([['list', 'HTTPRoute', 'unsynced']]);
    // Every router choice asks for HTTPRoutes: answered from that NotFound for 30 s.
    clock += ABSENT_REUSE_MS - 1;
    await expect(list()).rejects.toMatchObject({ code: 'NotFound' });
    await expect(project()).rejects.toMatchObject({ code: 'NotFound' });
    expect(liveReads).toHaveLength(1);
    clock += 1;
    await expect(list()).rejects.toMatchObject({ code: 'NotFound' });
    expect(liveReads).toHaveLength(2);
    // Installed meanwhile: seen within 30 s, and not answered NotFound after.
    live.installed = true;
    clock += ABSENT_REUSE_MS;
    await expect(list()).resolves.toEqual([]);
    await expect(project()).resolves.toEqual([]);
    expect(liveReads).toHaveLength(4);
  });
});

const replicasOf = (object: KubeObject | null) => (object?.spec as { replicas?: number } | undefined)?.replicas;
const ref = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'web' };

describe('ObjectStore after a delete', () => {
  it('does not bring back an object the watch saw deleted when an older answer of a write arrives later', () => {
    const store = new ObjectStore();
    store.put(deployment('5'));
    store.remove('Deployment', 'shop', 'web', '7');
    // canaryd's own write (its finalizer removal, version 6) answered after the watch's delete (7).
    expect(store.put(deployment('6'))).toBe('known');
    expect(store.get('Deployment', 'shop', 'web')).toBeUndefined();
    // Created again since: a newer version is a new object.
    expect(store.put(deployment('9'))).toBe('added');
    expect(store.get('Deployment', 'shop', 'web')?.metadata.resourceVersion).toBe('9');
  });

  it('forgets a tombstone after a minute', () => {
    let now = 0;
    const store = new ObjectStore(() => now);
    store.remove('Deployment', 'shop', 'web', '7');
    store.remove('Deployment', 'shop', 'other', '8');
    now = 61_000;
    store.remove('Deployment', 'shop', 'third', '9'); // prunes the old ones
    expect(store.put(deployment('3'))).toBe('added');
  });
});

describe('CachedKubeApi', () => {
  it('projects the objects of a watched kind from the store without asking the API server, and the rest from it', async () => {
    const live = new StatusKube();
    const { store, api, liveReads } = cachedOver(live, ['Deployment']);
    store.put(trimForCache(deployment('5'), 'apps/v1', 'Deployment'));
    const names = await api.project(
      'apps/v1',
      'Deployment',
      'shop',
      (o) => `${o.metadata.name}@${o.metadata.resourceVersion}`,
    );
    expect(names).toEqual(['web@5']);
    expect(live.calls).toEqual([]);
    expect(await api.project('v1', 'Secret', 'shop', (o) => o.metadata.name)).toEqual([]);
    expect(liveReads).toEqual([['list', 'Secret', 'unsynced']]);
  });

  it('answers reads of watched kinds from the store, with copies, and asks the API server for the rest', async () => {
    const live = new StatusKube();
    const { store, api, liveReads } = cachedOver(live, ['Deployment']);
    store.put(trimForCache(deployment('5'), 'apps/v1', 'Deployment'));
    const read = await api.get<KubeObject>(ref);
    expect(read?.spec).toEqual({ replicas: 3 });
    (read!.spec as { replicas: number }).replicas = 99;
    expect(replicasOf(store.get('Deployment', 'shop', 'web') ?? null)).toBe(3);
    expect(await api.get({ ...ref, name: 'missing' })).toBeNull();
    expect(await api.list('apps/v1', 'Deployment', 'shop', 'nothing=here')).toEqual([]);
    expect(live.calls).toEqual([]);
    await api.get({ apiVersion: 'v1', kind: 'Secret', namespace: 'shop', name: 'creds' });
    expect(liveReads).toEqual([['get', 'Secret', 'uncached']]);
  });

  it('keeps what canaryd wrote, so the next reconcile reads it and its watch event wakes nothing', async () => {
    const live = new StatusKube(deployment('5'));
    const { store, api } = cachedOver(live, ['Deployment']);
    store.put(trimForCache(deployment('5'), 'apps/v1', 'Deployment'));
    const written = await api.mergePatch<KubeObject>(ref, { spec: { replicas: 7 } });
    expect(replicasOf(await api.get<KubeObject>(ref))).toBe(7);
    // The same version arriving by the watch.
    expect(store.put(trimForCache(structuredClone(written), 'apps/v1', 'Deployment'))).toBe('known');
  });

  it('drops an object its last finalizer was removed from, and one a write found gone (NotFound)', async () => {
    const deleting = deployment('5', { spec: { replicas: 3 } });
    (deleting.metadata as Record<string, unknown>).deletionTimestamp = '2026-12-02T04:16:36Z';
    (deleting.metadata as Record<string, unknown>).finalizers = ['canaryd.dev/cleanup'];
    const live = new StatusKube(deleting);
    const { store, api } = cachedOver(live, ['Deployment']);
    store.put(trimForCache(structuredClone(deleting), 'apps/v1', 'Deployment'));
    await api.mergePatch(ref, { metadata: { finalizers: [] } });
    expect(await api.get(ref)).toBeNull();
    store.put(trimForCache(deployment('20'), 'apps/v1', 'Deployment'));
    live.notFoundNext = true;
    await expect(api.mergePatch(ref, { spec: { replicas: 1 } })).rejects.toThrow();
    expect(await api.get(ref)).toBeNull();
  });

  it('shows an object canaryd deleted as going until the watch says it is gone (its pods may still run)', async () => {
    const live = new StatusKube(deployment('5'));
    const { store, api } = cachedOver(live, ['Deployment']);
    store.put(trimForCache(deployment('5'), 'apps/v1', 'Deployment'));
    await api.delete(ref, { dependentsFirst: true });
    expect((await api.get<KubeObject>(ref))?.metadata.deletionTimestamp).toBeDefined();
    store.remove('Deployment', 'shop', 'web', '6'); // the watch's delete
    expect(await api.get(ref)).toBeNull();
  });

  it('reads an object from the API server once after a write found the cache behind (Conflict)', async () => {
    const live = new StatusKube(deployment('8', { spec: { replicas: 2 } }));
    const { store, api, liveReads } = cachedOver(live, ['Deployment']);
    store.put(trimForCache(deployment('5'), 'apps/v1', 'Deployment'));
    live.conflictNext = true;
    await expect(api.mergePatch(ref, { spec: { replicas: 1 } })).rejects.toThrow('modified');
    expect(replicasOf(await api.get<KubeObject>(ref))).toBe(2);
    expect(liveReads).toEqual([['get', 'Deployment', 'recover']]);
    // Recovered: the store has the live version, and the next read is the cache's again.
    await api.get(ref);
    expect(liveReads).toHaveLength(1);
    expect(store.get('Deployment', 'shop', 'web')?.metadata.resourceVersion).toBe(
      (await live.get<KubeObject>(ref))?.metadata.resourceVersion,
    );
  });

  it('asks the API server whether policies it does not hold exist: a few one by one, more by one list', async () => {
    const policy = (name: string): KubeObject => ({
      apiVersion: 'canaryd.dev/v1alpha1',
      kind: 'CanaryPolicy',
      metadata: { name, namespace: 'shop' },
    });
    const others = Array.from({ length: 12 }, (_, i) => policy(`other-${i}`));
    const live = new StatusKube(policy('web'), ...others);
    const { api, liveReads } = cachedOver(live, ['CanaryPolicy']);
    const few = await api.existing('canaryd.dev/v1alpha1', 'CanaryPolicy', ['shop/web', 'shop/gone']);
    expect([...few.keys()]).toEqual(['shop/web']);
    // With its uid: a policy of the same name created again is another policy (the orphan sweep).
    const web = await live.get<KubeObject>({
      apiVersion: 'canaryd.dev/v1alpha1',
      kind: 'CanaryPolicy',
      namespace: 'shop',
      name: 'web',
    });
    expect(web?.metadata.uid).toMatch(/^uid-/);
    expect(few.get('shop/web')?.metadata.uid).toBe(web?.metadata.uid);
    expect(liveReads).toEqual([
      ['get', 'CanaryPolicy', 'orphan'],
      ['get', 'CanaryPolicy', 'orphan'],
    ]);
    const many = await api.existing('canaryd.dev/v1alpha1', 'CanaryPolicy', [
      ...others.map((o) => `shop/${o.metadata.name}`),
      'shop/gone',
    ]);
    expect(many.size).toBe(12);
    expect(many.has('shop/gone')).toBe(false);
    expect(liveReads.slice(2)).toEqual([['list', 'CanaryPolicy', 'orphan']]);
  });
});
