// Pure: the step timeline of one release, planned (the policy's steps as `plan` computes them,
// served in spec.steps) against actual (status.release.current). No DOM, unit-tested.
import type { CurrentRelease, HistoryEntry, StepView } from './types.ts';

export type StepState = 'done' | 'current' | 'pending' | 'planned' | 'rolled-back' | 'promoted';

export interface TimelineRow extends StepView {
  index: number;
  state: StepState;
  /** When the current step's weight was set. */
  startedAt?: string;
}

// Phases (engine/types.ts Phase) and outcomes (Outcome) that mean the release went back.
const ROLLING_BACK = new Set(['rollingBack', 'failed', 'rolledBack']);

export function timeline(
  steps: readonly StepView[],
  releasePhase: string,
  current: CurrentRelease | undefined,
  last: HistoryEntry | undefined,
): TimelineRow[] {
  return steps.map((step, index) => {
    if (current === undefined) {
      // Between releases: the plan, marked by how the last release ended.
      const state: StepState =
        last?.outcome === 'succeeded' ? 'promoted' : last && ROLLING_BACK.has(last.outcome) ? 'rolled-back' : 'planned';
      return { ...step, index, state };
    }
    if (index < current.stepIndex) return { ...step, index, state: 'done' };
    if (index > current.stepIndex) return { ...step, index, state: 'pending' };
    const state: StepState = ROLLING_BACK.has(releasePhase) ? 'rolled-back' : 'current';
    return { ...step, index, state, ...(current.stepStartedAt ? { startedAt: current.stepStartedAt } : {}) };
  });
}

export interface ListFilter {
  text: string;
  phase: string;
}

/** Every word of `text` must appear in namespace/name, deployment, phase or message; `phase` "" is any. */
export function matches<
  T extends { namespace: string; name: string; deployment: string; phase: string; message: string },
>(item: T, filter: ListFilter): boolean {
  if (filter.phase !== '' && item.phase !== filter.phase) return false;
  const haystack = `${item.namespace}/${item.name} ${item.deployment} ${item.phase} ${item.message}`.toLowerCase();
  return filter.text
    .toLowerCase()
    .split(/\s+/)
    .filter((word) => word !== '')
    .every((word) => haystack.includes(word));
}
