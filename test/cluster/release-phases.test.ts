// The scale benchmark's writes by release phase: each release's writes split at its own status
// writes (found in the audit log by matching them to what the benchmark's watch saw) and at the
// times its status records for the decisions that start its steps.
import { describe, expect, it } from 'vitest';
import type { PolicyStatus } from '../../bench/lib/app.ts';
import type { AuditedRequest } from '../../bench/lib/audit.ts';
import type { Seen } from '../../bench/lib/fleet.ts';
import { policyOfWrite, writesByReleasePhase } from '../../bench/lib/release-phases.ts';

const T0 = Date.parse('2026-12-06T00:00:00Z');

const request = (at: number, verb: string, resource: string, name: string, code = 200): AuditedRequest => ({
  at,
  doneAt: at + 10,
  verb,
  resource,
  namespace: 'scale-0',
  name,
  code,
  userAgent: 'canaryd',
});

const iso = (ms: number) => new Date(ms).toISOString();

/** A status during the release: at step `step`, entered at `entered` and started (weight set) at `started`. */
const during = (phase: string, message: string, step: number, entered: number, started?: number): PolicyStatus => ({
  phase,
  message,
  release: {
    phase,
    history: [],
    current: {
      revision: 2,
      templateHash: 'v2',
      stepIndex: step,
      weight: 10,
      stepEnteredAt: iso(entered),
      ...(started === undefined ? {} : { stepStartedAt: iso(started) }),
    },
  },
});
const ended = (phase: string, message: string): PolicyStatus => ({ phase, message, release: { phase, history: [] } });

/**
 * One release of `app` from `t0` as a 3-step replica-ratio release writes it (the order of a scale
 * run's audit log, times shortened): the watch sees each status write 25 ms after it was received.
 * `routeFirst`: a step's start writes its route before its status (else after, persisted first).
 */
function release(app: string, t0: number, routeFirst = false) {
  const writes: AuditedRequest[] = [];
  const trail: Seen[] = [];
  const write = (dt: number, verb: string, resource: string, name = app) =>
    writes.push(request(t0 + dt, verb, resource, name));
  const statusWrite = (dt: number, status: PolicyStatus) => {
    write(dt, 'update', 'canarypolicies/status');
    trail.push({ seenAt: t0 + dt + 25, status });
  };
  const events = (dt: number, n: number) => {
    for (let i = 0; i < n; i++) write(dt + i, 'create', 'events', `${app}.${(t0 + dt + i).toString(16)}`);
  };
  /** The decision at `dt` that starts step `step` (entered at `entered`): its status and its route. */
  const startStep = (dt: number, step: number, entered: number) => {
    const status = during('progressing', `step ${step + 1} at ${[10, 30, 50][step]}%`, step, t0 + entered, t0 + dt);
    if (routeFirst) write(dt + 10, 'patch', 'deployments', `${app}-canary`);
    statusWrite(dt + 20, status);
    if (!routeFirst) write(dt + 30, 'patch', 'deployments', `${app}-canary`);
  };
  // start: ReleaseStarted, the canary created, the Service's selector, the canary ready.
  statusWrite(100, during('progressing', 'step 1: waiting for 1 ready canary pod(s)', 0, t0 + 90));
  write(120, 'create', 'deployments', `${app}-canary`);
  write(140, 'patch', 'services');
  events(160, 2);
  statusWrite(300, during('progressing', 'step 1: waiting (canary ready)', 0, t0 + 90));
  // firstStep, then steps: each step's weight, in one decision after the previous step's hold.
  startStep(700, 0, 90);
  startStep(1200, 1, 1200);
  startStep(1700, 2, 1700);
  // promotion: the stable Deployment unpaused; a lost race (409, no watch event) retried.
  statusWrite(2200, during('promoting', 'rolling the stable Deployment', 2, t0 + 1700, t0 + 1700));
  write(2220, 'patch', 'deployments');
  writes.push(request(t0 + 2490, 'update', 'canarypolicies/status', app, 409));
  statusWrite(2500, during('promoting', 'rolling (66%)', 2, t0 + 1700, t0 + 1700));
  statusWrite(2800, during('promoting', 'rolling (100%)', 2, t0 + 1700, t0 + 1700));
  statusWrite(3100, ended('succeeded', 'promoted'));
  // drain: weight 0, the stable re-paused, the Promoting Events (late), the canary deleted, the
  // Service's record removed, and the Succeeded and Draining Events last.
  write(3110, 'patch', 'deployments', `${app}-canary`);
  write(3120, 'patch', 'deployments');
  statusWrite(3200, ended('succeeded', 'promoted (draining)'));
  events(3300, 2);
  write(3700, 'delete', 'deployments', `${app}-canary`);
  statusWrite(3800, ended('succeeded', 'promoted (drained)'));
  write(3820, 'patch', 'services');
  events(4000, 4);
  return { writes, trail };
}

