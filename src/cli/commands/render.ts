// What `kubectl canary list|status|history` print, from release views. Pure: the clock is a
// parameter, so every screen is testable.
import type { Measurement } from '../../analysis/index.ts';
import { operationLabel } from '../../engine/history.ts';
import type { HistoryEntryView, ReleaseView } from '../../server/views.ts';
import { renderHooks } from './render-hooks.ts';

/** kubectl-style ages: 45s, 3m20s, 2h5m, 3d4h. */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  const days = Math.floor(hours / 24);
  return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
}

export function formatWeight(weight: number): string {
  return `${Math.round(weight * 100) / 100}%`;
}

/** Columns padded to their widest cell, two spaces apart, like kubectl get. */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) {
    for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, cell.length);
  }
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .map((line) => `${line}\n`)
    .join('');
}

const age = (iso: string | undefined, now: Date): string => {
  if (iso === undefined) return '-';
  const at = Date.parse(iso);
  return Number.isNaN(at) ? '-' : formatDuration(now.getTime() - at);
};

export function renderList(views: ReleaseView[], now: Date, allNamespaces: boolean): string {
  if (views.length === 0) return '';
  const header = ['NAME', 'DEPLOYMENT', 'PHASE', 'STEP', 'WEIGHT', 'NEXT STEP', 'UPDATED'];
  const rows = views.map((view) => [
    view.name,
    view.spec?.deployment ?? '-',
    view.observed ? view.status.phase : '-',
    view.status.step || '-',
    view.status.step ? formatWeight(view.status.weight) : '-',
    untilNextStep(view, now) ?? '-',
    view.observed ? age(view.status.updatedAt, now) : '-',
  ]);
  return table(
    allNamespaces
      ? [['NAMESPACE', ...header], ...rows.map((row, i) => [views[i]!.namespace, ...row])]
      : [header, ...rows],
  );
}

/**
 * When the release may next leave its step (the hold's end or a window opening, never the next
 * analysis round): "in 4m10s", "due" (only analysis or a ready canary is left), or undefined.
 */
export function untilNextStep(view: ReleaseView, now: Date): string | undefined {
  if (!['progressing', 'waiting'].includes(view.status.phase)) return undefined;
  return untilInstant(view.status.nextStepAt, now);
}

function untilInstant(iso: string | undefined, now: Date): string | undefined {
  if (iso === undefined) return undefined;
  const ms = Date.parse(iso) - now.getTime();
  if (Number.isNaN(ms)) return undefined;
  return ms <= 0 ? 'due' : `in ${formatDuration(ms)}`;
}

function whenPaused(cause: string | undefined, view: ReleaseView): string {
  if (cause === 'analysis') return 'when analysis passes again, or a person resumes it';
  return `when a person resumes it (kubectl canary resume ${view.name} -n ${view.namespace})`;
}

/** The newest measurement of each check, in the order the checks first appear. */
export function latestPerCheck(measurements: Measurement[]): Measurement[] {
  const latest = new Map<string, Measurement>();
  for (const measurement of measurements) {
    const seen = latest.get(measurement.check);
    if (seen === undefined || measurement.at >= seen.at) latest.set(measurement.check, measurement);
  }
  return [...latest.values()];
}

const formatValue = (value: number | null | undefined): string => {
  if (value === null || value === undefined) return '-';
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(4)));
};

/** The measured share, and the step's intended weight when the two differ. */
function weightLine(status: ReleaseView['status']): string {
  const intended = status.intendedWeight;
  const differs = intended !== undefined && Math.abs(intended - status.weight) >= 0.01;
  return `${formatWeight(status.weight)} of traffic to the canary${differs ? ` (measured; the step intends ${formatWeight(intended)})` : ''}`;
}

