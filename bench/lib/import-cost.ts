// What loading code costs: a fresh Node process (with the install's V8 flags) imports one module,
// collects garbage, and reports its resident set and heap. Most of an idle controller's memory
// is code (shared/notes/memory.md); this says which module brings it.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from '../../e2e/cluster/cluster.ts';
import { INSTALL_NODE_OPTIONS } from './canaryd.ts';
import { round } from './common.ts';

export interface ImportCost {
  module: string;
  rssMiB: number | null;
  rssAnonMiB: number | null;
  rssFileMiB: number | null;
  heapUsedMiB: number | null;
  externalMiB: number | null;
  error?: string;
}

/** A module measured after loadClientNodeLean(), as canaryd's entry (src/main.ts) loads it. */
const LEAN = 'lean: ';

/** The modules measured, each in its own process: canaryd's dependencies, then its own layers. */
export const IMPORTED = [
  '',
  // A TypeScript file of a few lines and no imports: what stripping types at load time costs.
  'src/kube/api.ts',
  'yaml',
  'zod',
  'prom-client',
  'fastify',
  'node-cron',
  '@kubernetes/client-node',
  'src/kube/client.ts',
  // The same with client-node loaded lean (src/kube/client-node/lean.ts), as src/main.ts runs it.
  `${LEAN}src/kube/client.ts`,
  'src/kube/informers.ts',
  'src/policy/schema.ts',
  'src/analysis/index.ts',
  'src/server/index.ts',
  'src/controller/controller.ts',
  'src/canaryd.ts',
  `${LEAN}src/canaryd.ts`,
];

const PROBE = `
const spec = process.env.CANARYD_IMPORT;
const lean = process.env.CANARYD_LEAN;
if (lean) (await import(lean)).loadClientNodeLean();
if (spec) await import(spec);
globalThis.gc?.(); globalThis.gc?.();
await new Promise((r) => setTimeout(r, 200));
const status = (await import('node:fs')).readFileSync('/proc/self/status', 'utf8');
const kb = (f) => Number(new RegExp('^' + f + ':\\\\s+(\\\\d+)', 'm').exec(status)?.[1] ?? 'NaN');
const m = process.memoryUsage();
console.log(JSON.stringify({ rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile'), heapUsed: m.heapUsed, external: m.external }));
`;

export function importCost(module: string): ImportCost {
  const lean = module.startsWith(LEAN) ? pathToFileURL(join(REPO_ROOT, 'src/kube/client-node/lean.ts')).href : '';
  const path = module.slice(lean ? LEAN.length : 0);
  const spec = path === '' ? '' : path.startsWith('src/') ? pathToFileURL(join(REPO_ROOT, path)).href : path;
  try {
    const out = execFileSync(
      process.execPath,
      [
        ...INSTALL_NODE_OPTIONS,
        '--expose-gc',
        '--disable-warning=ExperimentalWarning',
        '--input-type=module',
        '-e',
        PROBE,
      ],
      {
        cwd: REPO_ROOT,
        encoding: 'utf8',
        env: { ...process.env, CANARYD_IMPORT: spec, CANARYD_LEAN: lean },
        timeout: 60_000,
      },
    );
    const r = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as Record<string, number>;
    return {
      module: module || '(nothing)',
      rssMiB: round((r.rss ?? Number.NaN) / 1024, 1),
      rssAnonMiB: round((r.anon ?? Number.NaN) / 1024, 1),
      rssFileMiB: round((r.file ?? Number.NaN) / 1024, 1),
      heapUsedMiB: round((r.heapUsed ?? Number.NaN) / 2 ** 20, 1),
      externalMiB: round((r.external ?? Number.NaN) / 2 ** 20, 1),
    };
  } catch (error) {
    return {
      module,
      rssMiB: null,
      rssAnonMiB: null,
      rssFileMiB: null,
      heapUsedMiB: null,
      externalMiB: null,
      error: (error as Error).message.split('\n')[0] ?? 'failed',
    };
  }
}
