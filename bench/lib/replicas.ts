// The canaryd replicas of a benchmark run: one, or one per shard (--shard s0, s1, …, each with its
// own Lease, docs/scale.md "Beyond one replica"). The fleet's policies are split round-robin in
// blocks (shardOfPolicy), so the releasing ones are split evenly too. What the benchmark reads of "canaryd" is then every replica's:
// their metrics summed (counters), their log lines together, each one's process sampled.
import { type Canaryd, httpBase, type LogLine, sampleProcess, spawnCanaryd } from './canaryd.ts';
import { type Footprint, footprint } from './footprint.ts';
import { canarydMetrics } from './metrics.ts';

export interface Replicas {
  /** Shard names, [] for one unsharded replica. */
  shards: string[];
  all: Canaryd[];
  startedAt: number;
  alive(): boolean;
  bases(): string[];
  /** Every replica's /metrics text, concatenated: counters parsed from it are summed. */
  metrics(): Promise<string>;
  lines(): LogLine[];
  stop(): Promise<void>;
}

/**
 * The shard of policy i among `k` shards (undefined: no sharding). The benchmark releases every
 * (n/m)-th policy, so policies go round-robin in blocks of n/m: the releasing ones alternate
 * between the shards as the others do (plain i mod k would put every release in s0).
 */
export const shardOfPolicy = (k: number, n: number, m: number) => {
  const block = m > 0 ? Math.max(1, Math.floor(n / m)) : 1;
  return (i: number) => (k > 1 ? `s${Math.floor(i / block) % k}` : undefined);
};

export function spawnReplicas(
  kubeconfig: string,
  logDir: string,
  k: number,
  args: (shard?: string) => string[],
  nodeOptions: string[] = [],
): Replicas {
  const shards = k > 1 ? Array.from({ length: k }, (_, j) => `s${j}`) : [];
  const all = (shards.length ? shards : [undefined]).map((shard) =>
    spawnCanaryd(kubeconfig, logDir, [...args(shard), ...(shard === undefined ? [] : ['--shard', shard])], nodeOptions),
  );
  const bases = () => all.map((c) => httpBase(c.address() ?? ''));
  return {
    shards,
    all,
    startedAt: Math.min(...all.map((c) => c.startedAt)),
    alive: () => all.every((c) => c.alive()),
    bases,
    metrics: async () => (await Promise.all(bases().map((base) => canarydMetrics(base)))).join('\n'),
    lines: () => all.flatMap((c) => c.lines()),
    stop: async () => {
      await Promise.all(all.map((c) => c.stop()));
    },
  };
}

export interface ReplicaProcess {
  shard: string;
  rssMiBMean: number | null;
  rssMiBMax: number | null;
  cpuPercent: number | null;
  seconds: number;
}

/** Samples every replica's process; `stop()` gives the largest RSS, the summed CPU, and each one's. */
export function sampleReplicas(replicas: Replicas) {
  const samplers = replicas.all.map((c) => sampleProcess(c.pid));
  return {
    stop() {
      const each = samplers.map((s) => s.stop());
      const max = (values: Array<number | null>) => {
        const numbers = values.filter((v): v is number => v !== null);
        return numbers.length ? Math.max(...numbers) : null;
      };
      const cpu = each.map((e) => e.cpuPercent).filter((v): v is number => v !== null);
      return {
        seconds: Math.max(...each.map((e) => e.seconds)),
        samples: Math.min(...each.map((e) => e.samples)),
        rssMiBMean: max(each.map((e) => e.rssMiBMean)),
        rssMiBMax: max(each.map((e) => e.rssMiBMax)),
        cpuPercent: cpu.length ? Math.round(cpu.reduce((x, y) => x + y, 0) * 10) / 10 : null,
        cpuSeconds: each.reduce((sum, e) => sum + (e.cpuSeconds ?? 0), 0),
        perReplica: each.map((e, j) => ({ shard: replicas.shards[j] ?? '(unsharded)', ...e })),
      };
    },
  };
}

/** Each replica's footprint (RSS from /proc, heap and caches from its metrics), in shard order. */
export async function footprints(replicas: Replicas): Promise<Footprint[]> {
  return Promise.all(
    replicas.all.map(async (c, j) => footprint(c.pid, await canarydMetrics(replicas.bases()[j] ?? ''))),
  );
}

/** The replica with the largest RSS: what one replica's memory limit must hold. */
export const largest = (all: Footprint[]): Footprint =>
  all.reduce((a, b) => ((b.rssMiB ?? 0) > (a.rssMiB ?? 0) ? b : a));