export function renderStatus(view: ReleaseView, now: Date): string {
  const status = view.status;
  const current = status.release.current;
  const lines: string[] = [];
  const field = (label: string, value: string) => lines.push(`${`${label}:`.padEnd(15)}${value}`);
  field('Policy', `${view.namespace}/${view.name}`);
  field('Deployment', view.spec?.deployment ?? '(spec not valid)');
  if (!view.observed) {
    field('Phase', 'not seen by canaryd yet (is the controller running and watching this namespace?)');
    return `${lines.join('\n')}\n`;
  }
  field('Phase', status.phase + (status.message ? ` — ${status.message}` : ''));
  if (current !== undefined) {
    field('Revision', `${current.revision} (${current.changeCause || current.templateHash})`);
  }
  if (status.step) {
    const steps = view.spec?.steps ?? [];
    const weights = steps.map((step, i) => {
      const label = step.testersOnly ? 'testers' : formatWeight(step.weight);
      return i === (current?.stepIndex ?? -1) ? `[${label}]` : label;
    });
    field('Step', `${status.step}${weights.length > 0 ? `  ${weights.join(' → ')}` : ''}`);
    field('Weight', weightLine(status));
  } else if (current === undefined) {
    // Between releases the stable Deployment serves everything: say so rather than leave it out
    // (after a promotion the stable pods run the released template, but no canary carries any).
    field('Weight', `${formatWeight(status.weight)} of traffic to the canary (no release running)`);
  }
  if (status.router) field('Router', status.router + (status.routerReason ? ` (${status.routerReason})` : ''));
  const next = untilNextStep(view, now);
  if (next !== undefined) field('Next step', `${next} (${status.nextStepAt})`);
  else if (status.phase === 'paused') field('Next step', whenPaused(current?.pausedBy?.cause, view));
  const analysisDue = untilInstant(status.nextAnalysisAt, now);
  if (analysisDue !== undefined) field('Next analysis', `${analysisDue} (${status.nextAnalysisAt})`);
  if (current?.pausedBy) {
    field(
      'Paused',
      `${current.pausedBy.cause} by ${current.pausedBy.by} at ${current.pausedBy.at}: ${current.pausedBy.reason}`,
    );
  }
  const latest = latestPerCheck(status.analysis.measurements);
  if (latest.length > 0) {
    lines.push('Analysis:');
    const rows = [['  CHECK', 'VERDICT', 'CANARY', 'STABLE', 'SAMPLE', 'AGE', 'REASON']];
    for (const m of latest) {
      rows.push([
        `  ${m.check}${m.critical ? ' (critical)' : ''}`,
        m.verdict,
        formatValue(m.value),
        formatValue(m.stableValue),
        formatValue(m.sample),
        age(m.at, now),
        m.reason,
      ]);
    }
    lines.push(table(rows).trimEnd());
  }
  lines.push(...renderHooks(view, now));
  const notReady = status.conditions.filter((c) => c.status === 'False');
  for (const condition of notReady)
    field('Condition', `${condition.type}=False ${condition.reason}: ${condition.message}`);
  return `${lines.join('\n')}\n`;
}

export function renderHistory(view: ReleaseView): string {
  const history: HistoryEntryView[] = view.status.release.history;
  const current = view.status.release.current;
  const rows = [['REVISION', 'OUTCOME', 'STARTED', 'ENDED', 'CHANGE', 'REASON']];
  for (const entry of history) {
    rows.push([
      String(entry.revision),
      entry.outcome,
      entry.startedAt,
      entry.endedAt,
      entry.changeCause || entry.templateHash,
      entry.reason,
    ]);
  }
  if (current !== undefined) {
    rows.push([
      String(current.revision),
      `(${view.status.phase})`,
      current.startedAt ?? current.noticedAt,
      '-',
      current.changeCause || current.templateHash,
      current.reason,
    ]);
  }
  if (rows.length === 1) return `no releases recorded for ${view.namespace}/${view.name}\n`;
  const operations = [...history.flatMap((entry) => entry.operations), ...(current?.operations ?? [])];
  const operationLines =
    operations.length === 0
      ? ''
      : `\nOperations:\n${table([
          ['  AT', 'OP', 'BY', 'RESULT'],
          ...operations.map((op) => [`  ${op.at}`, operationLabel(op), op.by, op.result]),
        ])}`;
  return table(rows) + HISTORY_NOTE + operationLines;
}

/** The numbers above are canaryd's, not the Deployment's (docs/operations.md, "Revisions"). */
export const HISTORY_NOTE =
  "(REVISION is canaryd's release number, the one undo/retry --to-revision take; `kubectl rollout history` numbers the Deployment's ReplicaSets and differs)\n";
