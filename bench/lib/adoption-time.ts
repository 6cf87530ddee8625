// Where adoption's time goes, from the apiserver's audit log (pure): each policy's adoption is a
// chain of writes (the finalizer beside the pause, then the status), so its time is the API
// server answering them (overlapping requests counted once) plus canaryd between an answer and
// its next request (its event loop shared by every worker, decisions, GC). Requests are grouped by namespace/name over the
// policy, its status and its Deployment (the benchmark names both after the app); Events are
// written in the background and left out of the chain.
import type { AuditedRequest } from './audit.ts';
import { round, type Summary, summarise } from './common.ts';

const CHAIN = new Set(['canarypolicies', 'canarypolicies/status', 'deployments']);
const WRITES = new Set(['create', 'update', 'patch', 'delete']);

export interface AdoptionTime {
  /** Policies with at least one write in the window. */
  policies: number;
  /** Writes per policy in the chain (mean). */
  writesPerPolicy: number;
  /** First request received → last answer sent, per policy, ms. */
  spanMs: Summary;
  /** Of the span: the API server working on its requests, ms. */
  apiServerMs: Summary;
  /** Of the span: between an answer and the next request (canaryd), ms. */
  canarydMs: Summary;
  /** The API server's time per request, ms, by "VERB resource". */
  byVerbResource: Record<string, Summary>;
  /** The policies' chains in flight at once, on average over the window (≤ canaryd's workers). */
  meanInFlight: number;
  /**
   * canaryd's other requests received in the window, by "VERB resource" (watches and the Lease
   * left out): the Events above all, written beside the chains to the same API server.
   */
  otherRequests: Record<string, number>;
}

/** The writes of each policy's adoption received in [from, to), split into API server and canaryd time. */
export function adoptionTime(requests: AuditedRequest[], from: number, to: number): AdoptionTime {
  const chains = new Map<string, AuditedRequest[]>();
  const byVerbResource = new Map<string, number[]>();
  const other = new Map<string, number>();
  for (const r of requests) {
    if (!(r.at >= from && r.at < to)) continue;
    if (!CHAIN.has(r.resource) || !WRITES.has(r.verb)) {
      if (r.verb !== 'watch' && r.resource !== 'leases') {
        const kind = `${r.verb.toUpperCase()} ${r.resource}`;
        other.set(kind, (other.get(kind) ?? 0) + 1);
      }
      continue;
    }
    const key = `${r.namespace}/${r.name}`;
    const chain = chains.get(key) ?? [];
    chain.push(r);
    chains.set(key, chain);
    const kind = `${r.verb.toUpperCase()} ${r.resource}`;
    const times = byVerbResource.get(kind) ?? [];
    times.push(r.doneAt - r.at);
    byVerbResource.set(kind, times);
  }
  const spans: number[] = [];
  const server: number[] = [];
  const between: number[] = [];
  let writes = 0;
  for (const chain of chains.values()) {
    const first = chain[0] as AuditedRequest;
    const lastDone = Math.max(...chain.map((r) => r.doneAt));
    // Overlapping requests (the finalizer and the pause) count once.
    let busy = 0;
    let until = first.at;
    for (const r of chain) {
      busy += Math.max(0, r.doneAt - Math.max(r.at, until));
      until = Math.max(until, r.doneAt);
    }
    spans.push(lastDone - first.at);
    server.push(busy);
    between.push(lastDone - first.at - busy);
    writes += chain.length;
  }
  const window = to - from;
  return {
    policies: chains.size,
    writesPerPolicy: chains.size ? (round(writes / chains.size) ?? 0) : 0,
    spanMs: summarise(spans),
    apiServerMs: summarise(server),
    canarydMs: summarise(between),
    byVerbResource: Object.fromEntries(
      [...byVerbResource].sort((a, b) => b[1].length - a[1].length).map(([kind, times]) => [kind, summarise(times)]),
    ),
    meanInFlight: window > 0 ? (round(spans.reduce((a, b) => a + b, 0) / window, 1) ?? 0) : 0,
    otherRequests: Object.fromEntries([...other].sort((a, b) => b[1] - a[1])),
  };
}

/** One line for the progress output. */
export function describeAdoptionTime(t: AdoptionTime): string {
  const kinds = Object.entries(t.byVerbResource)
    .map(([kind, s]) => `${kind} ${s.p50}/${s.p90}`)
    .join(', ');
  return (
    `${t.policies} policies, ${t.writesPerPolicy} writes each; per policy p50 ${t.spanMs.p50} ms = ` +
    `API server ${t.apiServerMs.p50} + canaryd between them ${t.canarydMs.p50} (means ${t.spanMs.mean} = ` +
    `${t.apiServerMs.mean} + ${t.canarydMs.mean}); ${t.meanInFlight} in flight on average; ` +
    `API server ms per request p50/p90: ${kinds}; beside the chains: ${JSON.stringify(t.otherRequests)}`
  );
}
