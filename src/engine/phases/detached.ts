// The policy was deleted, or the Deployment is gone: hand everything back. Level-triggered: the
// same actions come back until the cluster shows them done; an empty action list means the
// controller may drop its finalizer.

import type { Action } from '../actions.ts';
import { type Context, event } from '../context.ts';
import { canaryObjectsRemoval } from '../drain.ts';
import { finishRelease, setPhase } from '../transitions.ts';
import type { ReleaseState } from '../types.ts';

const HANDING_BACK = 'policy deleted: handing the Deployment back';

/**
 * Policy deleted: weight 0, the stable template back (unless the release was already being
 * promoted: that roll is let finish), canary objects removed, the Deployment unpaused. A policy
 * that never adopted the Deployment leaves alone what it did not do: a pause someone else made,
 * and what an earlier policy of its name left (the orphan sweep hands that back).
 */
export function policyDeleted(state: ReleaseState, context: Context): { next: ReleaseState; actions: Action[] } {
  const { deployment, route } = context.observed;
  const current = state.current;
  if (state.stable === undefined && deployment?.markedByEarlierPolicy) return deletedBeforeAdoption(state);
  const promoting =
    state.phase === 'promoting' && current !== undefined && deployment?.templateHash === current.templateHash;
  const actions: Action[] = [];
  if (route.weight > 0) actions.push({ type: 'setWeight', weight: 0 });
  if (deployment !== undefined && state.stable !== undefined && !promoting) {
    if (deployment.templateHash !== state.stable.templateHash) {
      actions.push({
        type: 'restoreStableTemplate',
        templateHash: state.stable.templateHash,
        template: state.stable.template,
      });
    }
  }
  actions.push(...canaryObjectsRemoval(context.observed));
  // Paused without canaryd's mark: by an older canaryd's adoption (a stable revision is recorded),
  // else by someone else, and theirs to resume.
  if (deployment?.marked || (deployment?.paused && state.stable !== undefined)) {
    actions.push({ type: 'releaseDeployment' });
  }
  if (actions.length > 0) {
    state.reason = HANDING_BACK;
    return { next: state, actions };
  }
  if (current !== undefined) {
    const reason = promoting
      ? 'policy deleted during promotion: the Deployment finishes rolling to this revision'
      : 'policy deleted: the Deployment is back at its stable revision';
    finishRelease(state, context, 'cancelled', reason, 'idle');
  }
  // Never adopted and nothing handed back in an earlier pass (the pause of an adoption not yet
  // recorded is): nothing to report as released.
  if (state.stable === undefined && state.reason !== HANDING_BACK) return deletedBeforeAdoption(state);
  if (state.reason !== 'policy deleted: Deployment released') {
    event(context, 'Normal', 'Released', 'policy deleted: the Deployment is unpaused and canary objects are removed');
  }
  setPhase(state, 'idle', 'policy deleted: Deployment released');
  return { next: state, actions: [] };
}

/** Deleted before it adopted the Deployment: it took nothing, so nothing is reported handed back. */
function deletedBeforeAdoption(state: ReleaseState): { next: ReleaseState; actions: Action[] } {
  setPhase(state, 'idle', 'policy deleted before it adopted the Deployment: nothing to hand back');
  return { next: state, actions: [] };
}

/** The Deployment is gone: remove the canary objects and forget the stable revision (re-adopt if it returns). */
export function deploymentMissing(state: ReleaseState, context: Context): { next: ReleaseState; actions: Action[] } {
  const { route } = context.observed;
  const actions: Action[] = [];
  if (route.weight > 0) actions.push({ type: 'setWeight', weight: 0 });
  actions.push(...canaryObjectsRemoval(context.observed));
  if (state.current !== undefined) finishRelease(state, context, 'cancelled', 'the Deployment was deleted', 'idle');
  if (state.stable !== undefined) {
    event(
      context,
      'Warning',
      'DeploymentMissing',
      'the managed Deployment does not exist; it is adopted again if it returns',
    );
    state.stable = undefined;
  }
  state.adopting = undefined;
  setPhase(state, 'idle', 'the managed Deployment does not exist');
  return { next: state, actions };
}
