// Outside hands on the stable (managed) Deployment while a release runs: what counts as drift,
// what canaryd puts back, and what it only reports. Pure; the phases call it. The rules
// (docs/operations.md, "Plain kubectl during a release"):
// - Unpaused (`kubectl rollout resume`, or anyone removing spec.paused) while canaryd holds it
//   paused (waiting, progressing, paused): drift. Paused again at once, one DriftCorrected Event.
//   Pods of the new template the Deployment controller started meanwhile stay until promotion
//   (which finishes that roll) or rollback (which converges it back); they count in the
//   measured share.
// - The template rewritten by `kubectl rollout` (restart; undo to a revision that is neither
//   stable nor this release) during a release: drift. A restart is not a new version; the
//   release's template is written back (paused again) and the Event names the field manager.
// - The template set back to the stable revision, by anyone (`kubectl rollout undo`, a Git
//   revert): the person asked to go back; the release is cancelled, weight 0 first (as before).
// - Any other new template (kubectl set image, Helm, GitOps): a newer version; it supersedes
//   the release (the product: every new template is released as a canary).
// - A scale (by hand, an HPA): the user's; kept, reported once, and the canary is resized to keep
//   the step's share. canaryd's own surge (replica-ratio) is not reported.
import { type Context, event } from './context.ts';
import type { FieldWriter } from './observed.ts';
import type { TemplateChange } from './transitions.ts';
import type { ReleaseState } from './types.ts';

/**
 * Field managers of `kubectl rollout` as the apiserver records them (checked on 1.36 with kubectl
 * 1.32): restart writes as `kubectl-rollout`; undo sends no field manager, so it is recorded under
 * the user agent's name, `kubectl` (every other kubectl command that writes a template names
 * itself: kubectl-set, kubectl-edit, kubectl-patch, kubectl-client-side-apply, …).
 */
export const ROLLOUT_MANAGERS: readonly string[] = ['kubectl-rollout', 'kubectl'];
/** canaryd's own field manager (kube/client.ts). */
export const OWN_FIELD_MANAGER = 'canaryd';

const STEER =
  'to steer a release use `kubectl canary promote --full`, `kubectl canary abort` or `kubectl canary pause`';

export function describeWriter(writer: FieldWriter | undefined): string {
  if (writer === undefined) return 'no field manager recorded';
  const via = writer.subresource ? ` via /${writer.subresource}` : '';
  return `field manager ${writer.manager} (${writer.operation}${via}${writer.time ? ` at ${writer.time}` : ''})`;
}

/**
 * The Deployment is not paused while canaryd holds it paused: true when it must be paused
 * again. The Event is recorded once per unpause (the state remembers it was seen).
 */
export function unpausedDrift(state: ReleaseState, context: Context): boolean {
  const current = state.current!;
  const deployment = context.observed.deployment!;
  if (deployment.paused) {
    current.stableUnpaused = undefined;
    return false;
  }
  // A release that begins in this very decision found the Deployment unpaused by canaryd itself
  // (superseding a promotion): paused again, but nobody else's doing to report.
  const begunNow = current.noticedAt === context.nowIso;
  if (current.stableUnpaused === undefined) {
    current.stableUnpaused = context.nowIso;
    if (!begunNow)
      event(
        context,
        'Warning',
        'DriftCorrected',
        `revision ${current.revision}: Deployment was unpaused during the release (spec.paused removed, as \`kubectl rollout resume\` does; ` +
          `Kubernetes keeps no field manager for a removed field); canaryd paused it again. ` +
          `Pods of the new template started meanwhile count in the measured share and stay until promotion or rollback; ${STEER}`,
      );
  }
  return true;
}

/** The template moved because `kubectl rollout` rewrote it (restart, undo to a non-stable revision). */
export function isRolloutTemplateDrift(change: TemplateChange, writer: FieldWriter | undefined): boolean {
  if (change !== 'newer' && change !== 'failed') return false;
  return writer !== undefined && ROLLOUT_MANAGERS.includes(writer.manager);
}

/** Records the Event for a template put back after `kubectl rollout` rewrote it. */
export function reportRolloutTemplate(state: ReleaseState, context: Context): void {
  const current = state.current!;
  const deployment = context.observed.deployment!;
  event(
    context,
    'Warning',
    'DriftCorrected',
    `revision ${current.revision}: Deployment pod template was changed to ${deployment.templateHash} by ${describeWriter(deployment.writers?.template)} ` +
      `during the release (\`kubectl rollout restart\` or \`undo\`); a restart is not a new version, so canaryd wrote the release's template ` +
      `${current.templateHash} back and keeps the Deployment paused; ${STEER}`,
  );
}

/**
 * The stable Deployment's size changed (a scale by hand, an autoscaler): kept, reported once. The
 * canary follows through the planned replicas of each step.
 */
export function noteStableScale(state: ReleaseState, context: Context): void {
  const current = state.current!;
  const deployment = context.observed.deployment!;
  const before = current.stableReplicas;
  current.stableReplicas = deployment.replicas;
  if (before === undefined || before === deployment.replicas) return;
  const writer = deployment.writers?.replicas;
  if (writer?.manager === OWN_FIELD_MANAGER) return; // canaryd's own surge or its return
  const wanted = context.observed.canaryReplicasPerStep?.[current.stepIndex];
  event(
    context,
    'Normal',
    'StableScaled',
    `revision ${current.revision}: Deployment scaled from ${before} to ${deployment.replicas} by ${describeWriter(writer)}; ` +
      `the size is kept (it is yours or your autoscaler's)` +
      (wanted === undefined ? '' : `; the canary is sized ${wanted} to keep the step's share`),
  );
}
