// The decisions of a pass besides decide()'s: which analysis evidence a release starts from, when
// a person's resume refreshes the inconclusive allowance, and whether drift someone made on the
// route is put back now. Pure and table-tested (test/engine/upkeep.test.ts); the shell
// (controller/snapshot.ts, pass.ts, drift.ts) carries them out.
import { type AnalysisCounters, INITIAL_COUNTERS, resumeCounters } from '../analysis/index.ts';
import type { Observed } from './observed.ts';
import type { ManualOperation, ReleaseState } from './types.ts';

/** Analysis evidence as the status keeps it: counters and measurements of one release. */
export interface ReleaseEvidence<M = unknown> {
  /** The release (template hash) the evidence is of. */
  templateHash?: string;
  counters: AnalysisCounters;
  measurements: M[];
}

/** Evidence belongs to one release: a new template starts from zero counters and no measurements. */
export function evidenceForRelease<M>(evidence: ReleaseEvidence<M>, release: ReleaseState): ReleaseEvidence<M> {
  const hash = release.current?.templateHash;
  if (hash === undefined || evidence.templateHash === hash) return evidence;
  return { templateHash: hash, counters: structuredClone(INITIAL_COUNTERS), measurements: [] };
}

/**
 * After decide: a resume this pass applied (its id among the operations processed) gives
 * inconclusive analysis a fresh allowance; anything else leaves the counters as they are.
 */
export function countersAfterDecision(
  counters: AnalysisCounters,
  operation: ManualOperation | undefined,
  next: ReleaseState,
): AnalysisCounters {
  const resumed = operation?.op === 'resume' && (next.recentOperationIds ?? []).includes(operation.id);
  return resumed ? resumeCounters(counters) : counters;
}

export interface RouteDrift {
  /** What someone else changed on the route, as the router describes it. */
  drift?: string;
  /** The weight the route was last written with by canaryd. */
  requestedWeight?: number;
}

/**
 * Drift is put back (the router prepares and writes the step's weight again) only while a step
 * carries its weight, once canaryd's own intent for it is on the cluster (a controller restarted
 * between saving a step and writing its weight sees no drift: the engine writes it next), and
 * never for a policy being deleted. Elsewhere the engine's own actions converge.
 */
export function driftToPutBack(
  release: ReleaseState,
  route: RouteDrift | undefined,
  deleting: boolean,
): { drift: string; weight: number } | undefined {
  const current = release.current;
  if (deleting || route?.drift === undefined || current === undefined) return undefined;
  if (route.requestedWeight !== current.weight) return undefined;
  return carryingStep(release) ? { drift: route.drift, weight: current.weight } : undefined;
}

/**
 * The canary Deployment resized by someone else while a step carries its weight (the engine
 * scales it back with its next action): what to report, or undefined. Only for routers that
 * name the canary's replicas per step (replica-ratio reports and corrects it as route drift).
 */
export function canaryResized(
  release: ReleaseState,
  observed: Pick<Observed, 'canary' | 'canaryReplicasPerStep'>,
): { replicas: number; wanted: number; step: number } | undefined {
  const current = release.current;
  const canary = observed.canary;
  if (current === undefined || !carryingStep(release)) return undefined;
  const wanted = observed.canaryReplicasPerStep?.[current.stepIndex];
  if (canary === undefined || wanted === undefined || canary.templateHash !== current.templateHash) return undefined;
  return canary.replicas === wanted ? undefined : { replicas: canary.replicas, wanted, step: current.stepIndex + 1 };
}

/** A step carries its weight: its canary is ready and the weight written, and it is not ending. */
const carryingStep = (release: ReleaseState): boolean =>
  release.current?.stepStartedAt !== undefined && (release.phase === 'progressing' || release.phase === 'paused');
