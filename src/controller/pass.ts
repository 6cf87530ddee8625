// One pass: decide (the pure engine) → persist the next state → execute its actions in order →
// notify. Persisting first means a crash between the two repeats actions (idempotent) but never
// a step (engine/decide.ts). A step's start whose one action is its weight goes to the route
// first and its status after it, with the share the route then carries: one status write.
import {
  type Action,
  countersAfterDecision,
  decide,
  evidenceForRelease,
  nextAnalysisTime,
  nextStepTime,
  nextWakeAt,
  type Observed,
  pausesBeforeRecording,
  type ReleaseState,
  routeBeforeRecording,
} from '../engine/index.ts';
import type { Deployment, KubeObject } from '../kube/objects.ts';
import { deriveNotifications, type Transition } from '../notify/derive.ts';
import type { Notification } from '../notify/events.ts';
import { afterDecision } from '../notify/recovery.ts';
import type { CanaryPolicy } from '../policy/schema.ts';
import { POD_TEMPLATE_HASH } from '../traffic/labels.ts';
import type { RouteStatus, RouteTarget, TrafficRouter } from '../traffic/router.ts';
import type { PolicyObject, ReconcilerDeps } from './deps.ts';
import { executeAction } from './execute.ts';
import { policyKeyOf, policyRef } from './names.ts';
import { readyCondition, withShare, writeMeasuredShare, writeStatus } from './persist.ts';
import { reconciledCondition } from './reconcile-error.ts';
import { type PolicyStatus, readStatus, setCondition, summarise } from './status.ts';

export interface Pass {
  deps: ReconcilerDeps;
  namespace: string;
  name: string;
  policy: CanaryPolicy;
  router: TrafficRouter;
  target: RouteTarget;
  canary: Deployment | null;
  route: { status?: RouteStatus };
  now: Date;
  uid: string | undefined;
}

export type PassOutcome =
  | { kind: 'conflict' }
  | { kind: 'failed'; error: unknown }
  | {
      kind: 'done';
      next: ReleaseState;
      actions: Action[];
      latest: PolicyObject;
      analysed: boolean;
      wake: Date | null;
      /** The status decided and not written yet (an adoption's pause goes before its record). */
      unwritten?: PolicyStatus;
    };

