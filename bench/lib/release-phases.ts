// canaryd's writes over the scale benchmark's release phase by the phase of the release they belong
// to (pure): writes "per step" over the whole phase mix what a release costs once (its canary, its
// Events, promotion, drain) with a step's cost, which the issue bounds (2 writes: status + route).
// A policy's writes (audit log) are split at its own status writes, found by matching its audited
// status updates to the statuses the benchmark's watch saw, and at the decision times its status
// records: a decision's writes follow its status write (persisted first, controller/pass.ts) but a
// step's start may write its route first, so steps are parted by their decisions' times.
//   start      the release's first status write → before the decision setting step 1's weight
//   firstStep  that decision (stepStartedAt at index 0) → before the one entering step 2; a row of
//              its own: neither the release's cost nor a transition between steps
//   steps      the decision entering step 2 (stepEnteredAt, index 1) → before promoting: per step
//              transition (releases × (steps − 1))
//   promotion  the status write entering promoting → the one recording succeeded, included
//   drain      what follows: weight 0, the canary's removal, the route's cleanup, the last status
// Events are written in the background, one at a time (kube/background-events.ts): they count in
// the phase they were written in, which under load is later than the decision that asked for them.
import { isDeepStrictEqual } from 'node:util';
import { byCodeUnits } from '../../src/order.ts';
import type { AuditedRequest } from './audit.ts';
import { round } from './common.ts';
import type { Seen } from './fleet.ts';
import type { Counts } from './metrics.ts';

type Current = NonNullable<NonNullable<Seen['status']['release']>['current']>;

export const RELEASE_PHASES = ['start', 'firstStep', 'steps', 'promotion', 'drain'] as const;
export type ReleasePhase = (typeof RELEASE_PHASES)[number];

export interface PerUnit {
  writes: number;
  /** Events are written in the background, one at a time: in the phase they were written in, not decided in. */
  withoutEvents: number;
  byVerbResource: Record<string, number>;
}

export interface PhaseWrites {
  writes: number;
  byVerbResource: Record<string, number>;
  perRelease: PerUnit;
  /** `steps` only: per step transition (releases × (steps − 1)). */
  perStepTransition?: PerUnit;
}

export interface WritesByReleasePhase {
  /** Releases attributed: their first status and their success matched to audited writes. */
  releases: number;
  stepTransitions: number;
  /** Of those, the releases whose status writes matched the watch's statuses in order (the rest: by time). */
  matchedInOrder: number;
  /** Releasing policies left out (not succeeded, a boundary write not found): their writes are unattributed. */
  leftOut: string[];
  phases: Record<ReleasePhase, PhaseWrites>;
  /** All phases together. */
  perRelease: PerUnit;
  /** The window's other writes: other policies, before a release's first status, releases left out. */
  unattributed: { writes: number; byVerbResource: Record<string, number> };
}

const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

/** A write of canaryd's apart from the Lease (leader election belongs to no release). */
export const isReleaseWrite = (r: AuditedRequest): boolean => WRITE_VERBS.has(r.verb) && r.resource !== 'leases';

/**
 * "namespace/policy" of a write. The fleet names a policy, its Deployment, Service and Ingress after
 * the app, the canary's objects `<app>-canary`, and canaryd an Event `<involved object>.<hex>`
 * (kube/events.ts), the involved object being the policy or its Deployment.
 */
export function policyOfWrite(r: AuditedRequest): string {
  const dot = r.name.lastIndexOf('.');
  const name = r.resource === 'events' && dot > 0 ? r.name.slice(0, dot) : r.name;
  return `${r.namespace}/${name.replace(/-canary$/, '')}`;
}

/** A release's status writes (indexes among its policy's writes) and its steps' decision times (ms, or Infinity). */
interface Bounds {
  first: number;
  promoting: number;
  succeeded: number;
  firstStepAt: number;
  stepsAt: number;
  inOrder: boolean;
}

/**
 * The release's boundaries, or undefined. Statuses seen match writes in order when they count the
 * same and none was seen before received; else (a watch restart missed one, a write just before
 * `since`) the last write received before the watch saw it.
 */
