// The release engine's public surface: a pure decide() and the data it speaks.
export type * from './actions.ts';
export { decide, initialState } from './decide.ts';
export { drainRunning } from './drain.ts';
export type * from './hook-calls.ts';
export { nextAnalysisTime, nextStepTime } from './next.ts';
export type * from './observed.ts';
export { pausesBeforeRecording } from './phases/adoption.ts';
export { routeBeforeRecording } from './phases/step-recorded.ts';
export { canaryReplicas, type PlannedStep, planSteps } from './plan.ts';
export { OWN_FIELD_MANAGER } from './stable-drift.ts';
export type * from './types.ts';
export {
  canaryResized,
  countersAfterDecision,
  driftToPutBack,
  evidenceForRelease,
  type ReleaseEvidence,
} from './upkeep.ts';
export { nextWakeAt } from './wake.ts';
