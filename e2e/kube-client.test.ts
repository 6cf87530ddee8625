// The KubeApi port over the real apiserver: what every router and the controller rely on.
import { describe, expect, it } from 'vitest';
import { isKubeError } from '../src/kube/api.ts';
import { ClientKubeApi } from '../src/kube/client.ts';
import type { KubeObject, Service } from '../src/kube/objects.ts';
import { installCrd } from './support/crd.ts';
import { useTestEnv } from './support/env.ts';

describe('ClientKubeApi against the real apiserver', () => {
  const env = useTestEnv('kube');

  it('reads, lists, creates, patches, replaces with conflicts and deletes idempotently', async () => {
    const kube = new ClientKubeApi(env.kc);
    const ref = { apiVersion: 'v1', kind: 'Service', namespace: env.namespace, name: 'api' };
    expect(await kube.get(ref)).toBeNull();
    const created = await kube.create<Service>({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'api', namespace: env.namespace, labels: { app: 'api' } },
      spec: { selector: { app: 'api' }, ports: [{ port: 80 }] },
    });
    expect(created.metadata.uid).toBeTruthy();
    await expect(
      kube.create<Service>({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'api', namespace: env.namespace },
        spec: { ports: [{ port: 80 }] },
      }),
    ).rejects.toSatisfy((error) => isKubeError(error, 'AlreadyExists'));

    // A merge patch keeps the patch's own metadata (annotations, labels) and removes with null.
    await kube.mergePatch(ref, { metadata: { annotations: { 'example.com/a': '1' }, labels: { tier: 'web' } } });
    const patched = await kube.mergePatch<Service>(ref, {
      metadata: { labels: { tier: null } },
      spec: { selector: { version: 'v1' } },
    });
    expect(patched.metadata.annotations?.['example.com/a']).toBe('1');
    expect(patched.metadata.labels).toEqual({ app: 'api' });
    expect(patched.spec.selector).toEqual({ app: 'api', version: 'v1' });

    const listed = await kube.list<Service>('v1', 'Service', env.namespace, 'app=api');
    expect(listed.map((s) => [s.kind, s.metadata.name])).toEqual([['Service', 'api']]);

    // A replace with a stale resourceVersion is a Conflict, not a silent overwrite.
    const stale = structuredClone(created);
    await expect(kube.replace(stale)).rejects.toSatisfy((error) => isKubeError(error, 'Conflict'));

    await kube.delete(ref);
    await kube.delete(ref); // already gone: not an error
    await expect(kube.mergePatch(ref, { metadata: { labels: { a: 'b' } } })).rejects.toSatisfy((error) =>
      isKubeError(error, 'NotFound'),
    );
  });

  it('writes the CanaryPolicy status subresource and refuses a stale one', async () => {
    await installCrd(env.kc);
    const kube = new ClientKubeApi(env.kc);
    const policy = await kube.create<KubeObject>({
      apiVersion: 'canaryd.dev/v1alpha1',
      kind: 'CanaryPolicy',
      metadata: { name: 'web', namespace: env.namespace },
      spec: { target: { deployment: 'web', service: 'web' } },
    });
    const written = await kube.replaceStatus<KubeObject>({
      ...policy,
      status: { phase: 'idle', release: { version: 1, nested: { a: [1, 2] } } },
    });
    const read = await kube.get<KubeObject & { status?: unknown }>({
      apiVersion: 'canaryd.dev/v1alpha1',
      kind: 'CanaryPolicy',
      namespace: env.namespace,
      name: 'web',
    });
    expect(read?.status).toEqual({ phase: 'idle', release: { version: 1, nested: { a: [1, 2] } } });
    await expect(kube.replaceStatus({ ...policy, status: { phase: 'stale' } })).rejects.toSatisfy((error) =>
      isKubeError(error, 'Conflict'),
    );
    expect(written.metadata.resourceVersion).not.toBe(policy.metadata.resourceVersion);
  });
});
