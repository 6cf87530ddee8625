// What one reconcile needs from outside (the ports, the clock, the log, callbacks) and what it
// answers the controller's queue.
import type { HookName } from '../engine/index.ts';
import type { HookAnswers, HookCall } from '../hooks/index.ts';
import type { KubeApi, StatusWriter } from '../kube/api.ts';
import type { EventRecorder } from '../kube/events.ts';
import type { KubeObject } from '../kube/objects.ts';
import type { Transition } from '../notify/derive.ts';
import type { RouterName, TrafficRouter } from '../traffic/router.ts';
import type { AdmissionVerdict } from './actor.ts';
import type { AnalysisRunner } from './analysis-runner.ts';
import type { PolicyStatus } from './status.ts';

export interface Logger {
  debug?(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export interface ReconcilerDeps {
  kube: KubeApi & StatusWriter;
  events: EventRecorder;
  router(kind: RouterName): TrafficRouter;
  analysis: AnalysisRunner;
  now(): Date;
  log: Logger;
  /** Called with every status written (metrics). */
  onStatus?(namespace: string, name: string, status: PolicyStatus): void;
  /** While a release runs, look again at least this often (drift, readiness), in ms. */
  resyncMs?: number;
  /** Told every persisted decision; must return at once (src/notify/: notifications). */
  notify?(transition: Transition): void;
  /**
   * Also write each decision's notifications into the status, with the decision: a canaryd killed
   * before its outbox had them sends them after its restart (notify/recovery.ts). Where receivers
   * are configured.
   */
  notificationsInStatus?: boolean;
  /** Is the operation-actor admission policy enforced (controller/actor.ts)? Absent: never. */
  admission?: () => Promise<AdmissionVerdict>;
  /** Calls hooks in the background (src/hooks/runner.ts). Absent: no call is made (each is inconclusive). */
  hooks?: {
    start(call: HookCall): void;
    answers(namespace: string, name: string): HookAnswers;
    /** The hooks the policy configures (their metric series start at 0). */
    configured?(hooks: Iterable<HookName>): void;
  };
}

export interface ReconcileResult {
  /** Reconcile again after this many ms (0: at once); null: only when something changes. */
  requeueAfterMs: number | null;
  /** The engine's wake-up (a hold's end, an analysis round, a deadline) in this many ms: it has workers of its own. */
  wakeAfterMs?: number;
}

export interface PolicyObject extends KubeObject {
  spec?: unknown;
  status?: unknown;
}
