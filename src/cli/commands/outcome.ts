// How a release stands for a script: the exit codes of `kubectl canary status [--watch]` and
// whether the release has ended. Pure: the view and the Deployment's template hash come in.
import type { ReleaseView } from '../../server/views.ts';

/** One table for `status` and `status --watch` (docs/operations.md). */
export const STATUS_EXIT = {
  /** Promoted, running, or nothing to release. */
  ok: 0,
  /** Rolled back, rolling back, cancelled, or a revision that failed before; also errors. */
  failed: 1,
  usage: 2,
  /** Paused until a person resumes, promotes or aborts it (kubectl canary pause, a step's pause gate). */
  pausedForPerson: 3,
  /** --watch --timeout elapsed before the release ended. */
  timeout: 4,
} as const;

export interface ReleaseOutcome {
  /** Nothing will change without a person or a new template: --watch stops here. */
  ended: boolean;
  code: number;
  /** In words, for the last line of --watch. */
  summary: string;
}

const RUNNING = new Set(['waiting', 'progressing', 'promoting', 'rollingBack']);

/**
 * `deploymentHash`: the Deployment's pod template hash as canaryd computes it, when known. A
 * resting policy whose Deployment holds a template canaryd has not picked up yet is about to start
 * a release (`kubectl set image` just ran): that is not the end. Without it, only the phase counts.
 */
export function releaseOutcome(view: ReleaseView, deploymentHash?: string): ReleaseOutcome {
  const { phase } = view.status;
  const release = view.status.release;
  const current = release.current;
  if (!view.observed) return { ended: false, code: STATUS_EXIT.ok, summary: 'not seen by canaryd yet' };
  if (phase === 'paused') {
    const cause = current?.pausedBy?.cause;
    if (cause === 'manual' || cause === 'step') {
      const who = cause === 'manual' ? `paused by ${current?.pausedBy?.by}` : `step ${view.status.step} waits`;
      return {
        ended: true,
        code: STATUS_EXIT.pausedForPerson,
        summary: `${who}: run kubectl canary resume|promote|abort ${view.name} -n ${view.namespace}`,
      };
    }
    // Paused by inconclusive analysis: it continues by itself when the evidence returns.
    return { ended: false, code: STATUS_EXIT.ok, summary: 'paused by analysis until the evidence returns' };
  }
  if (RUNNING.has(phase)) {
    const code = phase === 'rollingBack' ? STATUS_EXIT.failed : STATUS_EXIT.ok;
    return { ended: false, code, summary: `${phase}` };
  }
  // Resting (idle, succeeded, failed): which template does that verdict belong to?
  const last = release.history.at(-1);
  if (deploymentHash !== undefined && deploymentHash !== last?.templateHash) {
    if (release.failedRevisions.includes(deploymentHash)) {
      return {
        ended: true,
        code: STATUS_EXIT.failed,
        summary: `the Deployment's template ${deploymentHash} failed before; kubectl canary retry ${view.name} releases it again`,
      };
    }
    if (release.stable !== undefined && release.stable.templateHash !== deploymentHash) {
      return { ended: false, code: STATUS_EXIT.ok, summary: 'a new template waits for canaryd to start its release' };
    }
  }
  if (phase === 'failed' || (last !== undefined && ['rolledBack', 'cancelled'].includes(last.outcome))) {
    const why = last === undefined ? '' : `: revision ${last.revision} ${last.outcome}: ${last.reason}`;
    return { ended: true, code: STATUS_EXIT.failed, summary: `not promoted${why}` };
  }
  if (phase === 'succeeded') {
    return { ended: true, code: STATUS_EXIT.ok, summary: `promoted: revision ${release.stable?.revision ?? '?'}` };
  }
  return { ended: true, code: STATUS_EXIT.ok, summary: 'no release in progress' };
}
