// Where adoption's time goes (the scale benchmark): each policy's writes in a chain, split into
// the API server's time on them (audit log: received → answer sent) and canaryd's between them.
import { describe, expect, it } from 'vitest';
import { adoptionTime, describeAdoptionTime } from '../../bench/lib/adoption-time.ts';
import type { AuditedRequest } from '../../bench/lib/audit.ts';

const request = (
  at: number,
  doneAt: number,
  verb: string,
  resource: string,
  name = 'app-1',
  namespace = 'scale-0',
): AuditedRequest => ({ at, doneAt, verb, resource, namespace, name, code: 200, userAgent: 'canaryd' });

/** One adoption: finalizer, status (adopting), pause, status (adopted), and an Event beside it. */
const adoption = (start: number, name: string) => [
  request(start, start + 30, 'patch', 'canarypolicies', name),
  request(start + 40, start + 120, 'update', 'canarypolicies/status', name),
  request(start + 150, start + 180, 'patch', 'deployments', name),
  request(start + 200, start + 290, 'update', 'canarypolicies/status', name),
  request(start + 300, start + 320, 'create', 'events', `${name}.1a2b`),
];

describe('adoption time from the audit log', () => {
  it('splits each policy chain into API server time and canaryd time between its writes', () => {
    const t = adoptionTime([...adoption(0, 'app-1'), ...adoption(100, 'app-2')], 0, 1000);
    expect(t.policies).toBe(2);
    expect(t.writesPerPolicy).toBe(4);
    // 0 → 290: the server worked 30 + 80 + 30 + 90 = 230 ms, canaryd 60 ms between the answers.
    expect(t.spanMs).toMatchObject({ n: 2, p50: 290, p90: 290, mean: 290 });
    expect(t.apiServerMs.p50).toBe(230);
    expect(t.canarydMs.p50).toBe(60);
    expect(Object.keys(t.byVerbResource)).toEqual([
      'UPDATE canarypolicies/status',
      'PATCH canarypolicies',
      'PATCH deployments',
    ]);
    expect(t.byVerbResource['UPDATE canarypolicies/status']).toMatchObject({ n: 4, p50: 80, p90: 90, mean: 85 });
    // Two chains of 290 ms over a window of 1 s: 0.58 in flight on average.
    expect(t.meanInFlight).toBe(0.6);
    expect(describeAdoptionTime(t)).toContain('per policy p50 290 ms = API server 230 + canaryd between them 60');
  });

  it('leaves out reads, watches, Events and requests outside the window', () => {
    const t = adoptionTime(
      [
        ...adoption(0, 'app-1'),
        request(10, 20, 'get', 'deployments'),
        request(5, 60_000, 'watch', 'canarypolicies', ''),
        ...adoption(2000, 'app-3'),
      ],
      0,
      1000,
    );
    expect(t.policies).toBe(1);
    expect(t.spanMs.p50).toBe(290);
    // Beside the chains, counted apart (the watch is not a request the API server answers and ends).
    expect(t.otherRequests).toEqual({ 'CREATE events': 1, 'GET deployments': 1 });
  });

  it('counts overlapping requests of one policy once', () => {
    const t = adoptionTime(
      [request(0, 100, 'patch', 'deployments'), request(50, 150, 'update', 'canarypolicies/status')],
      0,
      1000,
    );
    expect(t.apiServerMs.p50).toBe(150);
    expect(t.canarydMs.p50).toBe(0);
  });

  it('an empty window reports zeros and no percentiles, not NaN', () => {
    const t = adoptionTime([], 0, 1000);
    expect(t).toMatchObject({ policies: 0, writesPerPolicy: 0, meanInFlight: 0 });
    expect(t.spanMs).toMatchObject({ n: 0, p50: null, p90: null, mean: null });
  });
});