function boundaries(writes: AuditedRequest[], trail: Seen[], since: number): Bounds | undefined {
  const statuses = writes.filter((w) => w.resource === 'canarypolicies/status' && w.code !== null && w.code < 300);
  // Once each: a restarted watch lists every policy again, which is no write.
  const seen = trail.filter((s, i) => s.seenAt >= since && !isDeepStrictEqual(s.status, trail[i - 1]?.status));
  const inOrder = statuses.length === seen.length && seen.every((s, j) => (statuses[j]?.at ?? 0) <= s.seenAt);
  const matched = inOrder ? statuses : seen.map((s) => statuses.findLast((w) => w.at <= s.seenAt));
  // From the release's first status on (a late status of an earlier release is none of its own).
  const begun = seen.findIndex((s) => s.status.release?.current !== undefined);
  if (begun < 0) return undefined;
  const release = seen.slice(begun);
  const writeOf = (j: number) => {
    const write = j < 0 ? undefined : matched[begun + j];
    return write === undefined ? -1 : writes.indexOf(write);
  };
  const entering = (phases: string[]) => writeOf(release.findIndex((s) => phases.includes(s.status.phase ?? '')));
  // The first time the statuses record (a step the watch missed: the next one's).
  const decided = (pick: (current: Current) => string | undefined) => {
    for (const { status } of release) {
      const at = status.release?.current && pick(status.release.current);
      if (at !== undefined) return Date.parse(at);
    }
    return Infinity;
  };
  const stepsAt = decided((c) => (c.stepIndex >= 1 ? (c.stepEnteredAt ?? c.stepStartedAt) : undefined));
  const firstStepAt = Math.min(
    decided((c) => (c.stepIndex === 0 ? c.stepStartedAt : undefined)),
    stepsAt,
  );
  const first = writeOf(0);
  const promoting = entering(['promoting', 'succeeded']);
  const succeeded = entering(['succeeded']);
  if (first < 0 || promoting < 0 || succeeded < 0) return undefined;
  return { first, promoting, succeeded, firstStepAt, stepsAt, inOrder };
}

/** The phase of a policy's write `w`, at index x among its writes in the order received. */
function phaseAt(x: number, w: AuditedRequest, b: Bounds): ReleasePhase | undefined {
  if (x < b.first) return undefined;
  if (x > b.succeeded) return 'drain';
  if (x >= b.promoting) return 'promotion';
  if (w.at >= b.stepsAt) return 'steps';
  return w.at >= b.firstStepAt ? 'firstStep' : 'start';
}

const add = (counts: Counts, key: string, n = 1) => counts.set(key, (counts.get(key) ?? 0) + n);
const sorted = (counts: Counts) =>
  Object.fromEntries([...counts].sort((a, b) => b[1] - a[1] || byCodeUnits(a[0], b[0])));
const total = (counts: Counts, keep = (_key: string) => true) =>
  [...counts].reduce((sum, [key, n]) => sum + (keep(key) ? n : 0), 0);

function perUnit(counts: Counts, by: number): PerUnit {
  const each = (n: number) => (by > 0 ? (round(n / by) ?? 0) : 0);
  return {
    writes: each(total(counts)),
    withoutEvents: each(total(counts, (key) => !key.endsWith(' events'))),
    byVerbResource: Object.fromEntries(Object.entries(sorted(counts)).map(([key, n]) => [key, each(n)])),
  };
}

/**
 * canaryd's writes among `requests` (the release phase's, as audited) by release phase, given the
 * releasing policies' status trails ("ns/name" → what the watch saw) from `since` (the window's
 * start) and `steps` per release.
 */
export function writesByReleasePhase(
  requests: AuditedRequest[],
  trails: Map<string, Seen[]>,
  since: number,
  steps: number,
): WritesByReleasePhase {
  const byPolicy = Map.groupBy(requests.filter(isReleaseWrite), policyOfWrite);
  const counts = new Map<ReleasePhase | undefined, Counts>();
  const leftOut: string[] = [];
  let matchedInOrder = 0;
  for (const [key, writes] of byPolicy) {
    const received = writes.toSorted((a, b) => a.at - b.at);
    const trail = trails.get(key);
    const found = trail === undefined ? undefined : boundaries(received, trail, since);
    if (trail !== undefined && found === undefined) leftOut.push(key);
    if (found?.inOrder) matchedInOrder++;
    received.forEach((w, x) => {
      const phase = found === undefined ? undefined : phaseAt(x, w, found);
      counts.set(phase, add(counts.get(phase) ?? new Map(), `${w.verb.toUpperCase()} ${w.resource}`));
    });
  }
  // A releasing policy without a write in the window: its release is not there to count.
  for (const key of trails.keys()) if (!byPolicy.has(key)) leftOut.push(key);
  const releases = trails.size - leftOut.length;
  const stepTransitions = releases * Math.max(steps - 1, 0);
  const all: Counts = new Map();
  for (const name of RELEASE_PHASES) for (const [key, n] of counts.get(name) ?? []) add(all, key, n);
  const phase = (name: ReleasePhase): PhaseWrites => {
    const c = counts.get(name) ?? new Map();
    return {
      writes: total(c),
      byVerbResource: sorted(c),
      perRelease: perUnit(c, releases),
      ...(name === 'steps' ? { perStepTransition: perUnit(c, stepTransitions) } : {}),
    };
  };
  const unattributed = counts.get(undefined) ?? new Map();
  return {
    releases,
    stepTransitions,
    matchedInOrder,
    leftOut: leftOut.sort(),
    phases: Object.fromEntries(RELEASE_PHASES.map((name) => [name, phase(name)])) as Record<ReleasePhase, PhaseWrites>,
    perRelease: perUnit(all, releases),
    unattributed: { writes: total(unattributed), byVerbResource: sorted(unattributed) },
  };
}
