// Adoption: canaryd takes a Deployment over by recording its template as the stable revision and
// pausing it. The pause carries its own record (the adopted template's hash, on the Deployment),
// so it goes first and the decision is persisted once, with the adoption complete: a canaryd
// stopped between the two finds the record on the Deployment (invariant 5). Adoption is reported
// (Event, reason, Ready) only once the pause is seen. A template changed before the pause, or
// after it while the adoption was not recorded yet, is the user's own rollout: Kubernetes rolls
// it, and canaryd adopts the new revision once that rollout is complete, instead of pausing a
// Deployment halfway and calling its mixed pods a canary. A Deployment found paused by someone
// else is adopted at once, unless its template is not the one its pods run: then nobody rolled it.
// One still marked by an earlier policy of the same name (another uid: deleted without its
// finalizer, then created again) is that policy's until canaryd hands it back.

import type { Action } from '../actions.ts';
import { type Context, event } from '../context.ts';
import { canaryObjectsRemoval } from '../drain.ts';
import { appendHistory } from '../history.ts';
import { setPhase } from '../transitions.ts';
import type { ReleaseState } from '../types.ts';

/**
 * First sight of the Deployment: record its template as the stable revision and pause it. A
 * Deployment in the middle of its own roll is left to finish first, so no pod is restarted and
 * no half-rolled revision is called stable.
 */
export function adopt(state: ReleaseState, context: Context): { next: ReleaseState; actions: Action[] } {
  const deployment = context.observed.deployment!;
  if (deployment.markedByEarlierPolicy) {
    // Not this policy's pause: what that release left (its route, its paused template) is handed
    // back by the orphan sweep first, then this policy adopts the Deployment as it is left.
    setPhase(state, 'idle', EARLIER_POLICY_WAIT);
    return { next: state, actions: [] };
  }
  if (
    deployment.paused &&
    deployment.adoptedTemplate !== undefined &&
    deployment.adoptedTemplate !== deployment.templateHash
  ) {
    return handBackForItsRollout(state, context);
  }
  if (!deployment.paused && !deployment.rolloutComplete) {
    setPhase(state, 'idle', "waiting for the Deployment's own rollout to complete before adopting it");
    return { next: state, actions: [] };
  }
  const unrolled = deployment.paused && deployment.adoptedTemplate === undefined ? pausedUnrolled(context) : undefined;
  if (unrolled !== undefined) {
    setPhase(state, 'idle', unrolled);
    return { next: state, actions: [] };
  }
  const revision = state.nextRevision;
  state.nextRevision += 1;
  state.stable = {
    revision,
    templateHash: deployment.templateHash,
    changeCause: deployment.changeCause,
    template: deployment.template,
  };
  state.history = appendHistory(state.history, {
    revision,
    templateHash: deployment.templateHash,
    changeCause: deployment.changeCause,
    startedAt: context.nowIso,
    endedAt: context.nowIso,
    outcome: 'adopted',
    reason: 'adopted as the stable revision',
    operations: [],
    template: deployment.template,
  });
  if (deployment.paused) {
    adopted(state, context); // found paused: nothing is left to wait for
  } else {
    state.adopting = true;
    setPhase(state, 'idle', `adopting revision ${revision}: pausing the Deployment`);
  }
  return { next: state, actions: adoptionActions(state, context) };
}

const EARLIER_POLICY_WAIT =
  'waiting for canaryd to hand back what an earlier CanaryPolicy of this name left: it was deleted without its ' +
  'finalizer and its mark is still on the Deployment (a release in flight stays paused until you roll or revert it)';

/**
 * Found paused by someone else (no mark of canaryd's pause): is its template one its pods run? A
 * paused Deployment rolls nothing, so a template set on it since (a rollout paused halfway, or a
 * release abandoned by a policy deleted without its finalizer) ran on none or only some of its pods,
 * and is not called stable. The reason says how to go on, undefined when it may be adopted.
 */
function pausedUnrolled(context: Context): string | undefined {
  const deployment = context.observed.deployment!;
  if (deployment.statusObserved === false) {
    return "waiting for the Deployment controller's status of the paused Deployment before adopting it";
  }
  const running = deployment.updatedReplicas;
  if (running === undefined || running >= deployment.replicas) return undefined;
  const name = `deployment/${context.policy.spec.target.deployment}`;
  return (
    `not adopted: the Deployment is paused with a template ${running} of its ${deployment.replicas} pods run, ` +
    `so it is not the stable revision. Roll it out (\`kubectl rollout resume ${name}\`), or set the template back to ` +
    'the one its pods run and resume it (`kubectl rollout undo` refuses a paused Deployment); canaryd adopts it once ' +
    'its rollout is complete'
  );
}

