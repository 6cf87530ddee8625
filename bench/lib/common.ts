// What every benchmark and drill shares: arguments, progress lines, percentiles, tables, the
// machine description and the JSON results file.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../e2e/cluster/cluster.ts';

export type Flags = Record<string, string | boolean>;

/** `name --key value --flag` → { names, flags }. */
export function parseCli(argv: string[]): { names: string[]; flags: Flags } {
  const names: string[] = [];
  const flags: Flags = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg.startsWith('--')) {
      // Only the first '=' separates: --node-options=--max-semi-space-size=2 keeps its value whole.
      const equals = arg.indexOf('=');
      const key = equals < 0 ? arg.slice(2) : arg.slice(2, equals);
      const inline = equals < 0 ? undefined : arg.slice(equals + 1);
      const next = argv[i + 1];
      if (inline !== undefined) flags[key] = inline;
      else if (next !== undefined && !next.startsWith('--')) {
        flags[key] = next;
        i++;
      } else flags[key] = true;
    } else names.push(arg);
  }
  return { names, flags };
}

export function intFlag(flags: Flags, key: string, fallback: number): number {
  const raw = flags[key];
  if (raw === undefined || raw === true) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`--${key} ${raw}: expected a non-negative integer`);
  return value;
}

/** A flag that is on or off: `--x`, `--x on|off|true|false`; `fallback` when not given. */
export function switchFlag(flags: Flags, key: string, fallback: boolean): boolean {
  const raw = flags[key];
  if (raw === undefined) return fallback;
  if (raw === true || raw === 'on' || raw === 'true') return true;
  if (raw === 'off' || raw === 'false') return false;
  throw new Error(`--${key} ${raw}: expected on or off`);
}

/** A flag holding words separated by spaces (--node-options="--a --b"); none when not given. */
export function wordsFlag(flags: Flags, key: string): string[] {
  const raw = flags[key];
  return typeof raw === 'string' ? raw.split(/\s+/).filter((w) => w !== '') : [];
}

const started = Date.now();
/** A progress line, with seconds since the run started. */
export function say(line: string): void {
  console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${line}`);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))] as number;
}

export interface Summary {
  n: number;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
  min: number | null;
  mean: number | null;
}

export function summarise(values: number[]): Summary {
  const mean = values.length ? values.reduce((a, b) => a + b, 0) / values.length : null;
  return {
    n: values.length,
    p50: percentile(values, 50),
    p90: percentile(values, 90),
    p99: percentile(values, 99),
    max: values.length ? Math.max(...values) : null,
    min: values.length ? Math.min(...values) : null,
    mean: mean === null ? null : Math.round(mean * 100) / 100,
  };
}

/** Prints a plain-text table. */
export function table(headers: string[], rows: Array<Array<string | number | null | undefined>>): void {
  const cells = rows.map((row) => row.map((c) => (c === null || c === undefined ? '–' : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');
  console.log(line(headers));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of cells) console.log(line(r));
}

export function machine() {
  let commit = '';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
  } catch {
    // Not a git checkout: the results just do not name a commit.
  }
  const cpu = cpus();
  return {
    cpus: cpu.length,
    cpuModel: cpu[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    commit,
    note: 'shared machine (other engineers run e2e clusters on it); numbers are indicative',
  };
}

/** CANARYD_BENCH_FROM_SOURCE=1: the benchmarks run canaryd's sources, not the image's tree. */
export const FROM_SOURCE = process.env.CANARYD_BENCH_FROM_SOURCE === '1';
/**
 * CANARYD_BENCH_ENTRY=/path/to/main.js: the benchmarks run that entry instead (another build of
 * canaryd to compare, e.g. a bundle), with the image's Node flags.
 */
export const OTHER_ENTRY = process.env.CANARYD_BENCH_ENTRY || undefined;

/** Writes results/<name>-<YYYY-MM-DD>.json and returns its path relative to the repo. */

export function writeResults(name: string, data: Record<string, unknown>): string {
  const dir = join(REPO_ROOT, 'results');
  mkdirSync(dir, { recursive: true });
  const date = new Date().toISOString().slice(0, 10);
  const file = join(dir, `${name}-${date}.json`);
  // What canaryd ran as (bench/lib/canaryd.ts canarydEntry).
  const entry =
    OTHER_ENTRY !== undefined
      ? `${OTHER_ENTRY} (CANARYD_BENCH_ENTRY)`
      : FROM_SOURCE
        ? 'src/main.ts (types stripped at load)'
        : 'dist/image/src/main.js (types stripped at build, as the image runs it)';
  const body = { name, date: new Date().toISOString(), machine: machine(), entry, ...data };
  writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`);
  say(`results written to results/${name}-${date}.json`);
  return `results/${name}-${date}.json`;
}

export const round = (value: number | null | undefined, digits = 2): number | null =>
  value === null || value === undefined || !Number.isFinite(value) ? null : Number(value.toFixed(digits));
