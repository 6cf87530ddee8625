// The hooks and approvals part of `kubectl canary status`: each hook's latest answer (result,
// age, latency, attempts, message) and who approved which step. Pure.
import type { HookAnswer } from '../../engine/hook-calls.ts';
import type { ReleaseView } from '../../server/views.ts';
import { formatDuration, table } from './render.ts';

export function renderHooks(view: ReleaseView, now: Date): string[] {
  const lines: string[] = [];
  const answers = Object.entries(view.status.hooks ?? {}) as Array<[string, HookAnswer]>;
  if (answers.length > 0) {
    lines.push('Hooks:');
    const rows = [['  HOOK', 'RESULT', 'AGE', 'LATENCY', 'ATTEMPTS', 'MESSAGE']];
    for (const [hook, answer] of answers) {
      const at = Date.parse(answer.at);
      rows.push([
        `  ${hook}`,
        answer.result,
        Number.isNaN(at) ? '-' : formatDuration(now.getTime() - at),
        `${answer.latencyMs}ms`,
        String(answer.attempts),
        answer.message || '-',
      ]);
    }
    lines.push(table(rows).trimEnd());
  }
  const current = view.status.release.current;
  for (const approval of current?.approvals ?? []) {
    lines.push(`${'Approved:'.padEnd(15)}step ${approval.stepIndex + 1} by ${approval.by} at ${approval.at}`);
  }
  return lines;
}
