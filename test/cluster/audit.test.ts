// Counting canaryd's requests from the apiserver's audit log (benchmarks): one request per
// auditID, only the audited user, watches and Lease renewals apart from the rest.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { countAudited, parseAudit } from '../../bench/lib/audit.ts';
import { AUDITED_USER, auditArgs, auditPolicyYaml } from '../../e2e/cluster/audit.ts';

const event = (id: string, stage: string, fields: Record<string, unknown>) =>
  JSON.stringify({
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'Metadata',
    auditID: id,
    stage,
    user: { username: AUDITED_USER },
    userAgent: 'node-fetch',
    requestReceivedTimestamp: '2026-12-02T06:00:00.000000Z',
    ...fields,
  });

const T0 = Date.parse('2026-12-02T06:00:00Z');

const LOG = [
  event('a', 'ResponseComplete', {
    verb: 'patch',
    objectRef: { resource: 'deployments', namespace: 'ns', name: 'web', apiGroup: 'apps' },
    responseStatus: { code: 200 },
  }),
  // A watch: started, and ended later; one request.
  event('b', 'ResponseStarted', { verb: 'watch', objectRef: { resource: 'pods' }, responseStatus: { code: 200 } }),
  event('c', 'ResponseComplete', {
    verb: 'update',
    objectRef: { resource: 'canarypolicies', subresource: 'status', namespace: 'ns', name: 'web' },
    requestReceivedTimestamp: '2026-12-02T06:00:01.500000Z',
    responseStatus: { code: 409 },
  }),
  event('d', 'ResponseComplete', {
    verb: 'update',
    objectRef: { resource: 'leases', namespace: 'default', name: 'canaryd-leader' },
    requestReceivedTimestamp: '2026-12-02T06:00:02Z',
  }),
  event('b', 'ResponseComplete', {
    verb: 'watch',
    objectRef: { resource: 'pods' },
    responseStatus: { code: 200 },
    stageTimestamp: '2026-12-02T06:00:05Z',
  }),
  // Someone else (not audited by the policy, but a log may hold them): left out.
  JSON.stringify({
    auditID: 'e',
    verb: 'get',
    user: { username: 'canaryd-admin' },
    requestReceivedTimestamp: '2026-12-02T06:00:00Z',
  }),
  '{"auditID": "cut mid-wri',
].join('\n');

describe('the audit log of canaryd’s identity', () => {
  it('gives one request per auditID, of the audited user only, with resource/subresource', () => {
    const requests = parseAudit(LOG, AUDITED_USER);
    expect(requests.map((r) => `${r.verb} ${r.resource}`)).toEqual([
      'patch deployments',
      'watch pods',
      'update canarypolicies/status',
      'update leases',
    ]);
    expect(requests[2]).toMatchObject({ namespace: 'ns', name: 'web', code: 409, at: T0 + 1500 });
    // A watch's answer ends with its last stage; a request without stageTimestamp ends when received.
    expect(requests[1]?.doneAt).toBe(T0 + 5000);
    expect(requests[2]?.doneAt).toBe(T0 + 1500);
  });

  it('counts a window, watches and Lease requests apart from the rest', () => {
    const counts = countAudited(parseAudit(LOG, AUDITED_USER), T0, T0 + 2000);
    expect(counts).toMatchObject({ total: 3, watches: 1, leases: 0, other: 2 });
    expect(counts.byVerb).toEqual({ PATCH: 1, UPDATE: 1, WATCH: 1 });
    expect(counts.otherByVerbResource).toEqual({ 'PATCH deployments': 1, 'UPDATE canarypolicies/status': 1 });
    expect(countAudited(parseAudit(LOG, AUDITED_USER), T0, T0 + 3000)).toMatchObject({ leases: 1, other: 2 });
  });

  it('the policy logs that user at Metadata (no bodies) and nobody else', () => {
    const policy = parse(auditPolicyYaml(AUDITED_USER));
    expect(policy.rules).toEqual([{ level: 'Metadata', users: [AUDITED_USER] }, { level: 'None' }]);
    expect(auditArgs('/state')).toContain('--audit-log-path=/state/logs/audit.log');
  });
});
