// One reconcile of one CanaryPolicy: snapshot (from the caches) → decide (the pure engine) →
// persist → execute. Level-triggered and idempotent: it can run any number of times, after a
// crash at any point, and converges. Order matters (see engine/decide.ts): the next state is
// persisted FIRST, then the actions run, so a crash between the two repeats actions (idempotent)
// but never a step (a step's start goes to the route first, whose record the next decision reads).
//
// The steps: active-policy.ts (the policy in force), claim.ts (one policy per Deployment), finalizer.ts, snapshot.ts (everything read,
// as Observed), drift.ts (what someone else changed, put back), pass.ts (decide → persist.ts →
// execute.ts → notify), and finalizer.ts again once a deleted policy has handed everything back.

import { drainRunning, type Observed, pausesBeforeRecording } from '../engine/index.ts';
import type { Deployment } from '../kube/objects.ts';
import type { CanaryPolicy } from '../policy/schema.ts';
import { policyMark } from '../traffic/router.ts';
import { activePolicy } from './active-policy.ts';
import { otherClaimant, refuseClaimed } from './claim.ts';
import type { PolicyObject, ReconcileResult, ReconcilerDeps } from './deps.ts';
import { putBackDrift } from './drift.ts';
import { managedMark } from './execute.ts';
import { finalizerWrite, finishDeletion, finishNeverValid } from './finalizer.ts';
import { policyRef } from './names.ts';
import { observeAnalysis, observeDeployment } from './observe.ts';
import { markedBy } from './orphan.ts';
import { decideAndAct, type PassOutcome } from './pass.ts';
import { refuseRouter, writeStatus } from './persist.ts';
import { IN_FLIGHT } from './phases.ts';
import { type Snapshot, takeSnapshot } from './snapshot.ts';
import { type PolicyStatus, readStatus } from './status.ts';

/** How soon a refused policy (router ambiguous or missing, Deployment claimed) looks again. */
const ROUTER_RETRY_MS = 30_000;
/** How often a canary being removed is looked at until it is gone. */
const CANARY_REMOVAL_POLL_MS = 1000;

export async function reconcile(deps: ReconcilerDeps, namespace: string, name: string): Promise<ReconcileResult> {
  const { kube } = deps;
  const object = await kube.get<PolicyObject>(policyRef(namespace, name));
  if (object === null) return { requeueAfterMs: null };
  const now = deps.now();
  const status = readStatus(object.status, now);
  const valid = activePolicy(object, status, now, deps);
  if (valid === undefined) {
    if (object.metadata.deletionTimestamp !== undefined && (await finishNeverValid(deps, object, status))) {
      return { requeueAfterMs: null };
    }
    await writeStatus(deps, object, status);
    return { requeueAfterMs: null };
  }
  const holder = await otherClaimant(deps, object, valid.spec.target.deployment);
  if (holder !== undefined) {
    await refuseClaimed(deps, object, status, valid.spec.target.deployment, holder, now);
    return { requeueAfterMs: object.metadata.deletionTimestamp === undefined ? ROUTER_RETRY_MS : null };
  }
  const deleting = object.metadata.deletionTimestamp !== undefined;
  // The finalizer is written beside the adoption's pause, not before it (one answer less to wait
  // for per policy adopted): a canaryd stopped between the two, or a policy deleted before its
  // finalizer landed, leaves a paused Deployment whose policy goes without handing it back, and
  // the orphan sweep hands that back (orphan-sweep.ts). Every other write waits for it.
  const finalizing = deleting ? undefined : finalizerWrite(deps, namespace, name, object);

  const snapshot = await takeSnapshot(deps, { namespace, name, object, status, policy: valid, deleting, now });
  if ('refused' in snapshot) {
    await refuseRouter(deps, (await finalizing) ?? object, status, snapshot.refused, now);
    return { requeueAfterMs: ROUTER_RETRY_MS };
  }
  const { policy, release, observed, router, target, canary, route } = snapshot;
  // Adopted before (its finalizer removed by hand since): the finalizer first, as for any write.
  const adopting = release.stable === undefined;
  const current = adopting ? object : ((await finalizing) ?? object);
  await putBackDrift(deps, snapshot);
  if (!deleting) await markAdopted(deps, snapshot);

  const pass = { deps, namespace, name, policy, router, target, canary, route, now, uid: object.metadata.uid };
  let outcome = await decideAndAct(pass, current, status, release, observed, adopting ? finalizing : undefined);
  /** Decides again after a pass, on its persisted result and `fresh` observations (no re-read). */
  const decideAgain = (done: Extract<PassOutcome, { kind: 'done' }>, fresh: (after: PolicyStatus) => Observed) => {
    const after = done.unwritten ?? readStatus(done.latest.status, deps.now());
    return decideAndAct({ ...pass, now: deps.now() }, done.latest, after, done.next, fresh(after));
  };
  // A completed analysis round may decide a rollback. Decide again at once on what was just
  // observed (no second read of the cluster), so weight 0 follows the failing measurement
  // within the second of invariant 2.
  if (outcome.kind === 'done' && outcome.analysed) {
    const done = outcome;
    outcome = await decideAgain(done, (after) => ({
      ...observed,
      analysis: observeAnalysis(policy, done.next, after.analysis, deps.now()),
    }));
  }
  // The pause an adoption just wrote, before its record, is what the next pass would observe (the
  // cache holds the write's answer): decide on it now, so the adoption is persisted once, complete
  // (or started over), in this pass.
  if (outcome.kind === 'done' && pausesBeforeRecording(outcome.next, outcome.actions)) {
    const done = outcome;
    const ref = { apiVersion: 'apps/v1', kind: 'Deployment', namespace, name: target.deployment };
    const deployment = await kube.get<Deployment>(ref);
    if (deployment !== null) {
      outcome = await decideAgain(done, () => ({
        ...observed,
        deployment: observeDeployment(deployment, done.next, policyMark(target)),
      }));
    }
  }
  if (outcome.kind === 'conflict') return { requeueAfterMs: 0 }; // someone else wrote first: observe again
  // The controller backs off per key and shows the error as Reconciled=False.
  if (outcome.kind === 'failed') throw outcome.error;
  if (deleting && (await finishDeletion(deps, outcome))) return { requeueAfterMs: null };
  return requeueAfter(deps, policy, outcome);
}

