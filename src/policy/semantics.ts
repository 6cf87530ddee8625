// Checks a type system cannot express: ordering, cross-field consistency, cron, time zones,
// PromQL templates. Runs on a policy zod has already accepted (defaults applied).
import { cronError } from '../schedule/cron.ts';
import { parseDuration } from '../schedule/duration.ts';
import { isKnownTimeZone } from '../schedule/zone.ts';
import { checkAnalysisChecks } from './check-semantics.ts';
import type { FieldPath } from './errors.ts';
import { collectInto, type Finding, type Report, type Reporter } from './findings.ts';
import { checkHooks } from './hook-semantics.ts';
import { checkIgnoredFields, checkTestersOnlyReach } from './ignored-fields.ts';
import { checkNotifications } from './notification-semantics.ts';
import { checkScheduleReach } from './schedule-reach.ts';
import type { CanaryPolicy, CanaryPolicySpec, ScheduleSpec } from './schema.ts';
import { closest } from './suggest.ts';
import { checkTiming } from './timing.ts';

export type { Finding } from './findings.ts';

/** The largest first step a canary may take without `allowLargeFirstStep`. */
export const MAX_DEFAULT_FIRST_STEP = 5;
/** ingress-nginx splits with canary-weight-total up to 10000: 0.01 % resolution. */
export const INGRESS_NGINX_RESOLUTION_DECIMALS = 2;
/** gateway-api weighs backendRefs with totals up to 100000: 0.001 % resolution. */
export const GATEWAY_API_RESOLUTION_DECIMALS = 3;

const ROUTER: FieldPath = ['spec', 'target', 'router'];

export function checkSemantics(policy: CanaryPolicy, raw: unknown, now: Date = new Date()): Finding[] {
  const findings: Finding[] = [];
  const reporter = collectInto(findings);
  const { spec } = policy;
  if (spec.strategy.type === 'canary') checkSteps(spec, reporter);
  checkRouterOptions(spec, reporter);
  checkIgnoredFields(spec, field(raw, 'spec'), reporter);
  checkTestersOnlyReach(spec, reporter);
  const scheduleErrors = findings.length;
  checkSchedule(spec.schedule, reporter.error);
  // Only a readable schedule can be searched for open time.
  if (findings.length === scheduleErrors) checkScheduleReach(spec.schedule, now, reporter);
  checkDuration(['spec', 'analysis', 'interval'], spec.analysis.interval, reporter.error, true);
  checkAnalysisChecks(spec.analysis.checks, reporter);
  checkTiming(policy, reporter);
  checkDrainDelay(spec, reporter.error);
  checkNotifications(spec, reporter);
  checkHooks(spec, reporter);
  return findings;
}

/** The canary is removed within the rollback deadline (timeouts.promotion), drain included. */
function checkDrainDelay(spec: CanaryPolicySpec, error: Report): void {
  const path = ['spec', 'traffic', 'drainDelay'];
  let drainMs: number;
  try {
    drainMs = parseDuration(spec.traffic.drainDelay);
  } catch (cause) {
    error(path, (cause as Error).message);
    return;
  }
  const deadlineMs = safeDuration(spec.timeouts.promotion);
  if (deadlineMs !== null && drainMs >= deadlineMs) {
    error(
      path,
      `expected a drain delay shorter than timeouts.promotion (${spec.timeouts.promotion}), found ${spec.traffic.drainDelay}`,
      'a rollback must remove the canary before its deadline: a few seconds are enough for a data plane to stop sending',
    );
  }
}

function checkSteps(spec: CanaryPolicySpec, reporter: Reporter): void {
  const steps = spec.strategy.steps;
  steps.forEach((step, index) => {
    const path = ['spec', 'strategy', 'steps', index, 'weight'];
    const previous = steps[index - 1];
    if (previous !== undefined && step.weight <= previous.weight) {
      reporter.error(
        path,
        `expected a weight above ${previous.weight} (the weight of steps[${index - 1}]), found ${step.weight}`,
        'step weights must strictly increase',
      );
    }
    if (index === 0 && step.weight > MAX_DEFAULT_FIRST_STEP && !spec.strategy.allowLargeFirstStep) {
      reporter.error(
        path,
        `the first step sends ${step.weight} % of traffic to the canary; a canary starts at ${MAX_DEFAULT_FIRST_STEP} % or less`,
        'start with 1 %, or set spec.strategy.allowLargeFirstStep: true',
        [['spec', 'strategy', 'allowLargeFirstStep']],
      );
    }
    if (!Number.isInteger(step.weight)) checkFractionalWeight(path, step.weight, spec.target.router, reporter);
    checkDuration(['spec', 'strategy', 'steps', index, 'hold'], step.hold, reporter.error);
  });
}

function checkFractionalWeight(path: FieldPath, weight: number, router: string, reporter: Reporter): void {
  if (router === 'ingress-nginx') {
    const decimals = weight.toString().split('.')[1]?.length ?? 0;
    if (decimals > INGRESS_NGINX_RESOLUTION_DECIMALS) {
      reporter.error(path, `ingress-nginx splits traffic in steps of 0.01 %, found ${weight}`, 'round the weight', [
        ROUTER,
      ]);
    }
    return;
  }
  if (router === 'gateway-api') {
    const decimals = weight.toString().split('.')[1]?.length ?? 0;
    if (decimals > GATEWAY_API_RESOLUTION_DECIMALS) {
      reporter.error(
        path,
        `gateway-api splits traffic in steps of 0.001 % (backendRef weights 1 : 99999), found ${weight}`,
        'round the weight',
      );
    }
    return;
  }
  // Whole replicas cannot make an exact fraction of a percent: the replica-ratio router reaches
  // the closest share it can and reports it. A warning, not an error, because the achievable
  // share depends on replica counts only known in the cluster.
  reporter.warning(
    path,
    `${router === 'auto' ? 'if auto picks replica-ratio, it' : 'replica-ratio'} cannot split exactly ${weight} %; it uses the closest share whole replicas allow`,
    'use ingress-nginx or gateway-api for sub-percent weights; `kubectl canary plan` shows the steps',
    [ROUTER],
  );
}

