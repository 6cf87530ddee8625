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
  const res = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(5000) });
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
