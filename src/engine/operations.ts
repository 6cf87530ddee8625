// Manual operations (`kubectl canary pause|resume|promote|abort|retry|undo`). Each is processed
// once (its id is persisted as lastOperationId before any of its effects are executed), acked
// every time it is still seen, and recorded with who and when in the release and in an event.
import { type Context, event } from './context.ts';
import { findRevision, lastRolledBack, operationLabel } from './history.ts';
import { resetHookPause } from './hooks.ts';
import { beginRelease, enterPromotion, pause, recordOperation, setPhase, startRollback } from './transitions.ts';
import type { HistoryEntry, ManualOperation, OperationRecord, ReleaseState } from './types.ts';

const MAX_RECENT_OPERATIONS = 10;
const IN_STEP = new Set(['progressing', 'paused']);
const RESTING = new Set(['idle', 'succeeded', 'failed']);

export function applyOperation(state: ReleaseState, context: Context): ReleaseState {
  const operation = context.observed.operation;
  if (operation === undefined) return state;
  if (operation.id === state.lastOperationId || state.recentOperationIds?.includes(operation.id)) {
    context.notes.push({ type: 'ackOperation', id: operation.id });
    return state;
  }
  state.lastOperationId = operation.id;
  state.recentOperationIds = [...(state.recentOperationIds ?? []), operation.id].slice(-MAX_RECENT_OPERATIONS);
  const phaseBefore = state.phase;
  const record: OperationRecord = {
    id: operation.id,
    op: operation.op,
    ...(operation.toRevision === undefined ? {} : { toRevision: operation.toRevision }),
    ...(operation.skipCanary === true ? { skipCanary: true } : {}),
    by: operation.by,
    at: operation.at,
    result: 'applied',
  };
  const refusal = perform(state, context, operation, record);
  if (refusal !== null) record.result = `refused: ${refusal}`;
  if (state.current !== undefined && !state.current.operations.some((item) => item.id === operation.id)) {
    recordOperation(state.current, { ...record });
  }
  // Also when no release runs (or the release ended in this very pass): a refusal racing with the
  // end of a release must reach the person who asked, not read as success.
  state.recentOperations = [...(state.recentOperations ?? []), record].slice(-MAX_RECENT_OPERATIONS);
  const what = `${operationLabel(operation)} by ${operation.by} at ${operation.at}`;
  if (refusal === null) {
    event(context, 'Normal', 'Operation', `${what}: applied (was ${phaseBefore})`);
  } else {
    event(context, 'Warning', 'OperationRefused', `${what}: refused: ${refusal}`);
  }
  context.notes.push({ type: 'ackOperation', id: operation.id });
  return state;
}

/** null when applied, else why not (for the person who asked). */
function perform(
  state: ReleaseState,
  context: Context,
  operation: ManualOperation,
  record: OperationRecord,
): string | null {
  const current = state.current;
  const phase = state.phase;
  switch (operation.op) {
    case 'pause':
      if (phase === 'paused') return 'the release is already paused';
      if (phase !== 'progressing') return `nothing to pause in phase ${phase}`;
      pause(state, context, 'manual', operation.by, `paused by ${operation.by}`);
      return null;
    case 'resume':
      if (phase !== 'paused' || current === undefined) return `nothing to resume in phase ${phase}`;
      if (current.stepStartedAt !== undefined) current.stepPauseLifted = current.stepIndex;
      if (current.pausedBy?.cause === 'hook') resetHookPause(current);
      current.pausedBy = undefined;
      setPhase(state, 'progressing', `resumed by ${operation.by}`);
      return null;
    case 'promote':
    case 'promoteFull': {
      if (current === undefined || !(IN_STEP.has(phase) || phase === 'waiting')) {
        return `nothing to promote in phase ${phase}`;
      }
      const full = operation.op === 'promoteFull';
      current.promote = { full, by: operation.by, at: operation.at };
      current.pausedBy = undefined;
      if (full) {
        enterPromotion(state, context, `promoted --full by ${operation.by}: analysis and remaining steps skipped`);
      } else if (phase === 'paused') {
        setPhase(state, 'progressing', `promote requested by ${operation.by}`);
      }
      return null;
    }
    case 'abort':
      if (phase === 'rollingBack') return 'the release is already rolling back';
      if (current === undefined || RESTING.has(phase)) return `no release in progress (phase ${phase})`;
      startRollback(state, context, `aborted by ${operation.by}`, 'rolledBack');
      return null;
    case 'approve':
      return approve(state, context, operation);
    case 'retry':
      return retry(state, context, operation, record);
    case 'undo':
      return undo(state, context, operation, record);
  }
}

