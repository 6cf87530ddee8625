// kubectl canary plan FILE [--from TIME] — the timeline a release started at TIME would follow.
import { parseArgs } from 'node:util';
import { formatPolicyError } from '../policy/errors.ts';
import { loadPolicyFiles } from '../policy/load.ts';
import type { CanaryPolicy } from '../policy/schema.ts';
import { type PlanOptions, planTimeline, type Timeline } from '../schedule/timeline.ts';
import { isoSeconds } from '../schedule/windows.ts';
import type { CliIo, Command } from './io.ts';

/** Options other modules may provide later (e.g. the replica-ratio solver's warnings). */
export const planHooks: PlanOptions = {};

export const planCommand: Command = {
  summary: 'print the timeline a release would follow',
  usage: 'kubectl canary plan FILE [--from TIME]',
  async run(args, io) {
    let parsed: ReturnType<typeof parsePlanArgs>;
    try {
      parsed = parsePlanArgs(args);
    } catch (error) {
      io.stderr(`${(error as Error).message}\nusage: ${this.usage}\n`);
      return 2;
    }
    const { file, from } = parsed;
    const start = from === undefined ? io.now() : new Date(from);
    if (Number.isNaN(start.getTime())) {
      io.stderr(`--from: expected a time such as 2026-03-30T09:00:00+02:00, found ${JSON.stringify(from)}\n`);
      return 2;
    }
    const load = await loadPolicyFiles(file);
    for (const error of load.errors) io.stderr(`${formatPolicyError(error)}\n`);
    if (load.errors.length > 0 || load.policies.length === 0) {
      if (load.policies.length === 0 && load.errors.length === 0) io.stderr(`${file}: no policies found\n`);
      return 1;
    }
    for (const warning of load.warnings) io.stderr(`${formatPolicyError(warning, 'warning')}\n`);
    for (const [index, loaded] of load.policies.entries()) {
      if (index > 0) io.stdout('\n');
      io.stdout(renderTimeline(loaded.policy, planTimeline(loaded.policy, start, planHooks)));
    }
    return 0;
  },
};

function parsePlanArgs(args: string[]): { file: string; from?: string } {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { from: { type: 'string' } },
  });
  if (positionals.length !== 1) throw new Error('plan takes exactly one FILE');
  return values.from === undefined
    ? { file: positionals[0] as string }
    : { file: positionals[0] as string, from: values.from };
}

function when(date: Date | null, timeZone: string): string {
  if (date === null) return 'not within 35 days';
  if (timeZone === 'UTC') return isoSeconds(date.getTime());
  const parts: Record<string, string> = {};
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    weekday: 'short',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    timeZoneName: 'short',
  });
  for (const part of format.formatToParts(date)) parts[part.type] = part.value;
  const local = `${parts.weekday} ${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute} ${parts.timeZoneName}`;
  return `${isoSeconds(date.getTime())} (${local})`;
}

/** Plain text, one line per step, times in UTC with the policy's local time beside them. */
export function renderTimeline(policy: CanaryPolicy, timeline: Timeline): string {
  const { metadata, spec } = policy;
  const schedule = spec.schedule;
  const zone = schedule.timeZone;
  const windows = (list: typeof schedule.startWindows) =>
    list.length === 0 ? 'any time' : list.map((window) => `"${window.cron}" for ${window.duration}`).join(', ');
  const blackouts =
    schedule.blackouts.length === 0
      ? 'none'
      : schedule.blackouts
          .map((blackout) => {
            const period =
              blackout.start !== undefined
                ? `${blackout.start} – ${blackout.end}`
                : `"${blackout.cron}" for ${blackout.duration}`;
            return blackout.reason ? `${period} (${blackout.reason})` : period;
          })
          .join(', ');
  const lines = [
    `Policy ${metadata.namespace}/${metadata.name}: deployment ${spec.target.deployment}, router ${spec.target.router}, strategy ${spec.strategy.type}`,
    `Time zone ${zone}; start windows: ${windows(schedule.startWindows)}; advance windows: ${windows(schedule.advanceWindows)}; blackouts: ${blackouts}`,
    `Requested start: ${when(timeline.from, zone)}`,
    `Release starts:  ${when(timeline.start, zone)}`,
    '',
  ];
  const rows = [['STEP', 'WEIGHT', 'HOLD', 'STARTS', 'EARLIEST ADVANCE']];
  for (const step of timeline.steps) {
    rows.push([
      `${step.number}${step.label === 'canary' ? '' : ` ${step.label}`}`,
      `${step.weight}%`,
      step.hold,
      when(step.earliestStart, zone),
      step.pause ? `${when(step.earliestAdvance, zone)} after resume` : when(step.earliestAdvance, zone),
    ]);
  }
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  for (const row of rows)
    lines.push(
      row
        .map((cell, column) => cell.padEnd(widths[column] ?? 0))
        .join('  ')
        .trimEnd(),
    );
  for (const step of timeline.steps) {
    for (const warning of step.warnings) lines.push(`warning: step ${step.number}: ${warning}`);
  }
  lines.push('', `Promotion begins: ${when(timeline.promotion, zone)}`, '');
  return lines.join('\n');
}

export type { CliIo };
