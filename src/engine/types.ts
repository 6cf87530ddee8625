// What the engine remembers (ReleaseState: the release in flight, the stable revision, the
// history) and the vocabulary it shares with what it is shown (observed.ts) and asks for
// (actions.ts). Plain JSON data only: the state is persisted in the CanaryPolicy status and must
// survive a SIGKILL at any moment, so nothing here may be a class, a Date or a function.
import type { HookAsk } from './hook-calls.ts';

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
   * release before the canary goes. It stays after the canary is gone (read only beside a
   * canary; drainRunning says whether it still runs) until the next release begins.
   */
  drain?: { since: string };
  /**
   * The stable revision is recorded and the Deployment's pause (which completes the adoption) is
   * not seen yet: until it is, the Deployment is still the user's and a new template is rolled
   * by Kubernetes, not released (phases/adoption.ts).
   */
  adopting?: true;
}
