// Step-transition latency from a scale run: a step's due time (status.nextStepAt while the
// release is at the previous step) to the status that enters the next step, to the status that
// starts it (its stepStartedAt set), and to canaryd's 'weight set' log line for its weight.

import type { PolicyStatus } from './app.ts';
import type { LogLine } from './canaryd.ts';

export interface Seen {
  seenAt: number;
  status: PolicyStatus;
}

export interface StepLatencies {
  /** due → canaryd's 'weight set' line for the step's weight. */
  toWeight: number[];
  /** due → the first status at the next step (entered: the canary is made ready for it). */
  toEntered: number[];
  /** due → the first status where the next step has started (stepStartedAt set). */
  toStarted: number[];
}

export function stepLatencies(
  lines: LogLine[],
  statuses: ReadonlyMap<string, Seen[]>,
  weights: readonly number[],
): StepLatencies {
  const out: StepLatencies = { toWeight: [], toEntered: [], toStarted: [] };
  for (const line of lines) {
    if (line.msg !== 'weight set') continue;
    const k = weights.indexOf(Number(line.weight));
    if (k < 1) continue;
    const t = Date.parse(line.time);
    const history = statuses.get(String(line.policy)) ?? [];
    const atPrevious = history.filter(
      (s) => s.seenAt <= t && s.status.release?.current?.stepIndex === k - 1 && s.status.nextStepAt,
    );
    const dueIso = atPrevious.at(-1)?.status.nextStepAt;
    if (!dueIso) continue;
    const due = Date.parse(dueIso);
    out.toWeight.push(t - due);
    const atStep = history.filter((s) => s.status.release?.current?.stepIndex === k && s.seenAt >= due);
    const entered = atStep[0];
    if (entered) out.toEntered.push(entered.seenAt - due);
    const started = atStep.find((s) => s.status.release?.current?.stepStartedAt !== undefined);
    if (started) out.toStarted.push(started.seenAt - due);
  }
  return out;
}

/** The status writes of a few policies as the watch saw them, to read a step's timeline by hand. */
export function statusSamples(keys: string[], statuses: ReadonlyMap<string, Seen[]>, since: number) {
  return keys.map((policy) => ({
    policy,
    statuses: (statuses.get(policy) ?? [])
      .filter((s) => s.seenAt >= since)
      .map(({ seenAt, status }) => ({
        seenAt: new Date(seenAt).toISOString(),
        phase: status.phase,
        weight: status.weight,
        message: status.message,
        nextStepAt: status.nextStepAt,
        stepIndex: status.release?.current?.stepIndex,
        stepEnteredAt: status.release?.current?.stepEnteredAt,
        stepStartedAt: status.release?.current?.stepStartedAt,
      })),
  }));
}
