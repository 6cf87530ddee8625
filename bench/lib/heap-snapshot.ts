// A V8 heap snapshot of a running canaryd (started with --heapsnapshot-signal=SIGUSR2) and what
// it holds: self sizes by node type (code, strings, objects, …), the largest strings (module
// sources are kept as strings), and the constructors holding the most.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '../../e2e/cluster/wait.ts';
import { round } from './common.ts';

export const HEAP_SNAPSHOT_FLAGS = (dir: string) => ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${dir}`];

/** Signals `pid`, waits for its new snapshot file in `dir` to be complete, returns its path. */
export async function takeHeapSnapshot(pid: number, dir: string): Promise<string> {
  const before = new Set(readdirSync(dir).filter((f) => f.endsWith('.heapsnapshot')));
  process.kill(pid, 'SIGUSR2');
  let lastSize = -1;
  let stableSince = 0;
  return waitFor(
    async () => {
      const file = readdirSync(dir).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
      if (!file) return undefined;
      const path = join(dir, file);
      const size = statSync(path).size;
      if (size !== lastSize) {
        lastSize = size;
        stableSince = Date.now();
        return undefined;
      }
      // Complete once its JSON closes and the size held for a second.
      return size > 0 && Date.now() - stableSince > 1000 ? path : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 250, description: `heap snapshot of pid ${pid}` },
  );
}

export interface HeapSummary {
  file: string;
  totalMiB: number | null;
  /** MiB by V8 node type: code, string, object, closure, array, hidden, … */
  byTypeMiB: Record<string, number>;
  /** Strings of 64 KiB or more (mostly JavaScript sources V8 keeps): count and MiB. */
  largeStrings: { count: number; mib: number | null };
  /** The 15 object constructors with the largest self size, MiB. */
  topConstructorsMiB: Record<string, number>;
}

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

const mib = (bytes: number) => round(bytes / 2 ** 20, 2) ?? 0;

export function summariseHeapSnapshot(file: string): HeapSummary {
  const data = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = data.snapshot.meta.node_fields;
  const types = data.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const byType = new Map<string, number>();
  const byConstructor = new Map<string, number>();
  let total = 0;
  let largeCount = 0;
  let largeBytes = 0;
  for (let i = 0; i < data.nodes.length; i += width) {
    const type = types[data.nodes[i + typeAt] as number] ?? '?';
    const size = data.nodes[i + sizeAt] as number;
    total += size;
    byType.set(type, (byType.get(type) ?? 0) + size);
    if (type === 'string' && size >= 64 * 1024) {
      largeCount++;
      largeBytes += size;
    }
    if (type === 'object') {
      const name = data.strings[data.nodes[i + nameAt] as number] ?? '?';
      byConstructor.set(name, (byConstructor.get(name) ?? 0) + size);
    }
  }
  const top = (map: Map<string, number>, k: number) =>
    Object.fromEntries(
      [...map]
        .sort((a, b) => b[1] - a[1])
        .slice(0, k)
        .map(([name, bytes]) => [name, mib(bytes)]),
    );
  return {
    file,
    totalMiB: mib(total),
    byTypeMiB: top(byType, 20),
    largeStrings: { count: largeCount, mib: mib(largeBytes) },
    topConstructorsMiB: top(byConstructor, 15),
  };
}
