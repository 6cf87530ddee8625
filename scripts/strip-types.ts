// What the image runs: canaryd's sources with their types stripped ahead of time, as JavaScript.
//
// Node 24 runs the TypeScript sources directly, but its type stripper (amaro, a WebAssembly
// build of swc) costs ~17 MiB of RSS for the life of the process (docs/scale.md, "Memory").
// This applies the same stripper at build time: `module.stripTypeScriptTypes` in strip mode only
// blanks the types, so every line and column stays where it was and stack traces from the image
// point at the real lines of src/. Relative `.ts` specifiers become `.js`; nothing else changes.
//
//   node scripts/strip-types.ts [--out DIR]     (default dist/image: src/, bin/, package.json)
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('..', import.meta.url));
export const DEFAULT_OUT = join(REPO, 'dist', 'image');

/** A quoted relative path ending in `.ts`: an import, export, import() or new URL(…, import.meta.url). */
const RELATIVE_TS = /(['"])(\.{1,2}\/[^'"\n]*?)\.ts\1/g;

/** One module as the image holds it: types blanked, relative `.ts` specifiers pointing at `.js`. */
export function stripModule(source: string, file: string): string {
  let code: string;
  try {
    code = withoutExperimentalWarning(() => stripTypeScriptTypes(source, { mode: 'strip' }));
  } catch (error) {
    // Only erasable syntax is allowed (tsconfig erasableSyntaxOnly); anything else stops the build.
    throw new Error(`${file}: cannot strip types: ${(error as Error).message}`, { cause: error });
  }
  return rewriteSpecifiers(code);
}

/**
 * Node warns once per process that stripTypeScriptTypes is experimental; in a build, a benchmark
 * or a test that line says nothing, so only that warning is held back, any other still shows.
 */
function withoutExperimentalWarning<T>(strip: () => T): T {
  const emit = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const text = typeof warning === 'string' ? warning : warning.message;
    if (text.includes('stripTypeScriptTypes')) return;
    (emit as (...args: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    return strip();
  } finally {
    process.emitWarning = emit;
  }
}

/** `'./x.ts'` → `'./x.js'` for every quoted relative path (bin/ entries import ../src/*.ts). */
export function rewriteSpecifiers(code: string): string {
  return code.replace(RELATIVE_TS, (_, quote: string, path: string) => `${quote}${path}.js${quote}`);
}

function* filesUnder(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* filesUnder(path);
    else yield path;
  }
}

/**
 * The flags the image gives Node (its Dockerfile's ENTRYPOINT, between `node` and the script):
 * whatever runs "canaryd as the image runs it" (benchmarks, the install e2e) runs with these.
 */
export function imageNodeFlags(repo: string = REPO): string[] {
  const dockerfile = readFileSync(join(repo, 'Dockerfile'), 'utf8');
  const line = dockerfile.split('\n').findLast((l) => l.startsWith('ENTRYPOINT '));
  if (line === undefined) throw new Error('Dockerfile: no ENTRYPOINT');
  const entrypoint: unknown = JSON.parse(line.slice('ENTRYPOINT '.length));
  if (!Array.isArray(entrypoint) || entrypoint[0] !== 'node' || entrypoint.length < 2) {
    throw new Error(`Dockerfile: ENTRYPOINT is not ["node", …flags, "script"]: ${line}`);
  }
  return entrypoint.slice(1, -1).map(String);
}

/** Writes the image's tree to `out` (replacing it); returns how many modules it holds. */
export function buildImageTree(out: string = DEFAULT_OUT, repo: string = REPO): number {
  rmSync(out, { recursive: true, force: true });
  let modules = 0;
  const write = (to: string, text: string) => {
    mkdirSync(dirname(to), { recursive: true });
    writeFileSync(to, text);
    modules += 1;
  };
  for (const file of filesUnder(join(repo, 'src'))) {
    const name = relative(repo, file);
    if (file.endsWith('.d.ts')) continue;
    if (!file.endsWith('.ts')) throw new Error(`${name}: only TypeScript modules belong in src/`);
    write(join(out, name.replace(/\.ts$/, '.js')), stripModule(readFileSync(file, 'utf8'), name));
  }
  for (const file of filesUnder(join(repo, 'bin'))) {
    write(join(out, relative(repo, file)), rewriteSpecifiers(readFileSync(file, 'utf8')));
  }
  // "type": "module" for the .js files, and the version `kubectl canary version` prints.
  copyFileSync(join(repo, 'package.json'), join(out, 'package.json'));
  return modules;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const at = process.argv.indexOf('--out');
  const out = at === -1 ? DEFAULT_OUT : (process.argv[at + 1] ?? '');
  if (out === '') {
    console.error('strip-types: --out needs a directory');
    process.exit(2);
  }
  const started = Date.now();
  const modules = buildImageTree(out);
  console.log(`strip-types: ${modules} modules in ${relative(process.cwd(), out) || '.'} (${Date.now() - started} ms)`);
}
