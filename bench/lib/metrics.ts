// Counters from Prometheus text exposition: the apiserver's own /metrics (admin token) and
// canaryd's /metrics, read before and after a phase so a benchmark can report deltas.
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import type { ClusterInfo } from '../../e2e/cluster/cluster.ts';

export type Counts = Map<string, number>;

/** Sums the samples of one metric, keyed by the given labels joined with '|'. */
export function parseCounter(text: string, metric: string, labels: string[]): Counts {
  const out: Counts = new Map();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${metric}{`)) continue;
    const close = line.lastIndexOf('}');
    const body = line.slice(metric.length + 1, close);
    const value = Number(
      line
        .slice(close + 1)
        .trim()
        .split(' ')[0],
    );
    const found: Record<string, string> = {};
    for (const m of body.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) found[m[1] as string] = m[2] as string;
    const key = labels.map((l) => found[l] ?? '').join('|');
    out.set(key, (out.get(key) ?? 0) + value);
  }
  return out;
}

export function delta(before: Counts, after: Counts): Counts {
  const out: Counts = new Map();
  for (const [k, v] of after) {
    const d = v - (before.get(k) ?? 0);
    if (d > 0) out.set(k, d);
  }
  return out;
}

export function apiserverMetrics(info: ClusterInfo): Promise<string> {
  const url = new URL('/metrics', info.apiServerUrl);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { ca: readFileSync(info.caCert), headers: { authorization: `Bearer ${info.adminToken}` }, timeout: 10_000 },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve(text));
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('apiserver /metrics timed out')));
    req.end();
  });
}

export async function canarydMetrics(base: string): Promise<string> {
  // 30 s: at 5,000 policies canaryd's /metrics is ~345,000 lines (34 MB) and took over 5 s to
  // render on this machine under load (docs/scale.md, "Metrics at scale").
  const res = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(30_000) });
  return res.text();
}

/** { verb: count } from a Counts keyed 'verb|…'. */
export function byFirst(counts: Counts): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of counts) {
    const first = (k.split('|')[0] ?? '').toUpperCase();
    out[first] = (out[first] ?? 0) + v;
  }
  return out;
}

export function toRecord(counts: Counts): Record<string, number> {
  return Object.fromEntries([...counts].sort((a, b) => b[1] - a[1]));
}

/** The sum of every sample of one metric, with or without labels. */
export function sumCounter(text: string, metric: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${metric}{`) && !line.startsWith(`${metric} `)) continue;
    const value = Number(
      line
        .slice(line.lastIndexOf('}') + 1 || metric.length)
        .trim()
        .split(' ')[0],
    );
    if (Number.isFinite(value)) sum += value;
  }
  return sum;
}

/** Cumulative bucket counts of a histogram ({le: count}), summed over its other labels but `where`'s. */
export function histogramBuckets(
  text: string,
  metric: string,
  where: Record<string, string> = {},
): Map<number, number> {
  const out = new Map<number, number>();
  const wanted = Object.entries(where);
  const labels = ['le', ...wanted.map(([label]) => label)];
  for (const [key, count] of parseCounter(text, `${metric}_bucket`, labels)) {
    const [bound, ...values] = key.split('|');
    if (wanted.some(([, value], i) => values[i] !== value)) continue;
    const le = bound === '+Inf' ? Number.POSITIVE_INFINITY : Number(bound);
    out.set(le, (out.get(le) ?? 0) + count);
  }
  return out;
}

/**
 * The q-quantile of the observations between two scrapes of a histogram, as Prometheus'
 * histogram_quantile computes it (linear within the bucket); Infinity past the last bound.
 */
export function histogramQuantileDelta(
  before: string,
  after: string,
  metric: string,
  q: number,
  where: Record<string, string> = {},
): number {
  const a = histogramBuckets(after, metric, where);
  const b = histogramBuckets(before, metric, where);
  const bounds = [...a.keys()].sort((x, y) => x - y);
  const counts = bounds.map((le) => (a.get(le) ?? 0) - (b.get(le) ?? 0));
  const total = counts.at(-1) ?? 0;
  if (total === 0) return Number.NaN;
  const rank = q * total;
  for (let i = 0; i < bounds.length; i++) {
    if ((counts[i] ?? 0) < rank) continue;
    const upper = bounds[i] ?? Number.POSITIVE_INFINITY;
    if (!Number.isFinite(upper)) return bounds[i - 1] ?? Number.POSITIVE_INFINITY;
    const lower = i === 0 ? 0 : (bounds[i - 1] ?? 0);
    const below = i === 0 ? 0 : (counts[i - 1] ?? 0);
    const inBucket = (counts[i] ?? 0) - below;
    return inBucket === 0 ? upper : lower + ((upper - lower) * (rank - below)) / inBucket;
  }
  return Number.POSITIVE_INFINITY;
}
