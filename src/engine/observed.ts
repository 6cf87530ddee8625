// What the engine is shown for one call of decide(): the managed Deployment, the canary, the
// route, the latest analysis round, a manual operation and the hooks' answers, put in the
// engine's terms by the controller (controller/snapshot.ts). Plain data; the engine looks
// nothing up itself.
import type { HookAnswer, HookName } from './hook-calls.ts';
import type { JsonValue, ManualOperation } from './types.ts';

export interface ObservedDeployment {
  /** Hash of the pod template as the controller computes it (stable across canaryd's own labels). */
  templateHash: string;
  /** What changed, for people: the change-cause annotation or e.g. "image app:1.2 -> app:1.3". */
  changeCause: string;
  template: JsonValue;
  paused: boolean;
  /** spec.replicas (1 when unset). */
  replicas: number;
  readyReplicas: number;
  /** Every pod runs templateHash, all available, status observed for the latest generation. */
  rolloutComplete: boolean;
  /**
   * Pods that run the template, as the Deployment controller counts them (status.updatedReplicas)
   * once it has observed the latest spec; absent: not known (yet).
   */
  updatedReplicas?: number;
  /**
   * false while the Deployment controller has not observed the latest spec (right after a
   * write, canaryd's own included): rolloutComplete is unknown then, not false. Absent: observed.
   */
  statusObserved?: boolean;
  /** Carries canaryd's managed label (canaryd.dev/managed): to be removed when handed back. */
  marked?: boolean;
  /**
   * The mark is an earlier CanaryPolicy's of this name (another uid): one deleted without its
   * finalizer before this one was created. What it left is the orphan sweep's to hand back.
   */
  markedByEarlierPolicy?: boolean;
  /**
   * The template hash canaryd's adoption pause wrote on the Deployment (canaryd.dev/adopted-template):
   * what a pause without a persisted adoption was for.
   */
  adoptedTemplate?: string;
  /** Who last wrote these fields (metadata.managedFields, canaryd's own writes excluded). */
  writers?: { template?: FieldWriter; replicas?: FieldWriter };
}

/** A field manager's entry in metadata.managedFields, as plain data. */
export interface FieldWriter {
  manager: string;
  operation: string;
  time?: string;
  subresource?: string;
}

export interface ObservedCanary {
  templateHash: string;
  replicas: number;
  /**
   * Ready pods running templateHash (pods of an older canary template do not count) that are
   * also ready endpoints behind the canary route: what a step may give its weight to.
   */
  readyReplicas: number;
  /**
   * Ready pods running templateHash as the Deployment counts them, endpoints behind the route or
   * not yet (absent: readyReplicas). Only to say why a step waits.
   */
  readyInDeployment?: number;
  /**
   * Ready pods behind the canary route, whatever their template: what invariant 1 asks about.
   * Differs from readyReplicas while the Deployment controller has not yet observed a change
   * (a scale, an outage): readiness of the new generation is unknown then, not zero.
   */
  servingReplicas: number;
  /**
   * Being deleted (deletionTimestamp; canaryd deletes it dependents first, so it stays until its
   * pods are gone). Nothing is routed to it, and the route is cleaned up only once it is gone:
   * the stable Service's own selector would pick its pods up.
   */
  removing?: boolean;
}

export interface ObservedRoute {
  /** Canary Service/Ingress (or the router's equivalent) exist. */
  prepared: boolean;
  /** The weight the router was last set to. */
  weight: number;
  /** The share the router actually achieves (replica-ratio approximates). */
  achievedWeight: number;
  testersRouting: boolean;
  /** The data plane refused the route (a Gateway's Accepted/ResolvedRefs False): its reason. */
  rejected?: string;
}

/**
 * advance-now: the step may end before its hold (sequential evidence, advanceOnEvidence);
 * undecided: continue, sequential evidence is still being gathered (at timeouts.release it
 * follows onInconclusive instead of rolling back).
 */
export type AnalysisDecision = 'advance-allowed' | 'advance-now' | 'continue' | 'undecided' | 'pause' | 'rollback';

/** The latest completed measurement round, mapped by the controller from the analysis module. */
export interface AnalysisRound {
  /** Monotonically increasing id. */
  round: number;
  /** When the round completed. */
  at: string;
  decision: AnalysisDecision;
  reason: string;
}

export interface Observed {
  policyDeleted: boolean;
  /** Absent when the managed Deployment does not exist. */
  deployment?: ObservedDeployment;
  /** Absent when `<name>-canary` does not exist. */
  canary?: ObservedCanary;
  route: ObservedRoute;
  analysis?: AnalysisRound;
  operation?: ManualOperation;
  /** The latest answer of each hook (status.hooks); the engine reads those whose callId it asked. */
  hooks?: Partial<Record<HookName, HookAnswer>>;
  /**
   * Canary pods each step needs, when the traffic router decides it (replica-ratio sizes the
   * canary by its solver). Index = step index; absent: the engine sizes by the step's weight.
   */
  canaryReplicasPerStep?: number[];
  /**
   * Ready canary pods receive traffic as soon as they are ready (replica-ratio: they join the
   * stable Service), so the canary's size is its share. The engine then keeps the canary at the
   * size of the weight in force (0 before the first step) until the step's gates are open.
   */
  canaryPodsCarryTraffic?: boolean;
}
