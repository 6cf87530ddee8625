// The engine's vocabulary: what it remembers (ReleaseState), what it is shown (Observed) and what
// it asks for (Action). Plain JSON data only: the state is persisted in the CanaryPolicy status
// and must survive a SIGKILL at any moment, so nothing here may be a class, a Date or a function.

/** Any JSON value. Pod templates travel through the engine as opaque JSON. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export type Phase =
  | 'idle' // no release; the Deployment is paused at its stable revision (or not adopted yet: `adopting`)
  | 'waiting' // a new template waits for a start window
  | 'progressing' // a canary step: current.stepIndex at current.weight
  | 'paused' // like progressing but never advances: by a person, by a step's pause, by inconclusive analysis
  | 'promoting' // the stable Deployment rolls to the new template; the canary keeps its weight until done
  | 'succeeded' // the last release was promoted (rests like idle)
  | 'rollingBack' // weight 0, stable template restored, canary objects removed
  | 'failed'; // the last release was rolled back (rests like idle)

export type Outcome = 'adopted' | 'succeeded' | 'rolledBack' | 'superseded' | 'cancelled';

export type OperationKind = 'pause' | 'resume' | 'promote' | 'promoteFull' | 'abort' | 'retry' | 'undo' | 'approve';

/** The hooks a policy may declare (spec.hooks); see docs/hooks.md. */
export type HookName = 'preRollout' | 'confirmStep' | 'confirmPromotion' | 'during' | 'postRollout' | 'onRollback';

/** approved: {"approved": true}; refused: {"approved": false}; inconclusive: no usable answer (timeout, unreachable, 4xx/5xx, malformed). */
export type HookResult = 'approved' | 'refused' | 'inconclusive';

/** A hook's answer to one call, as the controller observed it (and keeps in status.hooks). */
export interface HookAnswer {
  callId: string;
  /** When the answer came (or the last attempt gave up). */
  at: string;
  result: HookResult;
  message: string;
  latencyMs: number;
  attempts: number;
}

/** One question to a gating hook, persisted so a restarted controller neither asks twice nor forgets it asked. */
export interface HookAsk {
  hook: HookName;
  /** The step it gates (steps.length for confirmPromotion). */
  stepIndex: number;
  callId: string;
  /** Calls made for this hook and step so far (part of callId). */
  seq: number;
  askedAt: string;
  /** Inconclusive answers in a row (spec.analysis.inconclusiveLimit). */
  inconclusive: number;
  /** The answer to callId, once the engine has read it. */
  answered?: { result: HookResult; at: string; message: string };
  /** during: the latest answer of this step, kept while the next call is in flight. */
  last?: { result: HookResult; at: string; message: string };
}

/** What a hook request says about the release (docs/hooks.md, "Request"). Computed by the engine. */
export interface HookReleaseContext {
  revision: number;
  templateHash: string;
  changeCause: string;
  phase: string;
  /** 1-based; 0 before the first step. */
  step: number;
  steps: number;
  /** Weight the canary route carries now, percent. */
  weight: number;
  /** Weight the gated step would set (confirmStep, preRollout), percent; 100 for confirmPromotion. */
  nextWeight?: number;
  reason: string;
}

/** A manual operation as `kubectl canary` writes it into the cluster. */
export interface ManualOperation {
  /** Unique per request (e.g. a UUID); an id is processed once. */
  id: string;
  op: OperationKind;
  /** undo: the history revision to release; retry: optional, default the last rolled-back one. */
  toRevision?: number;
  /** undo only: roll the stable Deployment straight to that template, without canary steps. */
  skipCanary?: boolean;
  by: string;
  at: string;
  /**
   * Set by the controller: Kubernetes authenticated `by` (controller/actor.ts). An approval counts
   * only when verified, since only then did the API server check the approver's RBAC right.
   */
  verified?: boolean;
}

export interface OperationRecord {
  id: string;
  op: OperationKind;
  /** The flags as asked: `--to-revision` (undo, retry) and `--skip-canary` (undo). */
  toRevision?: number;
  skipCanary?: boolean;
  /** undo/retry, when applied: the stable revision that was replaced (the change is from → toRevision). */
  fromRevision?: number;
  by: string;
  at: string;
  /** What the engine did with it: 'applied' or why it was refused. */
  result: string;
}

export interface Revision {
  /** Sequence number of the release (history "revision" in `kubectl canary history`). */
  revision: number;
  templateHash: string;
  changeCause: string;
}

export interface StableRevision extends Revision {
  /** Kept so a rollback can write it back into the Deployment without looking anything up. */
  template: JsonValue;
}

export interface HistoryEntry extends Revision {
  startedAt: string;
  endedAt: string;
  outcome: Outcome;
  reason: string;
  operations: OperationRecord[];
  /** Kept on the newest few entries only (see history.ts), for undo --to-revision and retry. */
  template?: JsonValue;
}

export type PauseCause = 'manual' | 'step' | 'analysis' | 'route' | 'hook';

