// The KubeApi port over the real apiserver: what every router and the controller rely on.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isKubeError } from '../src/kube/api.ts';
import { ClientKubeApi } from '../src/kube/client.ts';
import type { KubeObject, Service } from '../src/kube/objects.ts';
import { installCrd } from './support/crd.ts';
import { useTestEnv } from './support/env.ts';

const ROOT = join(import.meta.dirname, '..');
const url = (path: string) => pathToFileURL(join(ROOT, path)).href;

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

  it("as canaryd loads it (client-node without its models), answers are the API server's JSON", () => {
    // canaryd's entry points client-node's serializer at a pass-through (src/kube/client-node/
    // lean.ts): a fresh process, as canaryd runs, writes and reads a Deployment and a Service.
    const probe = `
      (await import(${JSON.stringify(url('src/kube/client-node/lean.ts'))})).loadClientNodeLean();
      const { ClientKubeApi, loadKubeConfig } = await import(${JSON.stringify(url('src/kube/client.ts'))});
      const kube = new ClientKubeApi(loadKubeConfig(${JSON.stringify(env.kubeconfig)}));
      const ns = ${JSON.stringify(env.namespace)};
      const labels = { app: 'lean' };
      const created = await kube.create({
        apiVersion: 'apps/v1', kind: 'Deployment',
        metadata: { name: 'lean', namespace: ns, labels, annotations: { 'example.com/gone': 'x' } },
        spec: { replicas: 0, selector: { matchLabels: labels },
          template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'example/app:1' }] } } },
      });
      const patched = await kube.mergePatch({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'lean' },
        { metadata: { annotations: { 'example.com/gone': null } }, spec: { paused: true } });
      const read = await kube.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'lean' });
      const listed = await kube.list('apps/v1', 'Deployment', ns, 'app=lean');
      const service = await kube.create({ apiVersion: 'v1', kind: 'Service',
        metadata: { name: 'lean', namespace: ns }, spec: { selector: labels, ports: [{ port: 80, targetPort: 'http' }] } });
      await kube.delete({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'lean' });
      // The watch caches list in pages: every page's continue token is followed.
      await kube.create({ apiVersion: 'v1', kind: 'Service',
        metadata: { name: 'lean-2', namespace: ns }, spec: { selector: labels, ports: [{ port: 80 }] } });
      const { startInformers, WATCHED } = await import(${JSON.stringify(url('src/kube/informers.ts'))});
      const { ObjectStore } = await import(${JSON.stringify(url('src/kube/object-store.ts'))});
      const store = new ObjectStore();
      const informers = startInformers(loadKubeConfig(${JSON.stringify(env.kubeconfig)}),
        WATCHED.filter((r) => r.kind === 'Service'), store, () => {}, () => {}, ns, { pageSize: 1 });
      const deadline = Date.now() + 30_000;
      while (!informers.isSynced() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const cachedServices = store.list('Service', ns).map((o) => o.metadata.name).sort();
      await informers.stop();
      // What the process holds, before JSON carries it here: plain objects with string times.
      const held = [created, patched, read, listed[0], service].map(
        (a) => \`\${a.constructor.name} \${typeof a.metadata.creationTimestamp}\`,
      );
      console.log(JSON.stringify({ created, patched, read, listed, service, held, cachedServices }));
    `;
    const out = execFileSync(
      process.execPath,
      ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', probe],
      { cwd: ROOT, encoding: 'utf8', timeout: 60_000 },
    );
    const answers = JSON.parse(out.trim().split('\n').at(-1) ?? '{}');
    expect(answers.held).toEqual(Array(5).fill('Object string'));
    for (const answer of [answers.created, answers.patched, answers.read, answers.service]) {
      expect(answer.metadata.uid).toBeTruthy();
    }
    expect(answers.created.metadata.annotations).toEqual({ 'example.com/gone': 'x' });
    expect(answers.patched.metadata.annotations?.['example.com/gone']).toBeUndefined(); // null removes
    expect(answers.read.spec.paused).toBe(true);
    expect(answers.read.metadata.managedFields[0].time).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    expect(answers.listed.map((d: KubeObject) => [d.kind, d.metadata.name])).toEqual([['Deployment', 'lean']]);
    expect(answers.service.spec.ports[0].targetPort).toBe('http');
    expect(answers.cachedServices).toEqual(['lean', 'lean-2']); // two pages of one
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
