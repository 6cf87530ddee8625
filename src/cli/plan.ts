// kubectl canary plan FILE [--from TIME] [--replicas N] — the timeline a release started at TIME
// would follow and, for replica-ratio, the share whole replicas can reach at each step.
import { parseArgs } from 'node:util';
import { formatPolicyError } from '../policy/errors.ts';
import { loadPolicyFiles } from '../policy/load.ts';
import type { CanaryPolicy } from '../policy/schema.ts';
import { type PlanOptions, planTimeline, type Timeline } from '../schedule/timeline.ts';
import { isoSeconds } from '../schedule/windows.ts';
import { routeWeights } from '../traffic/httproute-rewrite.ts';
import { formatShare, replicaRatioWarnings, solveReplicaSplit } from '../traffic/replica-solver.ts';
import type { CliIo, Command } from './io.ts';

/** Options other modules may provide (more per-step warnings); combined with the replica-ratio ones. */
export const planHooks: PlanOptions = {};

/**
 * plan reads nothing from a cluster, so the stable Deployment's replicas are a guess unless the
 * user gives them; the output says which.
 */
export const DEFAULT_PLAN_REPLICAS = 10;

/** How the replica-ratio router would split each step, for a given stable replica count. */
export interface ReplicaPlan {
  stableReplicas: number;
  /** True when stableReplicas is DEFAULT_PLAN_REPLICAS rather than --replicas. */
  assumed: boolean;
}

export const planCommand: Command = {
  summary: 'print the timeline a release would follow',
  usage: 'kubectl canary plan FILE [--from TIME] [--replicas N]',
  async run(args, io) {
    let parsed: ReturnType<typeof parsePlanArgs>;
    try {
      parsed = parsePlanArgs(args);
    } catch (error) {
      io.stderr(`${(error as Error).message}\nusage: ${this.usage}\n`);
      return 2;
    }
    const { file, from, replicas } = parsed;
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
    const replicaPlan: ReplicaPlan =
      replicas === undefined
        ? { stableReplicas: DEFAULT_PLAN_REPLICAS, assumed: true }
        : { stableReplicas: replicas, assumed: false };
    const options = planOptions(replicaPlan);
    let code = 0;
    for (const [index, loaded] of load.policies.entries()) {
      if (index > 0) io.stdout('\n');
      const timeline = planTimeline(loaded.policy, start, options);
      io.stdout(renderTimeline(loaded.policy, timeline, replicaPlan));
      const problem = timelineProblem(loaded.policy, timeline);
      if (problem !== undefined) {
        const { namespace, name } = loaded.policy.metadata;
        const where = `${loaded.source}${loaded.line === undefined ? '' : `:${loaded.line}`}`;
        io.stderr(`${where}: ${problem.path}: policy ${namespace}/${name}: ${problem.message}\n`);
        code = 1;
      }
    }
    return code;
  },
};

interface PlanArgs {
  file: string;
  from?: string;
  replicas?: number;
}

function parsePlanArgs(args: string[]): PlanArgs {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { from: { type: 'string' }, replicas: { type: 'string' } },
  });
  if (positionals.length !== 1) throw new Error('plan takes exactly one FILE');
  const parsed: PlanArgs = { file: positionals[0] as string };
  if (values.from !== undefined) parsed.from = values.from;
  if (values.replicas !== undefined) {
    const replicas = Number(values.replicas);
    if (!/^\d+$/.test(values.replicas) || !Number.isSafeInteger(replicas) || replicas < 1) {
      throw new Error(
        `--replicas: expected the stable Deployment's replicas, a whole number >= 1, found ${JSON.stringify(values.replicas)}`,
      );
    }
    parsed.replicas = replicas;
  }
  return parsed;
}

/** Why a release started at the timeline's start would never be promoted, and which field says so. */
export function timelineProblem(
  policy: CanaryPolicy,
  timeline: Timeline,
): { path: string; message: string } | undefined {
  if (timeline.blocked !== undefined) return { path: 'spec.schedule', message: timeline.blocked };
  const { promotion, releaseDeadline } = timeline;
  if (promotion !== null && releaseDeadline !== null && promotion.getTime() > releaseDeadline.getTime()) {
    return {
      path: 'spec.timeouts.release',
      message: `promotion could begin at ${isoSeconds(promotion.getTime())} at the earliest, after the release deadline ${isoSeconds(releaseDeadline.getTime())} (timeouts.release ${policy.spec.timeouts.release}): the release would roll back`,
    };
  }
  return undefined;
}

/** Does the replica-ratio router (possibly) split this policy's traffic by weighted steps? */
function usesReplicaRatio(policy: CanaryPolicy): boolean {
  const { router } = policy.spec.target;
  return policy.spec.strategy.type === 'canary' && router !== 'ingress-nginx' && router !== 'gateway-api';
}

