// The release history kept in the policy status. Bounded, because a status object has to stay
// small: at most MAX_HISTORY entries, and pod templates only on the newest few (enough for
// `kubectl canary undo --to-revision` to recent good revisions and for `retry`).
import type { CurrentRelease, HistoryEntry, OperationRecord, Outcome, ReleaseState } from './types.ts';

export const MAX_HISTORY = 20;
/** Successful (or adopted) entries that keep their template, newest first. */
export const MAX_GOOD_TEMPLATES = 5;
/** Rolled-back entries that keep their template, for retry. */
export const MAX_FAILED_TEMPLATES = 2;
export const MAX_FAILED_REVISIONS = 20;
export const MAX_OPERATIONS_PER_RELEASE = 20;

export function appendHistory(history: readonly HistoryEntry[], entry: HistoryEntry): HistoryEntry[] {
  const all = [...history, entry].slice(-MAX_HISTORY);
  let good = 0;
  let failed = 0;
  const kept: HistoryEntry[] = [];
  for (let index = all.length - 1; index >= 0; index--) {
    const item = all[index] as HistoryEntry;
    const isGood = item.outcome === 'succeeded' || item.outcome === 'adopted';
    const isFailed = item.outcome === 'rolledBack';
    let keep = false;
    if (isGood && good < MAX_GOOD_TEMPLATES) {
      good++;
      keep = true;
    } else if (isFailed && failed < MAX_FAILED_TEMPLATES) {
      failed++;
      keep = true;
    }
    if (keep || item.template === undefined) {
      kept.unshift(item);
    } else {
      const { template: _dropped, ...rest } = item;
      kept.unshift(rest);
    }
  }
  return kept;
}

export function historyEntryOf(
  current: CurrentRelease,
  endedAt: string,
  outcome: Outcome,
  reason: string,
): HistoryEntry {
  return {
    revision: current.revision,
    templateHash: current.templateHash,
    changeCause: current.changeCause,
    startedAt: current.startedAt ?? current.noticedAt,
    endedAt,
    outcome,
    reason,
    operations: current.operations,
    template: current.template,
  };
}

export function addFailedRevision(failed: readonly string[], templateHash: string): string[] {
  return [...failed.filter((hash) => hash !== templateHash), templateHash].slice(-MAX_FAILED_REVISIONS);
}

export function findRevision(state: ReleaseState, revision: number): HistoryEntry | undefined {
  for (let index = state.history.length - 1; index >= 0; index--) {
    const entry = state.history[index];
    if (entry?.revision === revision) return entry;
  }
  return undefined;
}

export function lastRolledBack(state: ReleaseState): HistoryEntry | undefined {
  for (let index = state.history.length - 1; index >= 0; index--) {
    const entry = state.history[index];
    if (entry?.outcome === 'rolledBack') return entry;
  }
  return undefined;
}

/** An operation as a person typed it, flags included: "undo --to-revision=2 --skip-canary". */
export function operationLabel(operation: Pick<OperationRecord, 'op' | 'toRevision' | 'skipCanary'>): string {
  const revision = operation.toRevision === undefined ? '' : ` --to-revision=${operation.toRevision}`;
  const skip = operation.skipCanary === true ? ' --skip-canary' : '';
  return `${operation.op}${revision}${skip}`;
}
