// The one Secret reader (kube/secrets.ts): notifications, hooks, analysis and the dashboard read
// Secrets through it, so a value is decoded, named and kept the same way everywhere.
import { describe, expect, it } from 'vitest';
import { CachedKubeApi, type LiveReadReason } from '../../src/kube/cached-api.ts';
import { ObjectStore } from '../../src/kube/object-store.ts';
import type { KubeObject } from '../../src/kube/objects.ts';
import { KubeSecretSource } from '../../src/kube/secrets.ts';
import { FakeKube } from '../traffic/fake-kube.ts';

const secret = (token: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'prom', namespace: 'shop' },
  data: { token: Buffer.from(`${token}\n`).toString('base64') },
});
const ref = { namespace: 'shop', name: 'prom', key: 'token' };
const rotate = (kube: FakeKube, token: string) =>
  kube.mutate<KubeObject>({ apiVersion: 'v1', kind: 'Secret', namespace: 'shop', name: 'prom' }, (object) => {
    object.data = secret(token).data;
  });

describe('KubeSecretSource', () => {
  it('decodes the key’s value without the trailing newline of a file it was made from', async () => {
    expect(await new KubeSecretSource(new FakeKube(secret('s3cr3t'))).value(ref)).toBe('s3cr3t');
  });

  it('names the Secret, and the key, that is missing', async () => {
    await expect(new KubeSecretSource(new FakeKube()).value(ref)).rejects.toThrow('Secret shop/prom does not exist');
    await expect(new KubeSecretSource(new FakeKube(secret('x'))).value({ ...ref, key: 'tokn' })).rejects.toThrow(
      'Secret shop/prom has no key tokn',
    );
  });

  it('keeps a value read from the API server for ttlMs, then reads the rotated one', async () => {
    let now = 0;
    const kube = new FakeKube(secret('old'));
    const secrets = new KubeSecretSource(kube, { ttlMs: 30_000, now: () => now });
    expect(await secrets.value(ref)).toBe('old');
    rotate(kube, 'new');
    now = 29_000;
    expect(await secrets.value(ref)).toBe('old');
    now = 30_000;
    expect(await secrets.value(ref)).toBe('new');
  });

  it('reads a watched (cached) Secret every time: the watch keeps it current, a rotation shows at once', async () => {
    const kube = new FakeKube(secret('old'));
    const secrets = new KubeSecretSource(kube, { watched: () => true });
    expect(await secrets.value(ref)).toBe('old');
    rotate(kube, 'new');
    expect(await secrets.value(ref)).toBe('new');
  });

  it('over the watch caches, asks the API server while they hold no Secrets, and counts that read', async () => {
    const liveReads: Array<[string, string, LiveReadReason]> = [];
    // The API server behind the caches (a status writer too, which this read never uses).
    const live = Object.assign(new FakeKube(secret('s3cr3t')), {
      replaceStatus: async <T extends KubeObject>(object: T): Promise<T> => object,
    });
    const cached = new CachedKubeApi(live, new ObjectStore(), {
      synced: () => false,
      onLiveRead: (verb, kind, reason) => liveReads.push([verb, kind, reason]),
    });
    expect(await new KubeSecretSource(cached).value(ref)).toBe('s3cr3t');
    expect(liveReads).toEqual([['get', 'Secret', 'uncached']]);
  });
});