/** decide → persist the next state → execute its actions in order (stopping at the first failure). */
export async function decideAndAct(
  pass: Pass,
  object: PolicyObject,
  status: PolicyStatus,
  release: ReleaseState,
  observed: Observed,
  /** The finalizer's write in flight (reconciler.ts): only an adoption's pause goes before its answer. */
  finalizing?: Promise<PolicyObject>,
): Promise<PassOutcome> {
  const { deps, namespace, name, policy, now } = pass;
  const { log } = deps;
  const key = policyKeyOf(namespace, name);
  const { next, actions } = decide(policy, release, observed, now);
  log.debug?.('decided', {
    policy: key,
    phase: next.phase,
    reason: next.reason,
    actions: actions.map((a) => a.type),
  });
  // The evidence of a release that starts (or supersedes another) now is persisted with the
  // decision that starts it, not by a status write of its own in the next pass.
  status.analysis = evidenceForRelease(status.analysis, next);
  // A person resumed: inconclusive analysis gets a fresh allowance.
  status.analysis.counters = countersAfterDecision(status.analysis.counters, observed.operation, next);
  const wake = nextWakeAt(next, policy, now);
  const decision = { policy, before: release, after: next, actions, at: now.toISOString() };
  const nextStatus: PolicyStatus = {
    ...status,
    notifications: notificationsOnRecord(deps, key, status, { ...decision, analysis: status.analysis }, now),
    ...summarise(policy, next, pass.route.status?.achievedWeight ?? 0),
    release: next,
    nextStepAt: nextStepTime(next, policy, now)?.toISOString(),
    nextAnalysisAt: nextAnalysisTime(next, policy)?.toISOString(),
    conditions: reconciledCondition(setCondition(status.conditions, readyCondition(next), now), now),
    updatedAt: now.toISOString(),
  };
  // An adoption's pause carries its own record: it goes first, and this status is persisted with
  // the decision made on the paused Deployment (reconciler.ts), which goes on from it.
  const unwritten = pausesBeforeRecording(next, actions) ? nextStatus : undefined;
  // A step's start goes to the route first: its record of the weight stands for the decision
  // until the status, written after it with the share the route then carries (engine/phases/step-recorded.ts).
  const routeFirst = routeBeforeRecording(release, next, actions);
  const base = unwritten || finalizing === undefined ? object : await finalizing;
  const written = unwritten || routeFirst ? object : await writeStatus(deps, base, nextStatus);
  if (written === null) return { kind: 'conflict' };

  let latest: PolicyObject = written;
  let analysed = false;
  let measuredShare: number | undefined;
  // After the actions (weight 0 is written first; a notification never waits before it), also
  // when one failed: the decision is persisted, so its notifications are due either way.
  const notify = () =>
    deps.notify?.({
      ...decision,
      analysis: readStatus(latest.status, now).analysis,
      ...(measuredShare === undefined ? {} : { measuredShare }),
    });
  const ctx = {
    onWeightSet: (achieved: number) => {
      measuredShare = achieved;
    },
    kube: deps.kube,
    events: deps.events,
    router: pass.router,
    target: pass.target,
    policy,
    policyObject: latest,
    next,
    log: (message: string, fields?: Record<string, unknown>) => log.info(message, { policy: key, ...fields }),
    callHook: (action: Extract<Action, { type: 'callHook' }>) => {
      const spec = policy.spec.hooks?.[action.hook];
      if (spec !== undefined) deps.hooks?.start({ namespace, name, ...action, spec });
    },
    analyse: async (action: Extract<Action, { type: 'analyse' }>) => {
      const current = readStatus(latest.status, now);
      const analysis = await deps.analysis.run(
        policy,
        await analysisTargetOf(deps, pass.target, pass.canary),
        current.analysis,
        deps.now(),
        {
          releaseStartedAt: dateOrUndefined(next.current?.startedAt),
          stepStartedAt: dateOrUndefined(action.since),
        },
      );
      const after = await writeStatus(deps, latest, { ...current, analysis, updatedAt: deps.now().toISOString() });
      if (after) latest = after;
      analysed = true;
      log.info('analysis round', {
        policy: key,
        step: action.stepIndex + 1,
        verdict: analysis.counters.lastRound?.verdict,
        problems: analysis.counters.lastRound?.problems,
      });
    },
  };
  for (const action of actions) {
    try {
      await executeAction(action, ctx);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      log.error('action failed', { policy: key, action: action.type, error: message });
      await deps.events
        .record(
          { ...policyRef(namespace, name), uid: pass.uid },
          'Warning',
          'ActionFailed',
          `${action.type}: ${message}`,
        )
        .catch(() => {
          // The Event is only a report; the failure itself is logged above and retried below.
        });
      // A step's start whose route write failed was never recorded: nothing to notify.
      if (!routeFirst) notify();
      return { kind: 'failed', error };
    }
  }
  if (routeFirst) {
    // A lost race or a crash before this write: the next pass reads the route's record.
    const recorded = await writeStatus(deps, latest, withShare(policy, nextStatus, measuredShare));
    if (recorded === null) return { kind: 'conflict' };
    latest = recorded;
  }
  notify();
  // The adoption's pause went beside the finalizer: its record is persisted on the policy's answer.
  if (unwritten && finalizing !== undefined) latest = await finalizing;
  // The share the route now carries, in this pass's status; a lost race or a failed write is
  // left to the next pass, which observes the route again.
  if (measuredShare !== undefined) {
    const measured = await writeMeasuredShare(deps, latest, policy, measuredShare, deps.now()).catch((error: Error) => {
      log.warn('measured share not written; the next pass writes it', { policy: key, error: error.message });
      return null;
    });
    latest = measured ?? latest;
  }
  return { kind: 'done', next, actions, latest, analysed, wake, ...(unwritten ? { unwritten } : {}) };
}

const dateOrUndefined = (iso: string | undefined): Date | undefined => (iso === undefined ? undefined : new Date(iso));

async function analysisTargetOf(deps: ReconcilerDeps, target: RouteTarget, canary: Deployment | null) {
  const sets = await deps.kube.list<KubeObject & { spec?: { replicas?: number } }>(
    'apps/v1',
    'ReplicaSet',
    target.namespace,
  );
  const hashOf = (deployment: string) =>
    sets.find(
      (rs) =>
        rs.metadata.ownerReferences?.some((o) => o.kind === 'Deployment' && o.name === deployment) &&
        (rs.spec?.replicas ?? 0) > 0,
    )?.metadata.labels?.[POD_TEMPLATE_HASH];
  return {
    namespace: target.namespace,
    deployment: target.deployment,
    canary: target.canaryDeployment,
    service: target.service,
    canaryService: target.canaryService,
    ingresses: target.ingresses,
    // gateway-api: the routes whose backends carry the split (Traefik names its Gateway backends
    // httproute-<ns>-<route>-...); for built-in checks over a Gateway's own metrics.
    httpRoutes: target.httpRoutes ?? [],
    stableHash: hashOf(target.deployment),
    canaryHash: canary ? hashOf(target.canaryDeployment) : undefined,
  };
}

/**
 * The status's notifications with this decision's, derived before its actions and written with
 * it: a canaryd killed before its outbox has them sends them after its restart (issue 15,
 * notify/recovery.ts). Only where receivers are configured; a derivation that fails is logged
 * and never holds the decision up (notify() logs it again after the actions).
 */
function notificationsOnRecord(
  deps: ReconcilerDeps,
  key: string,
  status: PolicyStatus,
  transition: Transition,
  now: Date,
): Notification[] | undefined {
  if (deps.notificationsInStatus !== true) return status.notifications;
  try {
    return afterDecision(status.notifications, deriveNotifications(transition), now);
  } catch (error) {
    deps.log.warn('could not derive notifications', { policy: key, error: (error as Error).message });
    return status.notifications;
  }
}