/**
 * A Deployment adopted before the mark existed gets it (deploy/'s admission policy selects on it),
 * and one whose mark names this policy without its uid (marked before the uid was recorded, or by
 * this policy's earlier self whose status came back with it under a new uid) gets the uid; one
 * being adopted gets its mark with its pause.
 */
async function markAdopted(deps: ReconcilerDeps, snapshot: Snapshot): Promise<void> {
  const { release, target, stable } = snapshot;
  if (release.stable === undefined || release.adopting || stable === null) return;
  const mark = markedBy(stable);
  const own = policyMark(target);
  const otherUid = mark?.policy === own.policy && mark.uid !== own.uid && own.uid !== undefined;
  if (mark !== undefined && !otherUid) return;
  await deps.kube.mergePatch(
    { apiVersion: 'apps/v1', kind: 'Deployment', namespace: target.namespace, name: target.deployment },
    { metadata: managedMark(target) },
  );
}

/**
 * When to look again after a pass that persisted its decision and ran its actions, and when the
 * engine's own wake-up comes: that one keeps its own timer beside an earlier look and may take a
 * worker reserved for wake-ups (queue.ts).
 */
function requeueAfter(
  deps: ReconcilerDeps,
  policy: CanaryPolicy,
  outcome: Extract<PassOutcome, { kind: 'done' }>,
): ReconcileResult {
  const { next, actions, wake } = outcome;
  if (outcome.analysed) return { requeueAfterMs: 0 };
  const wakeAfter = wake ? { wakeAfterMs: Math.max(0, wake.getTime() - deps.now().getTime()) } : {};
  // After writes, look again soon: the cluster answers with watch events, but some waits (pods
  // becoming ready, a roll) are only visible by looking. Not at once: an action the engine keeps
  // asking for while the cluster converges must not spin the controller.
  if (actions.some((a) => a.type !== 'recordEvent' && a.type !== 'ackOperation')) {
    return { requeueAfterMs: 250, ...wakeAfter };
  }
  // A canary being drained is looked at every second until the drain ends, also after the
  // release ended; from then on the engine asks for its delete and the route's cleanup (a surge
  // undone, a selector restored) on every pass until they are done, and those actions requeue.
  const removing = drainRunning(next, policy, deps.now()) ? CANARY_REMOVAL_POLL_MS : null;
  const resync = IN_FLIGHT.has(next.phase) ? (deps.resyncMs ?? 5000) : removing;
  // A resync later than the wake-up is not needed: the pass at the wake-up asks again.
  const wakeFirst = wakeAfter.wakeAfterMs !== undefined && resync !== null && wakeAfter.wakeAfterMs <= resync;
  return { requeueAfterMs: wakeFirst ? null : resync, ...wakeAfter };
}
