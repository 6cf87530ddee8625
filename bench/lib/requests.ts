// canaryd's Kubernetes API requests over a window of a benchmark, from three sources:
// - the apiserver's audit log of canaryd's identity (e2e/cluster/audit.ts): every request canaryd
//   made, watches, informer lists and Lease renewals included, by verb and resource;
// - canaryd's own canaryd_kubernetes_requests_total (what its KubeApi sent: reconciles, Events,
//   the Lease, the HTTP API; not the informers' lists and watches) and
//   canaryd_cache_live_reads_total (reads the caches could not answer);
// - the apiserver's apiserver_request_total, all clients together (it has no client label): a
//   bound, and what the whole control plane paid.

import { type AuditedRequest, countAudited, type RequestCounts, readAudit } from './audit.ts';
import type { BenchCluster } from './cluster.ts';
import { sleep } from './common.ts';
import { apiserverMetrics, byFirst, type Counts, canarydMetrics, delta, parseCounter, toRecord } from './metrics.ts';

export interface RequestWindow {
  seconds: number;
  /** From the audit log; null when the cluster has none. */
  audited: RequestCounts | null;
  canaryd: {
    byVerb: Record<string, number>;
    byVerbResource: Record<string, number>;
    liveReads: Record<string, number>;
  };
  apiserverAllClients: { byVerb: Record<string, number>; byVerbResource: Record<string, number> };
}

interface Mark {
  at: number;
  apiserver: string;
  canaryd: string;
}

/**
 * Starts a window now; `end()` closes it (after the audit log's 1 s batches are written). Several
 * bases (one canaryd per shard): their counters are summed.
 */
export async function requestWindow(cluster: BenchCluster, canarydBase: string | string[]) {
  const bases = typeof canarydBase === 'string' ? [canarydBase] : canarydBase;
  const mark = async (): Promise<Mark> => {
    const [apiserver, ...canaryd] = await Promise.all([
      apiserverMetrics(cluster.info),
      ...bases.map((base) => canarydMetrics(base)),
    ]);
    return { at: Date.now(), apiserver, canaryd: canaryd.join('\n') };
  };
  const start = await mark();
  let audited: AuditedRequest[] = [];
  return {
    startedAt: start.at,
    async end(): Promise<RequestWindow> {
      const stop = await mark();
      await sleep(2500); // --audit-log-batch-max-wait=1s
      const audit = cluster.info.audit;
      const requests = audit ? readAudit(audit.log, audit.user) : [];
      audited = requests.filter((r) => r.at >= start.at && r.at < stop.at);
      return windowBetween(cluster, start, stop, requests);
    },
    /** The requests audited in the window, once it ended (each one, for what counts cannot tell). */
    audited: (): AuditedRequest[] => audited,
  };
}

function windowBetween(cluster: BenchCluster, start: Mark, stop: Mark, requests: AuditedRequest[]): RequestWindow {
  const counter = (text: string) => parseCounter(text, 'canaryd_kubernetes_requests_total', ['verb', 'resource']);
  const own = delta(counter(start.canaryd), counter(stop.canaryd));
  const live = delta(
    parseCounter(start.canaryd, 'canaryd_cache_live_reads_total', ['verb', 'kind', 'reason']),
    parseCounter(stop.canaryd, 'canaryd_cache_live_reads_total', ['verb', 'kind', 'reason']),
  );
  const api = (text: string) =>
    normaliseApiserver(parseCounter(text, 'apiserver_request_total', ['verb', 'resource', 'subresource']));
  const all = delta(api(start.apiserver), api(stop.apiserver));
  const audit = cluster.info.audit;
  return {
    seconds: Math.round((stop.at - start.at) / 100) / 10,
    audited: audit ? countAudited(requests, start.at, stop.at) : null,
    canaryd: { byVerb: byFirst(own), byVerbResource: upperVerbs(toRecord(own)), liveReads: toRecord(live) },
    apiserverAllClients: { byVerb: byFirst(all), byVerbResource: upperVerbs(toRecord(all)) },
  };
}

/**
 * apiserver_request_total's verbs are HTTP-like (POST, PUT, APPLY) and its subresource is a label
 * of its own: as the audit log names them, "create|canarypolicies/status".
 */
function normaliseApiserver(counts: Counts): Counts {
  const verbs: Record<string, string> = { POST: 'create', PUT: 'update', APPLY: 'patch' };
  const out: Counts = new Map();
  for (const [key, n] of counts) {
    const [verb = '', resource = '', subresource = ''] = key.split('|');
    const named = `${verbs[verb] ?? verb.toLowerCase()}|${resource}${subresource ? `/${subresource}` : ''}`;
    out.set(named, (out.get(named) ?? 0) + n);
  }
  return out;
}

/** "get|deployments" → "GET deployments", like the audit counts. */
const upperVerbs = (record: Record<string, number>) =>
  Object.fromEntries(
    Object.entries(record).map(([key, n]) => {
      const [verb, resource] = key.split('|');
      return [`${(verb ?? '').toUpperCase()} ${resource ?? ''}`, n];
    }),
  );

/** Divides every count by `by` (per step, per minute), 2 decimals. */
export const per = (counts: Record<string, number>, by: number): Record<string, number> =>
  Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, by > 0 ? Math.round((v / by) * 100) / 100 : 0]));

/** Rows "verb resource | audited | canaryd counter | all clients" for a table, largest first. */
export function requestRows(window: RequestWindow, divisor = 1): Array<[string, number, number, number]> {
  const audited = window.audited?.byVerbResource ?? {};
  const keys = new Set([...Object.keys(audited), ...Object.keys(window.canaryd.byVerbResource)]);
  const scale = (n: number | undefined) => Math.round(((n ?? 0) / Math.max(divisor, 1e-9)) * 100) / 100;
  return [...keys]
    .map(
      (key) =>
        [
          key,
          scale(audited[key]),
          scale(window.canaryd.byVerbResource[key]),
          scale(window.apiserverAllClients.byVerbResource[key]),
        ] as [string, number, number, number],
    )
    .sort((a, b) => b[1] - a[1] || b[2] - a[2] || a[0].localeCompare(b[0]));
}
