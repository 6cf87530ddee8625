// The real canaryd as a child process of the benchmark, run as the image runs it (the tree of
// scripts/strip-types.ts, built once per benchmark run): its pid for /proc sampling, its JSON log
// lines, readiness, SIGKILL and restart.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../e2e/cluster/cluster.ts';
import { waitFor } from '../../e2e/cluster/wait.ts';
import { buildImageTree, imageNodeFlags } from '../../scripts/strip-types.ts';
import { FROM_SOURCE, OTHER_ENTRY, sleep } from './common.ts';
import { canarydMetrics, sumCounter } from './metrics.ts';

export interface LogLine {
  time: string;
  level: string;
  msg: string;
  [key: string]: unknown;
}

export interface Canaryd {
  pid: number;
  logFile: string;
  startedAt: number;
  child: ChildProcess;
  exited: Promise<number | null>;
  alive(): boolean;
  kill(): Promise<void>;
  stop(): Promise<void>;
  lines(): LogLine[];
  /** The address from the 'listening' log line, once it is there. */
  address(): string | undefined;
}

let counter = 0;
const running = new Set<Canaryd>();

/** For the runner's deadline and signal handlers: SIGKILL every canaryd this run started. */
export async function killAllCanaryd(): Promise<void> {
  await Promise.all([...running].map((c) => c.kill()));
}

/**
 * The V8 flags the install manifests give canaryd (deploy/deployment.yaml NODE_OPTIONS, a heap
 * cap inside the container's memory limit, a small young generation): benchmarks and drills
 * measure canaryd as installed.
 */
const INSTALL_MANIFEST = readFileSync(join(REPO_ROOT, 'deploy', 'deployment.yaml'), 'utf8');

export const INSTALL_NODE_OPTIONS: string[] = (() => {
  const value = /name: NODE_OPTIONS\s*\n\s*value: (.+)/.exec(INSTALL_MANIFEST)?.[1]?.trim();
  return value === undefined ? [] : value.split(/\s+/);
})();

/** Environment the install manifests set for the process itself (glibc's malloc arenas). */
export const INSTALL_PROCESS_ENV: Record<string, string> = (() => {
  const value = /name: MALLOC_ARENA_MAX\s*\n\s*value: "?(\d+)"?/.exec(INSTALL_MANIFEST)?.[1];
  const env: Record<string, string> = {};
  if (value !== undefined) env.MALLOC_ARENA_MAX = value;
  return env;
})();

/** The container memory limit of the install manifests, MiB: what canaryd must stay under. */
export const INSTALL_MEMORY_LIMIT_MIB: number = (() => {
  const value = /limits:[\s\S]*?memory: (\d+)Mi/.exec(INSTALL_MANIFEST)?.[1];
  return value === undefined ? Number.POSITIVE_INFINITY : Number(value);
})();

/**
 * How canaryd starts: as the image runs it (JavaScript with the types stripped at build time,
 * Node's own stripper switched off), built from the working tree when the benchmark starts, so
 * that editing src/ meanwhile does not change what is measured. CANARYD_BENCH_FROM_SOURCE=1 runs
 * src/main.ts as `node src/main.ts` does (type stripping at load: ~17 MiB more RSS);
 * CANARYD_BENCH_ENTRY runs another build (common.ts OTHER_ENTRY).
 */
let entry: string[] | undefined;
export function canarydEntry(): string[] {
  if (entry !== undefined) return entry;
  // The image's own Node flags (its ENTRYPOINT: --memory-saver-mode, stripping off); from
  // source, the same but with Node's type stripper on.
  const flags = imageNodeFlags(REPO_ROOT);
  if (OTHER_ENTRY !== undefined) {
    entry = [...flags, OTHER_ENTRY];
  } else if (FROM_SOURCE) {
    entry = [...flags.filter((f) => f !== '--no-experimental-strip-types'), join(REPO_ROOT, 'src', 'main.ts')];
  } else {
    const tree = join(REPO_ROOT, 'dist', 'image');
    buildImageTree(tree);
    entry = [...flags, join(tree, 'src', 'main.js')];
  }
  return entry;
}