/** What is no release's: the Lease, a watch, a read, and a policy that does not release. */
const noise = [
  request(T0 + 50, 'update', 'leases', 'canaryd-bench'),
  request(T0 + 60, 'watch', 'deployments', ''),
  request(T0 + 70, 'get', 'deployments', 'app-90'),
  request(T0 + 80, 'update', 'canarypolicies/status', 'app-11'),
  request(T0 + 90, 'create', 'events', 'app-11.5f3a'),
];

const byTime = (requests: AuditedRequest[]) => requests.toSorted((a, b) => a.at - b.at);
const one = (trail: Seen[]) => new Map([['scale-0/app-90', trail]]);
const totals = (w: ReturnType<typeof writesByReleasePhase>) =>
  Object.fromEntries(Object.entries(w.phases).map(([phase, p]) => [phase, p.writes]));

describe('writesByReleasePhase', () => {
  it("splits a release's writes at its status writes and its steps' decisions", () => {
    const { writes, trail } = release('app-90', T0);
    const w = writesByReleasePhase(byTime([...writes, ...noise]), one(trail), T0, 3);
    expect(w).toMatchObject({ releases: 1, stepTransitions: 2, matchedInOrder: 1, leftOut: [] });
    expect(w.phases.start.byVerbResource).toEqual({
      'CREATE events': 2,
      'UPDATE canarypolicies/status': 2,
      'CREATE deployments': 1,
      'PATCH services': 1,
    });
    expect(w.phases.firstStep.byVerbResource).toEqual({ 'PATCH deployments': 1, 'UPDATE canarypolicies/status': 1 });
    expect(w.phases.steps.perStepTransition).toEqual({
      writes: 2,
      withoutEvents: 2,
      byVerbResource: { 'PATCH deployments': 1, 'UPDATE canarypolicies/status': 1 },
    });
    // The write that enters promoting and the one that records succeeded are promotion's; the 409 too.
    expect(w.phases.promotion.byVerbResource).toEqual({ 'UPDATE canarypolicies/status': 5, 'PATCH deployments': 1 });
    expect(w.phases.drain.perRelease).toEqual({
      writes: 12,
      withoutEvents: 6,
      byVerbResource: {
        'CREATE events': 6,
        'PATCH deployments': 2,
        'UPDATE canarypolicies/status': 2,
        'DELETE deployments': 1,
        'PATCH services': 1,
      },
    });
    // Every write is somewhere: the release's in its phases, the other policy's apart; no Lease, watch or GET.
    expect(w.perRelease).toMatchObject({ writes: writes.length, withoutEvents: writes.length - 8 });
    expect(w.unattributed).toEqual({
      writes: 2,
      byVerbResource: { 'CREATE events': 1, 'UPDATE canarypolicies/status': 1 },
    });
  });

  it('gives a step the same writes whether its route goes before its status or after it', () => {
    const after = release('app-90', T0);
    const before = release('app-90', T0, true);
    const split = (r: typeof after) => writesByReleasePhase(r.writes, one(r.trail), T0, 3);
    expect(totals(split(before))).toEqual(totals(split(after)));
    expect(totals(split(before))).toEqual({ start: 6, firstStep: 2, steps: 4, promotion: 6, drain: 12 });
  });

  it('divides by releases, and steps by step transitions', () => {
    const a = release('app-10', T0);
    const b = release('app-20', T0 + 400, true);
    const trails = new Map([
      ['scale-0/app-10', a.trail],
      ['scale-0/app-20', b.trail],
    ]);
    const w = writesByReleasePhase(byTime([...a.writes, ...b.writes]), trails, T0, 3);
    expect(w).toMatchObject({ releases: 2, stepTransitions: 4, matchedInOrder: 2 });
    expect(w.phases.steps).toMatchObject({ writes: 8, perRelease: { writes: 4 }, perStepTransition: { writes: 2 } });
    expect(w.phases.firstStep.perRelease.writes).toBe(2);
    expect(w.perRelease).toMatchObject({ writes: 30, withoutEvents: 22 });
  });

  it('sees a status once when a restarted watch lists it again', () => {
    const { writes, trail } = release('app-90', T0);
    const again = trail.flatMap((s) =>
      s.status.message === 'rolling (66%)' ? [s, { ...s, seenAt: s.seenAt + 90 }] : [s],
    );
    const w = writesByReleasePhase(writes, one(again), T0, 3);
    expect(w.matchedInOrder).toBe(1);
    expect(totals(w)).toEqual({ start: 6, firstStep: 2, steps: 4, promotion: 6, drain: 12 });
  });

  it('matches by time when the watch missed a status; a step it never saw falls to the next one', () => {
    const { writes, trail } = release('app-90', T0);
    const missed = trail.filter((s) => s.status.message !== 'promoted (draining)');
    expect(writesByReleasePhase(writes, one(missed), T0, 3)).toMatchObject({ releases: 1, matchedInOrder: 0 });
    expect(totals(writesByReleasePhase(writes, one(missed), T0, 3))).toEqual({
      start: 6,
      firstStep: 2,
      steps: 4,
      promotion: 6,
      drain: 12,
    });
    const noStep1 = trail.filter((s) => s.status.message !== 'step 1 at 10%');
    expect(totals(writesByReleasePhase(writes, one(noStep1), T0, 3))).toEqual({
      start: 8,
      firstStep: 0,
      steps: 4,
      promotion: 6,
      drain: 12,
    });
  });

  it('leaves out a release that did not succeed, and a releasing policy without writes', () => {
    const { writes, trail } = release('app-90', T0);
    const failed = trail.map((s) =>
      s.status.phase === 'succeeded' ? { ...s, status: ended('failed', 'rolled back') } : s,
    );
    const trails = new Map([
      ['scale-0/app-90', failed],
      ['scale-0/app-30', []],
    ]);
    const w = writesByReleasePhase(writes, trails, T0, 3);
    expect(w).toMatchObject({ releases: 0, leftOut: ['scale-0/app-30', 'scale-0/app-90'] });
    expect(w.unattributed.writes).toBe(writes.length);
    expect(w.phases.steps.perStepTransition?.writes).toBe(0);
  });
});

describe('policyOfWrite', () => {
  it.each([
    ['canarypolicies/status', 'app-7', 'scale-0/app-7'],
    ['deployments', 'app-7-canary', 'scale-0/app-7'],
    ['ingresses', 'app-7-canary', 'scale-0/app-7'],
    ['services', 'app-7', 'scale-0/app-7'],
    ['events', 'app-7.0f427d32e7e6', 'scale-0/app-7'],
  ])('%s %s belongs to %s', (resource, name, key) => {
    expect(policyOfWrite(request(0, 'create', resource, name))).toBe(key);
  });
});