function retry(
  state: ReleaseState,
  context: Context,
  operation: ManualOperation,
  record: OperationRecord,
): string | null {
  if (!RESTING.has(state.phase)) return `a release is in progress (phase ${state.phase}); abort it first`;
  const deployment = context.observed.deployment!;
  let target: { templateHash: string; changeCause: string; template?: HistoryEntry['template'] } | undefined =
    operation.toRevision === undefined ? lastRolledBack(state) : findRevision(state, operation.toRevision);
  if (
    target === undefined &&
    operation.toRevision === undefined &&
    state.failedRevisions.includes(deployment.templateHash)
  ) {
    target = { templateHash: deployment.templateHash, changeCause: deployment.changeCause };
  }
  if (target === undefined) return 'no failed revision to retry';
  if (!state.failedRevisions.includes(target.templateHash)) {
    return `revision ${operation.toRevision ?? ''} is not a failed revision; use undo --to-revision`.replace('  ', ' ');
  }
  state.failedRevisions = state.failedRevisions.filter((hash) => hash !== target.templateHash);
  if (state.stable !== undefined) record.fromRevision = state.stable.revision;
  if (deployment.templateHash === target.templateHash) {
    beginRelease(
      state,
      context,
      {
        templateHash: deployment.templateHash,
        changeCause: deployment.changeCause,
        template: deployment.template,
        origin: 'retry',
        operation: record,
      },
      true,
    );
    return null;
  }
  if (target.template === undefined) {
    return `its template is no longer kept; ${target.templateHash} was removed from the failed revisions, so setting that template again releases it`;
  }
  beginRelease(
    state,
    context,
    {
      templateHash: target.templateHash,
      changeCause: `retry: ${target.changeCause}`,
      template: target.template,
      origin: 'retry',
      pendingTemplate: { replacedHash: deployment.templateHash },
      operation: record,
    },
    true,
  );
  return null;
}

function undo(
  state: ReleaseState,
  context: Context,
  operation: ManualOperation,
  record: OperationRecord,
): string | null {
  if (!RESTING.has(state.phase)) return `a release is in progress (phase ${state.phase}); abort it first`;
  if (operation.toRevision === undefined) return 'undo needs --to-revision';
  const target = findRevision(state, operation.toRevision);
  if (target === undefined) return `revision ${operation.toRevision} is not in the history`;
  if (target.template === undefined) return `the template of revision ${operation.toRevision} is no longer kept`;
  const deployment = context.observed.deployment!;
  if (target.templateHash === state.stable?.templateHash) {
    return `revision ${operation.toRevision} is the stable revision already`;
  }
  state.failedRevisions = state.failedRevisions.filter((hash) => hash !== target.templateHash);
  // The change made, from the revision in service to the one asked for, with the flags given:
  // target.changeCause alone would read as if that old change had been made again.
  const from = state.stable?.revision;
  if (from !== undefined) record.fromRevision = from;
  const change = `${from === undefined ? '' : `revision ${from} → `}revision ${target.revision}`;
  const candidate = {
    templateHash: target.templateHash,
    changeCause: `${operationLabel(operation)}: ${change} (revision ${target.revision} was: ${target.changeCause || target.templateHash})`,
    template: target.template,
    origin: 'undo' as const,
    operation: record,
    skipCanary: operation.skipCanary === true,
  };
  const pending =
    deployment.templateHash === target.templateHash
      ? {}
      : { pendingTemplate: { replacedHash: deployment.templateHash } };
  beginRelease(state, context, { ...candidate, ...pending }, true);
  return null;
}

/** Opens the approval gate of the step that waits for it (spec.strategy.steps[].approval). */
function approve(state: ReleaseState, context: Context, operation: ManualOperation): string | null {
  const current = state.current;
  if (current === undefined || !IN_STEP.has(state.phase)) return `nothing waits for approval in phase ${state.phase}`;
  const step = current.stepIndex + 1;
  if (context.steps[current.stepIndex]?.approval !== true || current.stepStartedAt !== undefined) {
    return `step ${step} does not wait for approval now (a step waits for it before its weight is set)`;
  }
  const earlier = (current.approvals ?? []).find((entry) => entry.stepIndex === current.stepIndex);
  if (earlier !== undefined) return `step ${step} was approved already by ${earlier.by} at ${earlier.at}`;
  if (operation.verified !== true) {
    // Only a verified actor passed the API server's check of the approve right (deploy/operation-actor-policy.yaml).
    return `the approver ${operation.by} is not verified by Kubernetes (install deploy/operation-actor-policy.yaml), so the approve right was not checked`;
  }
  current.approvals = [
    ...(current.approvals ?? []),
    { stepIndex: current.stepIndex, by: operation.by, at: operation.at },
  ];
  event(context, 'Normal', 'Approved', `revision ${current.revision}: step ${step} approved by ${operation.by}`);
  return null;
}