/** planHooks' warnings plus, for replica-ratio, the traffic module's solver on each step. */
export function planOptions(replicaPlan: ReplicaPlan, hooks: PlanOptions = planHooks): PlanOptions {
  return {
    warnings: (policy, step) => {
      const warnings = hooks.warnings?.(policy, step) ?? [];
      if (!usesReplicaRatio(policy)) return warnings;
      const { surgeBudget, maxShareError } = policy.spec.replicaRatio;
      const solver = replicaRatioWarnings([step.weight], replicaPlan.stableReplicas, surgeBudget, maxShareError);
      // The solver names the weight ("step 5 %: …"); the plan names the step number instead.
      return [...warnings, ...solver.map((warning) => warning.replace(/^step [^:]*: /, ''))];
    },
  };
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
export function renderTimeline(policy: CanaryPolicy, timeline: Timeline, replicaPlan?: ReplicaPlan): string {
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
  // Header/cookie routing is on at every step, beside the weight (engine/plan.ts).
  const testers = testersLabel(policy);
  const rows = [['STEP', 'WEIGHT', 'HOLD', 'STARTS', 'EARLIEST ADVANCE', ...(testers ? ['TESTERS'] : [])]];
  for (const step of timeline.steps) {
    rows.push([
      `${step.number}${step.label === 'canary' ? '' : ` ${step.label}`}`,
      `${step.weight}%`,
      step.hold,
      when(step.earliestStart, zone),
      step.pause ? `${when(step.earliestAdvance, zone)} after resume` : when(step.earliestAdvance, zone),
      ...(testers ? [testers] : []),
    ]);
  }
  lines.push(...table(rows));
  if (replicaPlan !== undefined && usesReplicaRatio(policy))
    lines.push('', ...replicaShares(policy, timeline, replicaPlan));
  if (spec.strategy.type === 'canary' && spec.target.router === 'gateway-api')
    lines.push('', ...backendRefWeights(policy, timeline));
  for (const step of timeline.steps) {
    for (const warning of step.warnings) lines.push(`warning: step ${step.number}: ${warning}`);
  }
  const { timeouts } = spec;
  lines.push(
    '',
    `Promotion begins: ${when(timeline.promotion, zone)}`,
    `Release deadline: ${when(timeline.releaseDeadline, zone)} (timeouts.release ${timeouts.release} from the first step; past it the release rolls back)`,
    `Promotion must finish within timeouts.promotion ${timeouts.promotion}; canary pods must be ready within timeouts.canaryReady ${timeouts.canaryReady} of each step`,
    `Canary removed:   ${spec.traffic.drainDelay} after its weight is 0 (promotion, rollback, abort: spec.traffic.drainDelay)`,
    '',
  );
  return lines.join('\n');
}

/** Who reaches the canary besides the weighted share: "header X-Canary: yes, cookie canary", or undefined. */
export function testersLabel(policy: CanaryPolicy): string | undefined {
  const { header, cookie } = policy.spec.routing ?? {};
  const parts: string[] = [];
  if (header !== undefined) {
    const match =
      header.value !== undefined
        ? `: ${header.value}`
        : header.pattern !== undefined
          ? ` ~ /${header.pattern}/`
          : ': always';
    parts.push(`header ${header.name}${match}`);
  }
  if (cookie !== undefined) parts.push(`cookie ${cookie}: always`);
  return parts.length > 0 ? parts.join(', ') : undefined;
}

/** Columns padded to their widest cell, two spaces apart. */
function table(rows: readonly string[][]): string[] {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return rows.map((row) =>
    row
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd(),
  );
}

/** The backendRef weights the gateway-api router writes at each step (exact: no approximation). */
function backendRefWeights(policy: CanaryPolicy, timeline: Timeline): string[] {
  const rows = [['STEP', 'WEIGHT', 'CANARY', 'STABLE']];
  for (const step of timeline.steps) {
    const { canary, total } = routeWeights(step.weight);
    rows.push([String(step.number), `${step.weight}%`, String(canary), String(total - canary)]);
  }
  const routes = policy.spec.target.httpRoutes?.join(', ') ?? 'every HTTPRoute that sends to it';
  return [
    `Traffic by gateway-api: backendRef weights in each rule that sends to Service ${policy.spec.target.service} (${routes})`,
    ...table(rows),
  ];
}

/** The share the replica-ratio router reaches at each step, and with how many pods. */
function replicaShares(policy: CanaryPolicy, timeline: Timeline, replicaPlan: ReplicaPlan): string[] {
  const { surgeBudget, maxShareError } = policy.spec.replicaRatio;
  const { stableReplicas, assumed } = replicaPlan;
  const router =
    policy.spec.target.router === 'auto'
      ? 'replica-ratio (if auto picks it: no Ingress or HTTPRoute routes to the Service)'
      : 'replica-ratio';
  const replicas = assumed
    ? `${stableReplicas} stable replicas assumed (plan reads nothing from the cluster; pass --replicas N)`
    : `${stableReplicas} stable replicas`;
  const tolerance =
    maxShareError === undefined
      ? 'maxShareError not set (warns beyond a fifth of the weight)'
      : `maxShareError ${maxShareError}`;
  const rows = [['STEP', 'WEIGHT', 'ACHIEVABLE', 'CANARY', 'STABLE']];
  for (const step of timeline.steps.filter((planned) => !planned.testersOnly)) {
    const split = solveReplicaSplit(step.weight, stableReplicas, { surgeBudget });
    rows.push([
      String(step.number),
      `${step.weight}%`,
      formatShare(split.achievedShare).replace(' %', '%'),
      String(split.canaryReplicas),
      split.extra > 0 ? `${split.stableReplicas} (+${split.extra} surge)` : String(split.stableReplicas),
    ]);
  }
  return [`Traffic by ${router}: ${replicas}, surge budget ${surgeBudget}, ${tolerance}`, ...table(rows)];
}

export type { CliIo };
