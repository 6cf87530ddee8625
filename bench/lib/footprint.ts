// Where a running canaryd's memory is: resident set by kind of page (/proc/<pid>/status), the V8
// heap by space and what lives outside it (canaryd's own /metrics: prom-client's default process
// metrics), and the watch caches' sizes by kind (canaryd_cached_objects).
import { readFileSync } from 'node:fs';
import { round } from './common.ts';
import { parseCounter } from './metrics.ts';

const MIB = 2 ** 20;

export interface Footprint {
  /** Resident set, MiB: all of it, anonymous (heap, malloc, stacks) and file-backed (the node binary, libraries). */
  rssMiB: number | null;
  rssAnonMiB: number | null;
  rssFileMiB: number | null;
  /** V8 heap, MiB: reserved by V8 (total) and used by live and not yet collected objects. */
  heapTotalMiB: number | null;
  heapUsedMiB: number | null;
  /** Used MiB per V8 heap space (new_space, old_space, code_space, large_object_space, …). */
  heapSpacesUsedMiB: Record<string, number>;
  /** Memory of C++ objects bound to JS (buffers, TLS contexts), MiB. */
  externalMiB: number | null;
  /** Objects per kind in canaryd's watch caches. */
  cachedObjects: Record<string, number>;
  /** Anonymous resident memory by kind of mapping (/proc/<pid>/smaps), MiB. */
  anonMappingsMiB: AnonMappings | null;
}

/**
 * Where the anonymous pages are: the main thread's malloc heap (`[heap]`, brk), glibc's thread
 * arenas (64 MiB reservations: a read-write part and the rest inaccessible), thread stacks, and the
 * other anonymous mappings (V8's heap pages and code, large mallocs, WebAssembly).
 */
export interface AnonMappings {
  brkHeap: number;
  threadArenas: number;
  stacks: number;
  other: number;
}

const ARENA_KIB = 64 * 1024;

interface Mapping {
  start: number;
  end: number;
  perms: string;
  /** '' for an anonymous mapping, '[heap]', '[stack]', … or 'file'. */
  path: string;
  anonKiB: number;
}

/** /proc/<pid>/smaps: a header line "start-end perms offset dev inode [path]", then "Key: n kB" lines. */
function parseSmaps(text: string): Mapping[] {
  const mappings: Mapping[] = [];
  for (const line of text.split('\n')) {
    const header = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (header) {
      const [, start = '0', end = '0', perms = '', inode = '0', path = ''] = header;
      const kind = inode === '0' ? path : 'file';
      mappings.push({
        start: Number.parseInt(start, 16),
        end: Number.parseInt(end, 16),
        perms,
        path: kind,
        anonKiB: 0,
      });
      continue;
    }
    const anon = /^Anonymous:\s+(\d+) kB/.exec(line);
    const last = mappings.at(-1);
    if (anon && last) last.anonKiB = Number(anon[1]);
  }
  return mappings;
}

/** A glibc thread arena: a read-write mapping, then an inaccessible one, together 64 MiB and 64 MiB aligned. */
function isThreadArena(mapping: Mapping, next: Mapping | undefined): boolean {
  const end = next && next.start === mapping.end && next.perms.startsWith('---') ? next.end : mapping.end;
  return (end - mapping.start) / 1024 === ARENA_KIB && mapping.start % (ARENA_KIB * 1024) === 0;
}

function kindOf(mapping: Mapping, next: Mapping | undefined): keyof AnonMappings {
  if (mapping.path === '[heap]') return 'brkHeap';
  if (mapping.path.startsWith('[stack')) return 'stacks';
  if (mapping.path === '' && isThreadArena(mapping, next)) return 'threadArenas';
  return 'other';
}

/** The text of /proc/<pid>/smaps; null once the process is gone. */
export function readSmaps(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/smaps`, 'utf8');
  } catch {
    return null;
  }
}

export function anonMappings(smaps: string): AnonMappings {
  const mappings = parseSmaps(smaps);
  const kib: AnonMappings = { brkHeap: 0, threadArenas: 0, stacks: 0, other: 0 };
  for (const [i, mapping] of mappings.entries()) kib[kindOf(mapping, mappings[i + 1])] += mapping.anonKiB;
  const toMib = (n: number) => kibToMib(n) ?? 0;
  return {
    brkHeap: toMib(kib.brkHeap),
    threadArenas: toMib(kib.threadArenas),
    stacks: toMib(kib.stacks),
    other: toMib(kib.other),
  };
}

function procStatusKiB(pid: number, field: string): number | null {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

const mib = (bytes: number | undefined | null) =>
  bytes === undefined || bytes === null ? null : round(bytes / MIB, 1);
const kibToMib = (kib: number | null) => (kib === null ? null : round(kib / 1024, 1));

/**
 * One sample from a running canaryd: its pid, the text of its /metrics and of its smaps (read
 * here unless the caller keeps the same text).
 */
export function footprint(pid: number, metricsText: string, smaps: string | null = readSmaps(pid)): Footprint {
  const single = (name: string) => {
    const values = parseCounter(metricsText, name, []);
    const sample = values.get('');
    if (sample !== undefined) return sample;
    // Unlabelled samples have no braces: `name value`.
    const line = metricsText.split('\n').find((l) => l.startsWith(`${name} `));
    return line ? Number(line.split(' ')[1]) : undefined;
  };
  const spaces = parseCounter(metricsText, 'canaryd_nodejs_heap_space_size_used_bytes', ['space']);
  const cached = parseCounter(metricsText, 'canaryd_cached_objects', ['kind']);
  return {
    rssMiB: kibToMib(procStatusKiB(pid, 'VmRSS')),
    rssAnonMiB: kibToMib(procStatusKiB(pid, 'RssAnon')),
    rssFileMiB: kibToMib(procStatusKiB(pid, 'RssFile')),
    heapTotalMiB: mib(single('canaryd_nodejs_heap_size_total_bytes')),
    heapUsedMiB: mib(single('canaryd_nodejs_heap_size_used_bytes')),
    heapSpacesUsedMiB: Object.fromEntries(
      [...spaces].filter(([, v]) => v > 0).map(([space, v]) => [space, mib(v) as number]),
    ),
    externalMiB: mib(single('canaryd_nodejs_external_memory_bytes')),
    cachedObjects: Object.fromEntries([...cached].sort((a, b) => a[0].localeCompare(b[0]))),
    anonMappingsMiB: smaps === null ? null : anonMappings(smaps),
  };
}

/** "CanaryPolicy 1000, Deployment 1000, …" */
export const describeCaches = (cached: Record<string, number>): string =>
  Object.entries(cached)
    .map(([kind, n]) => `${kind} ${n}`)
    .join(', ') || '(none)';

/** A one-line summary for progress lines and tables. */
export function describeFootprint(f: Footprint): string {
  const spaces = Object.entries(f.heapSpacesUsedMiB)
    .sort((a, b) => b[1] - a[1])
    .map(([space, v]) => `${space.replace(/_space$/, '')} ${v}`)
    .join(', ');
  const a = f.anonMappingsMiB;
  const anon = a
    ? ` [anon: malloc heap ${a.brkHeap}, thread arenas ${a.threadArenas}, stacks ${a.stacks}, other (V8 heap, large allocations) ${a.other}]`
    : '';
  return `RSS ${f.rssMiB} MiB (anon ${f.rssAnonMiB}, file ${f.rssFileMiB})${anon}; heap used ${f.heapUsedMiB} of ${f.heapTotalMiB} MiB (${spaces}); external ${f.externalMiB} MiB`;
}