export interface CurrentRelease extends Revision {
  template: JsonValue;
  origin: 'template' | 'undo' | 'retry';
  /** When canaryd noticed the template (a release may wait for its start window after this). */
  noticedAt: string;
  /** When steps began; unset while waiting. */
  startedAt?: string;
  stepIndex: number;
  /** When the step's canary was asked to become ready for the step. */
  stepEnteredAt?: string;
  /** When the step's weight was set; unset while the canary is being made ready for the step. */
  stepStartedAt?: string;
  /** Weight the route should carry now (the previous step's until this step starts). */
  weight: number;
  /** Last weight the router reported as achieved (replica-ratio can only approximate). */
  achievedWeight?: number;
  /** The stable Deployment's spec.replicas last seen in this release (a scale by hand is reported once). */
  stableReplicas?: number;
  /** When canaryd saw the stable Deployment unpaused by someone else (cleared once paused again). */
  stableUnpaused?: string;
  testersOnly?: boolean;
  pausedBy?: { cause: PauseCause; by: string; at: string; reason: string };
  /** A person lifted the pause gate of this step. */
  stepPauseLifted?: number;
  promote?: { full: boolean; by: string; at: string };
  /** undo --skip-canary: straight to promoting. */
  skipCanary?: boolean;
  /** undo/retry: the Deployment must first be given `template`; it held `replacedHash` when asked. */
  pendingTemplate?: { replacedHash: string };
  reason: string;
  deadlines: { canaryReady?: string; release?: string; promotion?: string; rollback?: string };
  analysis: { lastRound?: number; requestedAt?: string };
  rollback?: { reason: string; outcome: 'rolledBack' | 'cancelled' };
  operations: OperationRecord[];
  /** The latest question to each gating hook (preRollout, confirmStep, confirmPromotion): engine/hooks.ts. */
  gates?: Partial<Record<'preRollout' | 'confirmStep' | 'confirmPromotion', HookAsk>>;
  /** The during hook's calls in this step. */
  during?: HookAsk;
  /** Approval gates opened (`kubectl canary approve`): step index, who, when. */
  approvals?: Array<{ stepIndex: number; by: string; at: string }>;
  /**
   * The step whose gates (preRollout, confirmStep, approval) opened while its canary was held at
   * the size in force (Observed.canaryPodsCarryTraffic): from then on it grows to the step's size.
   */
  gatesOpened?: number;
}

export interface ReleaseState {
  /** Schema version of this persisted object. */
  version: 1;
  phase: Phase;
  /** Why the engine is where it is, in words for an SRE. */
  reason: string;
  stable?: StableRevision;
  current?: CurrentRelease;
  /** Template hashes not to release again until a person retries them (bounded). */
  failedRevisions: string[];
  /** Newest last, bounded. */
  history: HistoryEntry[];
  nextRevision: number;
  lastOperationId?: string;
  /** Ids of the last few operations processed (newest last), so none is applied twice. */
  recentOperationIds?: string[];
  /**
   * What became of the last few operations (newest last), whether or not a release was running:
   * `kubectl canary` waits for its operation's id here and prints what really happened.
   */
  recentOperations?: OperationRecord[];
  /**
   * The canary is being drained: since `since` (the first decide that saw the route at weight 0
   * with no tester routing) it receives no new requests, and it is removed once
   * spec.traffic.drainDelay has passed. Kept here, not in `current`, because promotion ends the
   * release before the canary goes.
   */
  drain?: { since: string };
  /**
   * The stable revision is recorded and the Deployment's pause (which completes the adoption) is
   * not seen yet: until it is, the Deployment is still the user's and a new template is rolled
   * by Kubernetes, not released (phases/adoption.ts).
   */
  adopting?: true;
}

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
   * false while the Deployment controller has not observed the latest spec (right after a
   * write, canaryd's own included): rolloutComplete is unknown then, not false. Absent: observed.
   */
  statusObserved?: boolean;
  /** Carries canaryd's managed label (canaryd.dev/managed): to be removed when handed back. */
  marked?: boolean;
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
  /** Ready pods running templateHash (pods of an older canary template do not count). */
  readyReplicas: number;
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

export type EventType = 'Normal' | 'Warning';

/**
 * What the controller must do, in the order given. Every action is idempotent; execute them in
 * order and stop at the first failure (then observe and call decide again).
 */
export type Action =
  | { type: 'adoptDeployment'; templateHash: string }
  | { type: 'applyTemplate'; templateHash: string; template: JsonValue }
  | { type: 'createCanary'; templateHash: string; template: JsonValue; replicas: number }
  | { type: 'scaleCanary'; replicas: number }
  | { type: 'prepareRoute' }
  | { type: 'setTesterRouting'; enabled: boolean }
  | { type: 'setWeight'; weight: number }
  | { type: 'analyse'; templateHash: string; stepIndex: number; weight: number; since: string }
  | { type: 'restoreStableTemplate'; templateHash: string; template: JsonValue }
  | { type: 'promoteStable'; templateHash: string }
  | { type: 'repauseStable' }
  | { type: 'deleteCanary' }
  | { type: 'cleanupRoute' }
  | { type: 'releaseDeployment' }
  | { type: 'callHook'; hook: HookName; callId: string; release: HookReleaseContext }
  | { type: 'recordEvent'; eventType: EventType; reason: string; message: string }
  | { type: 'ackOperation'; id: string };

export type ActionType = Action['type'];

export interface Decision {
  next: ReleaseState;
  actions: Action[];
}
