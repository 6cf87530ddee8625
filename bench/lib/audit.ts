// canaryd's API requests as the apiserver itself recorded them: its audit log, written for the
// benchmark's canaryd identity only (e2e/cluster/audit.ts). One request = one auditID (a watch
// has two events, when it starts and when it ends); it is placed at the time the apiserver
// received it.
import { existsSync, readFileSync } from 'node:fs';

export interface AuditedRequest {
  /** requestReceivedTimestamp, ms. */
  at: number;
  /** stageTimestamp of its last stage (ResponseComplete: the answer sent), ms. */
  doneAt: number;
  verb: string;
  /** resource[/subresource], e.g. canarypolicies/status. */
  resource: string;
  namespace: string;
  name: string;
  code: number | null;
  userAgent: string;
}

interface AuditEvent {
  auditID?: string;
  verb?: string;
  user?: { username?: string };
  userAgent?: string;
  requestReceivedTimestamp?: string;
  stageTimestamp?: string;
  objectRef?: { resource?: string; subresource?: string; namespace?: string; name?: string };
  responseStatus?: { code?: number };
  requestURI?: string;
}

/** Pure: audit log text → one entry per request of `user`, in the order received. */
export function parseAudit(text: string, user: string): AuditedRequest[] {
  const byId = new Map<string, AuditedRequest>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    let event: AuditEvent;
    try {
      event = JSON.parse(line) as AuditEvent;
    } catch {
      continue; // the last line, still being written
    }
    if (event.user?.username !== user || !event.auditID || !event.verb) continue;
    const code = event.responseStatus?.code ?? null;
    const doneAt = Date.parse(event.stageTimestamp ?? event.requestReceivedTimestamp ?? '');
    const known = byId.get(event.auditID);
    if (known) {
      known.code = code ?? known.code;
      known.doneAt = Math.max(known.doneAt, doneAt);
      continue;
    }
    const ref = event.objectRef ?? {};
    byId.set(event.auditID, {
      at: Date.parse(event.requestReceivedTimestamp ?? ''),
      doneAt,
      verb: event.verb,
      resource: ref.resource
        ? `${ref.resource}${ref.subresource ? `/${ref.subresource}` : ''}`
        : (event.requestURI ?? '?'),
      namespace: ref.namespace ?? '',
      name: ref.name ?? '',
      code,
      userAgent: event.userAgent ?? '',
    });
  }
  return [...byId.values()].sort((a, b) => a.at - b.at);
}

export function readAudit(file: string, user: string): AuditedRequest[] {
  return existsSync(file) ? parseAudit(readFileSync(file, 'utf8'), user) : [];
}

export interface RequestCounts {
  total: number;
  /** Requests that open a watch (informers; they stay open, so they are few). */
  watches: number;
  /** Leader election: get/update of the Lease. */
  leases: number;
  /** Everything else: what reconciles, the HTTP API and the informers' lists cost. */
  other: number;
  byVerb: Record<string, number>;
  /** "verb resource" → count, largest first. */
  byVerbResource: Record<string, number>;
  /** The same, leaving out watches and the Lease. */
  otherByVerbResource: Record<string, number>;
}

const sortedRecord = (counts: Map<string, number>) =>
  Object.fromEntries([...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));

/** Pure: counts the requests received in [from, to). */
export function countAudited(requests: AuditedRequest[], from: number, to: number): RequestCounts {
  const byVerb = new Map<string, number>();
  const byVerbResource = new Map<string, number>();
  const other = new Map<string, number>();
  let total = 0;
  let watches = 0;
  let leases = 0;
  for (const r of requests) {
    if (!(r.at >= from && r.at < to)) continue;
    total++;
    const verb = r.verb.toUpperCase();
    const key = `${verb} ${r.resource}`;
    byVerb.set(verb, (byVerb.get(verb) ?? 0) + 1);
    byVerbResource.set(key, (byVerbResource.get(key) ?? 0) + 1);
    if (r.verb === 'watch') watches++;
    else if (r.resource === 'leases') leases++;
    else other.set(key, (other.get(key) ?? 0) + 1);
  }
  return {
    total,
    watches,
    leases,
    other: total - watches - leases,
    byVerb: sortedRecord(byVerb),
    byVerbResource: sortedRecord(byVerbResource),
    otherByVerbResource: sortedRecord(other),
  };
}
