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

/** One sample from a running canaryd: its pid and the text of its /metrics. */
export function footprint(pid: number, metricsText: string): Footprint {
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
  return `RSS ${f.rssMiB} MiB (anon ${f.rssAnonMiB}, file ${f.rssFileMiB}); heap used ${f.heapUsedMiB} of ${f.heapTotalMiB} MiB (${spaces}); external ${f.externalMiB} MiB`;
}
