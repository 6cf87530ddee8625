import { describe, expect, it } from 'vitest';
import { isKubeError } from '../../src/kube/api.ts';
import type { Service } from '../../src/kube/objects.ts';
import { applyMergePatch, FakeKube, matchesLabelSelector } from './fake-kube.ts';

const svc = (name: string, labels?: Record<string, string>): Service => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'shop', ...(labels === undefined ? {} : { labels }) },
  spec: { selector: { app: name } },
});
const ref = (name: string) => ({ apiVersion: 'v1', kind: 'Service', namespace: 'shop', name });

describe('FakeKube (the in-memory KubeApi other tests build on)', () => {
  it('merge-patches as RFC 7386 says: objects merge, null deletes, arrays replace', () => {
    expect(applyMergePatch({ a: { b: 1, c: 2 }, d: [1, 2] }, { a: { b: null, e: 3 }, d: [3] })).toEqual({
      a: { c: 2, e: 3 },
      d: [3],
    });
  });

  it('matches equality- and set-based label selectors', () => {
    const labels = { app: 'web', tier: 'front' };
    expect(matchesLabelSelector(labels, 'app=web,tier==front')).toBe(true);
    expect(matchesLabelSelector(labels, 'app!=web')).toBe(false);
    expect(matchesLabelSelector(labels, 'tier in (front, back),!canary')).toBe(true);
    expect(matchesLabelSelector(labels, 'app notin (web)')).toBe(false);
    expect(matchesLabelSelector(labels, 'tier')).toBe(true);
  });

  it('keeps API-server fields, bumps resourceVersion and generation, and drops emptied maps', async () => {
    const kube = new FakeKube({ ...svc('web'), metadata: { ...svc('web').metadata, annotations: { a: '1' } } });
    const before = kube.peek<Service>(ref('web'))!;
    const after = await kube.mergePatch<Service>(ref('web'), {
      metadata: { annotations: { a: null } },
      spec: { type: 'ClusterIP' },
    });
    expect(after.metadata.uid).toBe(before.metadata.uid);
    expect(Number(after.metadata.resourceVersion)).toBeGreaterThan(Number(before.metadata.resourceVersion));
    expect(after.metadata.generation).toBe(2);
    expect(after.metadata).not.toHaveProperty('annotations');
  });

  it('fails like the API server: AlreadyExists, NotFound, Conflict on a stale replace, and injected errors', async () => {
    const kube = new FakeKube(svc('web'));
    await expect(kube.create(svc('web'))).rejects.toSatisfy((e) => isKubeError(e, 'AlreadyExists'));
    await expect(kube.mergePatch(ref('nope'), {})).rejects.toSatisfy((e) => isKubeError(e, 'NotFound'));
    const stale = kube.peek<Service>(ref('web'))!;
    await kube.mergePatch(ref('web'), { metadata: { labels: { x: 'y' } } });
    await expect(kube.replace(stale)).rejects.toSatisfy((e) => isKubeError(e, 'Conflict'));
    kube.failNext('get', 'Unavailable');
    await expect(kube.get(ref('web'))).rejects.toSatisfy((e) => isKubeError(e, 'Unavailable'));
    expect(await kube.get(ref('web'))).not.toBeNull();
    await kube.delete(ref('web'));
    await kube.delete(ref('web')); // already gone is not an error
    expect(kube.writes().map((w) => w.verb)).toEqual([
      'create',
      'mergePatch',
      'mergePatch',
      'replace',
      'delete',
      'delete',
    ]);
  });

  it('lists by namespace, kind and label selector', async () => {
    const kube = new FakeKube(svc('a', { team: 'x' }), svc('b', { team: 'y' }), {
      ...svc('c', { team: 'x' }),
      metadata: { name: 'c', namespace: 'other', labels: { team: 'x' } },
    });
    expect((await kube.list('v1', 'Service', 'shop', 'team=x')).map((s) => s.metadata.name)).toEqual(['a']);
    expect(await kube.list('v1', 'ConfigMap', 'shop')).toEqual([]);
  });
});
