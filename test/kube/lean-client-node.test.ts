// canaryd's entry loads client-node without its generated index (src/kube/client-node/lean.ts):
// the modules canaryd imports still link and work, and the index never loads. Each case runs in a
// fresh Node process, as canaryd does, recording every module URL resolved.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const url = (path: string) => pathToFileURL(join(ROOT, path)).href;

/** Imports canaryd's Kubernetes client in a fresh process; returns the URLs of client-node it loaded. */
function loaded(lean: boolean): { urls: string[]; built: boolean } {
  const probe = `
    import { registerHooks } from 'node:module';
    const urls = [];
    registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); urls.push(r.url); return r; } });
    if (${lean}) (await import('${url('src/kube/client-node/lean.ts')}')).loadClientNodeLean();
    const { ClientKubeApi, loadKubeConfig } = await import('${url('src/kube/client.ts')}');
    await import('${url('src/kube/informers.ts')}');
    const kc = loadKubeConfig('${join(ROOT, 'test', 'kube', 'fixtures', 'kubeconfig.yaml')}');
    const api = new ClientKubeApi(kc);
    console.log(JSON.stringify({ urls, built: typeof api.replaceStatus === 'function' }));
  `;
  const out = execFileSync(
    process.execPath,
    ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', probe],
    { cwd: ROOT, encoding: 'utf8', timeout: 60_000 },
  );
  const result = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as { urls: string[]; built: boolean };
  return { built: result.built, urls: result.urls.filter((u) => u.includes('@kubernetes/client-node')) };
}

const GENERATED_INDEX = /client-node\/dist\/gen\/(index|types\/ObjectParamAPI|types\/PromiseAPI)\.js$/;

describe('client-node loaded lean', () => {
  it('links KubeConfig, the object API, Watch and ListWatch without the generated index', () => {
    const { urls, built } = loaded(true);
    expect(built).toBe(true);
    expect(urls.some((u) => u.endsWith('/dist/config.js'))).toBe(true);
    expect(urls.some((u) => u.endsWith('/dist/object.js'))).toBe(true);
    expect(urls.filter((u) => GENERATED_INDEX.test(u))).toEqual([]);
    expect(urls.filter((u) => u.endsWith('/dist/api.js'))).toEqual([]);
    // Nor the generated models the library's serializer converts JSON with (~780 modules).
    expect(urls.filter((u) => u.includes('/dist/gen/models/'))).toEqual([]);
    expect(urls.filter((u) => u.endsWith('/dist/serializer.js'))).toEqual([]);
  });

  it('without it, the same modules work and load the whole generated index', () => {
    const { urls, built } = loaded(false);
    expect(built).toBe(true);
    expect(urls.some((u) => GENERATED_INDEX.test(u))).toBe(true);
    expect(urls.some((u) => u.includes('/dist/gen/models/'))).toBe(true);
  });
});
