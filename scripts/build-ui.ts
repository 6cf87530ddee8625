// Bundles the dashboard (ui/) into dist/ui: index.html, app.js, app.css. canaryd serves that
// directory under /ui (src/server/ui.ts); `kubectl canary dashboard` serves it locally.
// Usage: node scripts/build-ui.ts [--out DIR]
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const outIndex = process.argv.indexOf('--out');
const out = outIndex >= 0 ? (process.argv[outIndex + 1] ?? '') : join(repo, 'dist', 'ui');

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const result = await build({
  entryPoints: { app: join(repo, 'ui', 'src', 'main.tsx') },
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: false,
  jsx: 'automatic',
  jsxImportSource: 'preact',
  outdir: out,
  metafile: true,
  logLevel: 'warning',
});
copyFileSync(join(repo, 'ui', 'index.html'), join(out, 'index.html'));
const sizes = Object.entries(result.metafile.outputs).map(
  ([file, { bytes }]) => `${file} ${(bytes / 1024).toFixed(1)} KiB`,
);
console.error(`[build-ui] ${sizes.join(', ')}`);
