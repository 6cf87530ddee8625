// The outbox's ConfigMap: created on the first write, then replaced with the version canaryd
// last saw, so a write after someone else's (a new leader's) is refused and reported as taken.
// The Kubernetes API is canaryd's own port here (KubeApi), faked with versioned objects.
import { describe, expect, it } from 'vitest';
import { type KubeApi, KubeError } from '../../src/kube/api.ts';
import type { KubeObject } from '../../src/kube/objects.ts';
import { OutboxTaken } from '../../src/notify/outbox.ts';
import { ConfigMapOutboxStore, OUTBOX_KEY } from '../../src/notify/outbox-store.ts';

function versionedApi() {
  let stored: KubeObject | null = null;
  let version = 0;
  const stamp = (object: KubeObject): KubeObject => {
    stored = structuredClone({ ...object, metadata: { ...object.metadata, resourceVersion: String(++version) } });
    return structuredClone(stored);
  };
  const api = {
    get: async () => (stored === null ? null : structuredClone(stored)),
    create: async (object: KubeObject) => {
      if (stored !== null) throw new KubeError('AlreadyExists', 'configmaps "canaryd-notifications" already exists');
      return stamp(object);
    },
    replace: async (object: KubeObject) => {
      if (stored === null) throw new KubeError('NotFound', 'not found');
      if (object.metadata.resourceVersion !== stored.metadata.resourceVersion) {
        throw new KubeError('Conflict', 'the object has been modified');
      }
      return stamp(object);
    },
  } as unknown as KubeApi;
  return { api, stored: () => stored };
}

describe('ConfigMapOutboxStore', () => {
  it('creates the ConfigMap (labelled as canaryd’s) on the first write, then replaces it', async () => {
    const kube = versionedApi();
    const store = new ConfigMapOutboxStore(kube.api, 'canaryd-system', 'canaryd-notifications');
    expect(await store.load()).toBeUndefined();
    await store.save('[1]');
    await store.save('[2]');
    expect(kube.stored()).toMatchObject({
      kind: 'ConfigMap',
      metadata: {
        namespace: 'canaryd-system',
        name: 'canaryd-notifications',
        labels: { 'app.kubernetes.io/component': 'notification-outbox' },
      },
      data: { [OUTBOX_KEY]: '[2]' },
    });
    const restarted = new ConfigMapOutboxStore(kube.api, 'canaryd-system', 'canaryd-notifications');
    expect(await restarted.load()).toBe('[2]');
  });

  it('a write after someone else wrote it is refused as taken (a lost lease never overwrites the new leader)', async () => {
    const kube = versionedApi();
    const old = new ConfigMapOutboxStore(kube.api, 'canaryd-system', 'canaryd-notifications');
    await old.save('[1]');
    const leader = new ConfigMapOutboxStore(kube.api, 'canaryd-system', 'canaryd-notifications');
    await leader.load();
    await leader.save('[2]');
    await expect(old.save('[3]')).rejects.toBeInstanceOf(OutboxTaken);
    expect(kube.stored()?.data).toEqual({ [OUTBOX_KEY]: '[2]' });
  });
});