/** `nodeOptions`: V8/Node flags added to the install's (e.g. --heapsnapshot-signal). */
export function spawnCanaryd(
  kubeconfig: string,
  logDir: string,
  args: string[] = [],
  nodeOptions: string[] = [],
): Canaryd {
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, `canaryd-${++counter}.log`);
  const fd = openSync(logFile, 'a');
  const startedAt = Date.now();
  const child = spawn(
    process.execPath,
    [
      ...INSTALL_NODE_OPTIONS,
      ...nodeOptions,
      // CANARYD_BENCH_CPU_PROF=1: a V8 CPU profile of canaryd in the log directory, written at exit.
      ...(process.env.CANARYD_BENCH_CPU_PROF === '1' ? ['--cpu-prof', `--cpu-prof-dir=${logDir}`] : []),
      ...canarydEntry(),
      '--kubeconfig',
      kubeconfig,
      '--listen',
      '127.0.0.1:0',
      ...args,
    ],
    { stdio: ['ignore', fd, fd], env: { ...process.env, ...INSTALL_PROCESS_ENV } },
  );
  closeSync(fd);
  if (child.pid === undefined) throw new Error('could not start canaryd');
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      exitCode = code;
      resolve(code);
    }),
  );
  const lines = (): LogLine[] => {
    const out: LogLine[] = [];
    for (const text of readFileSync(logFile, 'utf8').split('\n')) {
      if (!text.startsWith('{')) continue;
      try {
        out.push(JSON.parse(text) as LogLine);
      } catch {
        // A line cut by SIGKILL mid-write: not a log entry.
      }
    }
    return out;
  };
  const handle: Canaryd = {
    pid: child.pid,
    logFile,
    startedAt,
    child,
    exited,
    alive: () => exitCode === undefined,
    async kill() {
      if (exitCode === undefined) child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (exitCode === undefined) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
    lines,
    address: () => lines().find((l) => l.msg === 'listening')?.address as string | undefined,
  };
  running.add(handle);
  void exited.then(() => running.delete(handle));
  return handle;
}

/** Waits for /readyz 200; returns ms since the process was spawned. */
export async function waitReady(canaryd: Canaryd, timeoutMs = 120_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!canaryd.alive()) throw new Error(`canaryd exited before it was ready; see ${canaryd.logFile}`);
    const address = canaryd.address();
    if (address) {
      const res = await fetch(`${httpBase(address)}/readyz`, { signal: AbortSignal.timeout(2000) }).catch(() => null);
      if (res?.status === 200) return Date.now() - canaryd.startedAt;
    }
    await sleep(50);
  }
  throw new Error(`canaryd not ready after ${timeoutMs} ms; see ${canaryd.logFile}`);
}

export const httpBase = (address: string) => (address.startsWith('http') ? address : `http://${address}`);

export interface ProcSample {
  at: number;
  rssBytes: number;
  /** utime + stime in seconds. */
  cpuSeconds: number;
}

const CLOCK_TICKS = 100; // sysconf(_SC_CLK_TCK) on Linux x86-64

/** RSS from /proc/<pid>/status and CPU time from /proc/<pid>/stat. */
export function procSample(pid: number): ProcSample | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start at ") ".
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return { at: Date.now(), rssBytes: rssKb * 1024, cpuSeconds: (utime + stime) / CLOCK_TICKS };
  } catch {
    return null;
  }
}

/** Samples a process every intervalMs until stopped; summarises RSS and CPU over the window. */
export function sampleProcess(pid: number, intervalMs = 1000) {
  const samples: ProcSample[] = [];
  const first = procSample(pid);
  if (first) samples.push(first);
  const timer = setInterval(() => {
    const s = procSample(pid);
    if (s) samples.push(s);
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      const last = procSample(pid);
      if (last) samples.push(last);
      const rss = samples.map((s) => s.rssBytes / 2 ** 20);
      const a = samples[0];
      const b = samples.at(-1);
      const wall = a && b ? (b.at - a.at) / 1000 : 0;
      return {
        seconds: Math.round(wall * 10) / 10,
        samples: samples.length,
        rssMiBMean: rss.length ? Math.round((rss.reduce((x, y) => x + y, 0) / rss.length) * 10) / 10 : null,
        rssMiBMax: rss.length ? Math.round(Math.max(...rss) * 10) / 10 : null,
        cpuPercent: a && b && wall > 0 ? Math.round(((b.cpuSeconds - a.cpuSeconds) / wall) * 1000) / 10 : null,
        cpuSeconds: a && b ? Math.round((b.cpuSeconds - a.cpuSeconds) * 100) / 100 : null,
      };
    },
  };
}

/**
 * Waits until canaryd has written every Event it decided (canaryd_events_pending 0): its Events
 * go out one at a time in the background, and 2,000 `Adopted` Events of 1,000 adoptions outlast
 * the reconciles on a slow API server.
 */
export async function waitEventsWritten(base: string, timeoutMs: number): Promise<void> {
  await waitFor(async () => sumCounter(await canarydMetrics(base), 'canaryd_events_pending') === 0, {
    timeoutMs,
    intervalMs: 500,
    description: 'canaryd to write its Events',
  });
}

/**
 * Waits until canaryd's reconcile count has not moved for `quietMs` (adoption leaves follow-up
 * reconciles queued); returns when that was reached.
 */
export async function waitReconcilesSettle(base: string, quietMs = 5000, timeoutMs = 10 * 60_000): Promise<void> {
  let lastCount = -1;
  let stableSince = Date.now();
  await waitFor(
    async () => {
      const count = sumCounter(await canarydMetrics(base), 'canaryd_reconcile_duration_seconds_count');
      if (count !== lastCount) {
        lastCount = count;
        stableSince = Date.now();
      }
      return Date.now() - stableSince >= quietMs;
    },
    { timeoutMs, intervalMs: 500, description: 'the reconcile queue to drain' },
  );
}
