// What a notification says: one release event, as plain data. Built by derive.ts from the facts
// the engine persisted (never from memory), formatted per receiver by slack.ts, teams.ts and
// webhook.ts. Field names here are the documented webhook body (docs/notifications.md).

export const NOTIFICATION_TYPES = [
  'started',
  'stepAdvanced',
  'paused',
  'resumed',
  'analysisInconclusive',
  'rolledBack',
  'promoted',
  'failed',
  'superseded',
  'cancelled',
  'operationRefused',
] as const;

export type NotificationType = (typeof NOTIFICATION_TYPES)[number];

/** A check that did not pass in the round that decided, with its value and its thresholds. */
export interface CheckResult {
  check: string;
  verdict: 'fail' | 'inconclusive';
  /** The canary value; null for no data. */
  value: number | null;
  stableValue?: number | null;
  /** The check's thresholds as the policy states them (relative ones compare with stableValue). */
  thresholds: { min?: number; max?: number; maxAbove?: number; maxBelow?: number; maxRatio?: number };
  reason: string;
}

export interface NotificationRelease {
  revision: number;
  changeCause: string;
  templateHash: string;
  /** The engine's phase after the transition. */
  phase: string;
  /** 1-based; absent when no step runs. */
  step?: number;
  steps: number;
  /** The weight canaryd's plan gives the step, percent. */
  weight: number;
}

export interface Notification {
  /** Deterministic: the same transition, derived again after a restart, has the same id. */
  id: string;
  type: NotificationType;
  /** When the transition happened (the engine's clock for that decision), ISO 8601. */
  time: string;
  policy: { namespace: string; name: string };
  deployment: string;
  release?: NotificationRelease;
  /** One line for people. */
  summary: string;
  /** Type-specific facts (see docs/notifications.md). */
  details: NotificationDetails;
}

export interface NotificationDetails {
  /** stepAdvanced: the share the router reports the canary really carries, percent. */
  measuredShare?: number;
  /** paused, resumed, operationRefused: who (a Kubernetes user, "analysis", "policy", "gateway"). */
  by?: string;
  /** paused: manual | step | analysis | route. */
  cause?: string;
  /** Why, in the engine's words. */
  reason?: string;
  /** rolledBack, analysisInconclusive: the checks that did not pass in the deciding round. */
  checks?: CheckResult[];
  /** operationRefused: the operation as typed, e.g. "undo --to-revision=2". */
  operation?: string;
  /** promoted, failed, superseded, cancelled: the release's outcome in the history. */
  outcome?: string;
  /** superseded: the newer template that replaced the release (its release starts at step 1). */
  supersededBy?: { revision?: number; templateHash: string; changeCause: string };
}
