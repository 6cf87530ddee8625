// The release engine's public surface: a pure decide() and the data it speaks.
export { decide, initialState } from './decide.ts';
export { nextAnalysisTime, nextStepTime } from './next.ts';
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