function checkRouterOptions(spec: CanaryPolicySpec, reporter: Reporter): void {
  const router = spec.target.router;
  if (spec.routing !== undefined) {
    if (router === 'replica-ratio') {
      reporter.error(
        ['spec', 'routing'],
        'header and cookie routing needs router ingress-nginx, gateway-api (or auto), found replica-ratio',
        'remove spec.routing or set spec.target.router: ingress-nginx or gateway-api',
        [ROUTER],
      );
    }
    checkRouting(spec.routing, reporter.error);
  }
  if (spec.target.ingresses !== undefined && spec.target.httpRoutes !== undefined && router === 'auto') {
    reporter.error(
      ['spec', 'target', 'httpRoutes'],
      'both ingresses and httpRoutes are named: canaryd splits traffic through one of them',
      'keep the one your traffic goes through, or set spec.target.router',
    );
  }
}

function checkRouting(routing: NonNullable<CanaryPolicySpec['routing']>, error: Report): void {
  const { header, cookie, testersFirst } = routing;
  if (testersFirst !== undefined && header === undefined && cookie === undefined) {
    error(
      ['spec', 'routing', 'testersFirst'],
      'testersFirst needs a header or a cookie that marks testers',
      undefined,
      [
        ['spec', 'routing', 'header'],
        ['spec', 'routing', 'cookie'],
      ],
    );
  }
  if (header?.pattern !== undefined) {
    try {
      new RegExp(header.pattern);
    } catch (cause) {
      error(['spec', 'routing', 'header', 'pattern'], `invalid regular expression: ${(cause as Error).message}`);
    }
  }
  if (header?.value !== undefined && header.pattern !== undefined) {
    error(['spec', 'routing', 'header'], 'set either `value` or `pattern`, not both');
  }
}

function checkSchedule(schedule: ScheduleSpec, error: Report): void {
  if (!isKnownTimeZone(schedule.timeZone)) {
    const suggestion = closest(schedule.timeZone, Intl.supportedValuesOf('timeZone'));
    error(
      ['spec', 'schedule', 'timeZone'],
      `unknown time zone ${JSON.stringify(schedule.timeZone)}`,
      suggestion ? `did you mean ${JSON.stringify(suggestion)}?` : 'use an IANA name such as "Europe/Berlin"',
    );
  }
  for (const kind of ['startWindows', 'advanceWindows'] as const) {
    schedule[kind].forEach((window, index) => {
      checkCron(['spec', 'schedule', kind, index, 'cron'], window.cron, error);
      checkDuration(['spec', 'schedule', kind, index, 'duration'], window.duration, error, true);
    });
  }
  schedule.blackouts.forEach((blackout, index) => {
    checkBlackout(['spec', 'schedule', 'blackouts', index], blackout, error);
  });
}

function checkBlackout(path: FieldPath, blackout: ScheduleSpec['blackouts'][number], error: Report): void {
  const oneOff = blackout.start !== undefined || blackout.end !== undefined;
  const recurring = blackout.cron !== undefined || blackout.duration !== undefined;
  if (!oneOff && !recurring) error(path, 'a blackout needs `start` and `end`, or `cron` and `duration`');
  if (oneOff && blackout.start === undefined)
    error(path, 'missing `start`: a one-off blackout needs `start` and `end`');
  if (oneOff && blackout.end === undefined) error(path, 'missing `end`: a one-off blackout needs `start` and `end`');
  if (
    blackout.start !== undefined &&
    blackout.end !== undefined &&
    Date.parse(blackout.end) <= Date.parse(blackout.start)
  ) {
    error([...path, 'end'], `expected an end after start (${blackout.start}), found ${blackout.end}`);
  }
  if (recurring && blackout.cron === undefined)
    error(path, 'missing `cron`: a recurring blackout needs `cron` and `duration`');
  if (recurring && blackout.duration === undefined) {
    error(path, 'missing `duration`: a recurring blackout needs `cron` and `duration`');
  }
  if (blackout.cron !== undefined) checkCron([...path, 'cron'], blackout.cron, error);
  if (blackout.duration !== undefined) checkDuration([...path, 'duration'], blackout.duration, error, true);
}

function checkCron(path: FieldPath, expression: string, error: Report): void {
  const problem = cronError(expression);
  if (problem !== null) error(path, problem, 'five fields: minute hour day-of-month month day-of-week');
}

function checkDuration(path: FieldPath, text: string, error: Report, positive = false): void {
  try {
    if (positive && parseDuration(text) === 0)
      error(path, `expected a duration above zero, found ${JSON.stringify(text)}`);
  } catch (cause) {
    error(path, (cause as Error).message);
  }
}

function safeDuration(text: string): number | null {
  try {
    return parseDuration(text);
  } catch {
    return null; // matches the schema's pattern but is too large to compute: nothing to compare with
  }
}

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null && Object.hasOwn(value, key)
    ? (value as Record<string, unknown>)[key]
    : undefined;
}