/**
 * The pause of an adoption in flight. Seen: the adoption is complete and the resting phase takes
 * over (undefined). Not seen, same template: pause again. Not seen, another template: the user's
 * rollout, left to Kubernetes; the unfinished adoption is forgotten and starts over.
 */
export function continueAdoption(
  state: ReleaseState,
  context: Context,
): { next: ReleaseState; actions: Action[] } | undefined {
  const deployment = context.observed.deployment!;
  const stable = state.stable!;
  if (deployment.paused) {
    adopted(state, context);
    return undefined;
  }
  if (deployment.templateHash === stable.templateHash) {
    return { next: state, actions: adoptionActions(state, context) };
  }
  event(
    context,
    'Normal',
    'AdoptionRestarted',
    `the template changed (${deployment.changeCause || deployment.templateHash}) before the Deployment was paused: ` +
      'Kubernetes rolls it out, and canaryd adopts the new revision once that rollout is complete',
  );
  const unfinished = state.history.at(-1);
  if (unfinished?.outcome === 'adopted' && unfinished.revision === stable.revision) {
    state.history = state.history.slice(0, -1);
    state.nextRevision = stable.revision;
  }
  state.stable = undefined;
  state.adopting = undefined;
  return adopt(state, context);
}

/**
 * Paused by canaryd's adoption (its mark says which template), the adoption never recorded (canaryd
 * stopped between the pause and the status write), and the template changed since: nobody rolled
 * that template, so it is not the stable revision. The Deployment goes back to the user, unpaused,
 * Kubernetes rolls it, and the adoption starts over once that rollout is complete.
 */
function handBackForItsRollout(state: ReleaseState, context: Context): { next: ReleaseState; actions: Action[] } {
  const deployment = context.observed.deployment!;
  // A release of a policy of this name, deleted without its finalizer and created again, whose
  // marks carry no uid (made by a canaryd before 2026-12-05; with a uid the Deployment is
  // markedByEarlierPolicy and waits for the orphan sweep instead), left its canary and its route
  // (a pinned Service, a weighted HTTPRoute): removed first, one pass after the other, as an
  // adoption would. The roll below replaces the pods a pinned Service selects, so it must not
  // start while the pin is there.
  const leftovers = routeLeftoversRemoval(context);
  if (leftovers.length > 0) {
    setPhase(state, 'idle', 'removing the canary and route an earlier release left before handing the Deployment back');
    return { next: state, actions: leftovers };
  }
  event(
    context,
    'Normal',
    'AdoptionRestarted',
    `the template changed (${deployment.changeCause || deployment.templateHash}) after canaryd paused the Deployment ` +
      `to adopt ${deployment.adoptedTemplate} and before the adoption was recorded: canaryd unpauses it, Kubernetes ` +
      'rolls it out, and canaryd adopts the new revision once that rollout is complete',
  );
  setPhase(state, 'idle', "waiting for the Deployment's own rollout to complete before adopting it");
  return { next: state, actions: [{ type: 'releaseDeployment' }] };
}

/**
 * An adoption whose only action is its pause: the pause is written before the decision is
 * persisted (it carries the record, see the top of this file), and the decision is made again on
 * the paused Deployment the pause answered with, so the adoption is persisted once, complete.
 */
export function pausesBeforeRecording(next: ReleaseState, actions: readonly Action[]): boolean {
  const effects = actions.filter((a) => a.type !== 'recordEvent' && a.type !== 'ackOperation');
  return next.adopting === true && effects.length === 1 && effects[0]?.type === 'adoptDeployment';
}

function adopted(state: ReleaseState, context: Context): void {
  const stable = state.stable!;
  state.adopting = undefined;
  event(context, 'Normal', 'Adopted', `revision ${stable.revision} (${stable.templateHash}) adopted as stable`);
  setPhase(state, 'idle', `stable at revision ${stable.revision}`);
}

function adoptionActions(state: ReleaseState, context: Context): Action[] {
  const adopt: Action = { type: 'adoptDeployment', templateHash: state.stable!.templateHash };
  return [...weightZero(context), adopt, ...canaryObjectsRemoval(context.observed)];
}

/** What a release left on the route, removed: weight 0 first (invariant 1), then the canary, then the route. */
const routeLeftoversRemoval = (context: Context): Action[] => [
  ...weightZero(context),
  ...canaryObjectsRemoval(context.observed),
];

const weightZero = (context: Context): Action[] =>
  context.observed.route.weight > 0 ? [{ type: 'setWeight', weight: 0 }] : [];
