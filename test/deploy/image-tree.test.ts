// The tree the image runs (scripts/strip-types.ts): canaryd as JavaScript, types stripped at build
// time so Node never loads its TypeScript stripper. It must run with stripping switched off, and
// keep every line where src/ has it, so the image's stack traces point at the real source lines.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImageTree, imageNodeFlags, REPO, rewriteSpecifiers, stripModule } from '../../scripts/strip-types.ts';

// Inside the repo so that the tree finds node_modules the way /app/src finds /app/node_modules.
const tree = join(REPO, 'dist', `image-test-${process.pid}`);

// With the image's own Node flags (its ENTRYPOINT's), so a flag this Node refuses fails here.
const runNode = (args: string[]) =>
  spawnSync(process.execPath, [...imageNodeFlags(), ...args], { encoding: 'utf8', timeout: 60_000 });

function* modules(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* modules(path);
    else yield path;
  }
}

describe('stripModule', () => {
  it('blanks the types and keeps every line and column', () => {
    const source = [
      "import type { Policy } from './policy.ts';",
      "import { decide } from '../engine/decide.ts';",
      'export function weight(policy: Policy, step: number): number {',
      '  return decide(policy, step as number) ?? 0;',
      '}',
    ].join('\n');
    const code = stripModule(source, 'src/x.ts');
    const lines = code.split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[0]?.trim()).toBe('');
    expect(lines[1]).toBe("import { decide } from '../engine/decide.js';");
    expect(lines[2]?.indexOf('weight(')).toBe(source.split('\n')[2]?.indexOf('weight('));
    expect(lines[3]?.indexOf('decide(')).toBe(source.split('\n')[3]?.indexOf('decide('));
    expect(code).not.toContain('Policy');
    expect(code).not.toContain('number');
  });

  it('names the file when a module uses syntax that cannot just be erased', () => {
    expect(() => stripModule('enum Phase { Idle }', 'src/engine/phase.ts')).toThrow(
      /^src\/engine\/phase\.ts: cannot strip types/,
    );
  });

  it('points relative .ts specifiers at .js: imports, exports, import() and new URL()', () => {
    const code = [
      "import { a } from './a.ts';",
      'export { b } from "../b/b.ts";',
      "const c = await import('./c.ts');",
      "const url = new URL('./gen-index.ts', import.meta.url);",
      "import * as k8s from '@kubernetes/client-node';",
      "throw new Error('see sequential-queries.ts');",
    ].join('\n');
    expect(rewriteSpecifiers(code).split('\n')).toEqual([
      "import { a } from './a.js';",
      'export { b } from "../b/b.js";',
      "const c = await import('./c.js');",
      "const url = new URL('./gen-index.js', import.meta.url);",
      "import * as k8s from '@kubernetes/client-node';",
      "throw new Error('see sequential-queries.ts');",
    ]);
  });
});

describe("the image's Node flags", () => {
  it('are those of the Dockerfile ENTRYPOINT, and this Node accepts them', () => {
    const flags = imageNodeFlags();
    expect(flags).toContain('--no-experimental-strip-types');
    expect(flags).toContain('--memory-saver-mode');
    expect(flags).toContain('--max-opt=1');
    const script = 'console.log(JSON.stringify(process.execArgv))';
    const result = runNode(['-e', script]);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual([...flags, '-e', script]);
  });

  it('names the Dockerfile when its ENTRYPOINT is missing or not node', () => {
    const repo = mkdtempSync(join(tmpdir(), 'canaryd-dockerfile-'));
    try {
      writeFileSync(join(repo, 'Dockerfile'), 'FROM node:24-bookworm-slim\n');
      expect(() => imageNodeFlags(repo)).toThrow('Dockerfile: no ENTRYPOINT');
      writeFileSync(join(repo, 'Dockerfile'), 'FROM node:24-bookworm-slim\nENTRYPOINT ["/bin/sh", "run.sh"]\n');
      expect(() => imageNodeFlags(repo)).toThrow(/^Dockerfile: ENTRYPOINT is not \["node", …flags, "script"\]/);
    } finally {
      rmSync(repo, { recursive: true, force: true });
    }
  });
});

describe('the image tree of this repository', () => {
  let count = 0;
  beforeAll(() => {
    count = buildImageTree(tree);
  });
  afterAll(() => rmSync(tree, { recursive: true, force: true }));

  it('holds every module of src/ and bin/ as JavaScript, line for line', () => {
    const sources = [...modules(join(REPO, 'src')), ...modules(join(REPO, 'bin'))];
    expect(count).toBe(sources.length);
    for (const source of sources) {
      const name = relative(REPO, source).replace(/\.ts$/, '.js');
      const built = readFileSync(join(tree, name), 'utf8');
      expect(built.split('\n').length, name).toBe(readFileSync(source, 'utf8').split('\n').length);
      expect(built, name).not.toMatch(/['"]\.{1,2}\/[^'"\n]*\.ts['"]/);
    }
  });

  it('starts canaryd with type stripping switched off (the whole composition root loads)', () => {
    // run() imports the composition root before it reads the flags, so a flag error means every
    // module canaryd runs was loaded as JavaScript.
    const result = runNode([join(tree, 'bin', 'canaryd.js'), '--no-such-flag']);
    expect(result.stderr).toContain("Unknown option '--no-such-flag'");
    expect(result.stderr).not.toContain('ERR_UNKNOWN_FILE_EXTENSION');
    expect(result.status).toBe(2);
  });

  it('builds from the command line with one line of progress and no warning', () => {
    const out = join(REPO, 'dist', `image-cli-test-${process.pid}`);
    try {
      const result = spawnSync(process.execPath, [join(REPO, 'scripts', 'strip-types.ts'), '--out', out], {
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(result.stdout).toMatch(
        new RegExp(`^strip-types: ${count} modules in .*image-cli-test-\\d+ \\(\\d+ ms\\)\\n$`),
      );
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('runs kubectl-canary: version and an offline validate of an example policy', () => {
    const version = runNode([join(tree, 'bin', 'kubectl-canary.js'), 'version']);
    const manifest = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
    expect(version.stdout).toContain(manifest.version);
    expect(version.status).toBe(0);
    const validate = runNode([
      join(tree, 'bin', 'kubectl-canary.js'),
      'validate',
      join(REPO, 'config', 'examples', 'ingress-nginx-canary.yaml'),
    ]);
    expect(validate.stderr + validate.stdout).toContain('valid');
    expect(validate.status, validate.stderr).toBe(0);
  });
});
