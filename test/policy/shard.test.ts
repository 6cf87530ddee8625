// Sharding across replicas: which policies a replica watches, its Lease and outbox, and what it
// does with a policy that moves to another shard under its feet.
import { describe, expect, it } from 'vitest';
import { KubeError, type StatusWriter } from '../../src/kube/api.ts';
import { CachedKubeApi } from '../../src/kube/cached-api.ts';
import { watchedBy } from '../../src/kube/informers.ts';
import { ObjectStore } from '../../src/kube/object-store.ts';
import type { KubeObject } from '../../src/kube/objects.ts';
import { inShard, policySelector, SHARD_LABEL, shardLeaseName, shardOutbox } from '../../src/policy/shard.ts';
import { loadSettings, SettingsError } from '../../src/settings/settings.ts';
import { FakeKube } from '../traffic/fake-kube.ts';

const policy = (labels: Record<string, string> = {}, resourceVersion?: string): KubeObject => ({
  apiVersion: 'canaryd.dev/v1alpha1',
  kind: 'CanaryPolicy',
  metadata: { name: 'web', namespace: 'shop', labels, ...(resourceVersion === undefined ? {} : { resourceVersion }) },
  spec: {},
});
const ref = { apiVersion: 'canaryd.dev/v1alpha1', kind: 'CanaryPolicy', namespace: 'shop', name: 'web' };

describe('shards', () => {
  it('a replica with --shard a watches the policies labelled a; one without, those with no shard label', () => {
    expect(policySelector('a')).toBe('canaryd.dev/shard=a');
    expect(policySelector(undefined)).toBe('!canaryd.dev/shard');
    const selectors = Object.fromEntries(watchedBy('a').map((r) => [r.kind, r.labelSelector]));
    expect(selectors.CanaryPolicy).toBe('canaryd.dev/shard=a');
    // The objects of the policies are watched whole: the user's Deployments carry no shard label.
    expect(selectors.Deployment).toBeUndefined();
    expect(inShard(policy({ [SHARD_LABEL]: 'a' }), 'a')).toBe(true);
    expect(inShard(policy({ [SHARD_LABEL]: 'a' }), 'b')).toBe(false);
    expect(inShard(policy({ [SHARD_LABEL]: 'a' }), undefined)).toBe(false);
    expect(inShard(policy(), undefined)).toBe(true);
    expect(inShard(policy(), 'a')).toBe(false);
  });

  it('each shard elects its own leader and keeps its own notification outbox', () => {
    expect(shardLeaseName('canaryd-leader', undefined)).toBe('canaryd-leader');
    expect(shardLeaseName('canaryd-leader', 'a')).toBe('canaryd-leader-a');
    expect(shardOutbox('canaryd-system', undefined)).toBe('canaryd-system/canaryd-notifications');
    expect(shardOutbox('canaryd-system', 'a')).toBe('canaryd-system/canaryd-notifications-a');
  });

  it('takes --shard or CANARYD_SHARD, and refuses a name that cannot be a label value and a Lease name', () => {
    expect(loadSettings(['--shard', 'eu-1'], {}).shard).toBe('eu-1');
    expect(loadSettings([], { CANARYD_SHARD: 'b' }).shard).toBe('b');
    expect(loadSettings([], {}).shard).toBeUndefined();
    for (const bad of ['A', 'a_b', '-a', 'a'.repeat(41)]) {
      expect(() => loadSettings(['--shard', bad], {})).toThrow(SettingsError);
    }
    expect(() => loadSettings(['--shard', 'Eu'], {})).toThrow(/--shard \(CANARYD_SHARD\) "Eu": expected a shard name/);
  });
});

class StatusKube extends FakeKube implements StatusWriter {
  conflictNext = false;
  async replaceStatus<T extends KubeObject>(object: T): Promise<T> {
    if (this.conflictNext) {
      this.conflictNext = false;
      throw new KubeError('Conflict', 'the object has been modified', { status: 409 });
    }
    return this.replace(object);
  }
}

describe('a policy moved to another shard', () => {
  const cachedFor = (shard: string | undefined, live: StatusKube) => {
    const store = new ObjectStore();
    const api = new CachedKubeApi(live, store, {
      synced: () => true,
      inScope: (object) => object.kind !== 'CanaryPolicy' || inShard(object, shard),
    });
    return { store, api };
  };

  it('is not read back by the shard it left: after its status write conflicts, the policy is gone for it', async () => {
    const live = new StatusKube(policy({ [SHARD_LABEL]: 'b' }, '7'));
    const { store, api } = cachedFor('a', live);
    store.put(policy({ [SHARD_LABEL]: 'a' }, '5'));
    live.conflictNext = true;
    await expect(api.replaceStatus(policy({ [SHARD_LABEL]: 'a' }, '5'))).rejects.toThrow('modified');
    // The recovering read finds it labelled b: not this replica's any more.
    expect(await api.get(ref)).toBeNull();
    expect(store.get('CanaryPolicy', 'shop', 'web')).toBeUndefined();
  });

  it('is not kept by the shard it left when a write of that shard answers with the new label', async () => {
    const live = new StatusKube(policy({ [SHARD_LABEL]: 'b' }, '7'));
    const { store, api } = cachedFor('a', live);
    // The watch already said it left (a delete); a write in flight answers later.
    await api.replaceStatus(policy({ [SHARD_LABEL]: 'b' }));
    expect(store.get('CanaryPolicy', 'shop', 'web')).toBeUndefined();
    expect(await api.get(ref)).toBeNull();
  });
});
