// Checks a type system cannot express: ordering, cross-field consistency, cron, time zones,
// PromQL template variables. Runs on a policy zod has already accepted (defaults applied).
import { cronError } from '../schedule/cron.ts';
import { parseDuration } from '../schedule/duration.ts';
import { isKnownTimeZone } from '../schedule/zone.ts';
import type { FieldPath } from './errors.ts';
import type { CanaryPolicy } from './schema.ts';
import { closest } from './suggest.ts';

export interface Finding {
  path: FieldPath;
  message: string;
  hint?: string;
  severity: 'error' | 'warning';
}

/** The largest first step a canary may take without `allowLargeFirstStep`. */
export const MAX_DEFAULT_FIRST_STEP = 5;
/** ingress-nginx splits with canary-weight-total up to 10000: 0.01 % resolution. */
export const INGRESS_NGINX_RESOLUTION_DECIMALS = 2;
export const TEMPLATE_VARIABLES = [
  'namespace',
  'deployment',
  'canary',
  'service',
  'ingress',
  'interval',
  'stableHash',
  'canaryHash',
] as const;

const TEMPLATE_REFERENCE = /\{\{\s*([^{}]*?)\s*\}\}/g;

export function checkSemantics(policy: CanaryPolicy, raw: unknown): Finding[] {
  const findings: Finding[] = [];
  const error = (path: FieldPath, message: string, hint?: string) =>
    findings.push(
      hint === undefined ? { path, message, severity: 'error' } : { path, message, hint, severity: 'error' },
    );
  const warning = (path: FieldPath, message: string, hint?: string) =>
    findings.push(
      hint === undefined ? { path, message, severity: 'warning' } : { path, message, hint, severity: 'warning' },
    );
  const { spec } = policy;
  const router = spec.target.router;

  // Steps
  const steps = spec.strategy.steps;
  if (spec.strategy.type === 'canary') {
    steps.forEach((step, index) => {
      const path = ['spec', 'strategy', 'steps', index, 'weight'];
      const previous = steps[index - 1];
      if (previous !== undefined && step.weight <= previous.weight) {
        error(
          path,
          `expected a weight above ${previous.weight} (the weight of steps[${index - 1}]), found ${step.weight}`,
          'step weights must strictly increase',
        );
      }
      if (index === 0 && step.weight > MAX_DEFAULT_FIRST_STEP && !spec.strategy.allowLargeFirstStep) {
        error(
          path,
          `the first step sends ${step.weight} % of traffic to the canary; a canary starts at ${MAX_DEFAULT_FIRST_STEP} % or less`,
          'start with 1 %, or set spec.strategy.allowLargeFirstStep: true',
        );
      }
      if (!Number.isInteger(step.weight)) {
        if (router === 'ingress-nginx') {
          const decimals = step.weight.toString().split('.')[1]?.length ?? 0;
          if (decimals > INGRESS_NGINX_RESOLUTION_DECIMALS) {
            error(path, `ingress-nginx splits traffic in steps of 0.01 %, found ${step.weight}`, 'round the weight');
          }
        } else {
          // Whole replicas cannot make an exact fraction of a percent: the replica-ratio router
          // reaches the closest share it can and reports it. A warning, not an error, because the
          // achievable share depends on replica counts only known in the cluster.
          warning(
            path,
            `${router === 'auto' ? 'if auto picks replica-ratio, it' : 'replica-ratio'} cannot split exactly ${step.weight} %; it uses the closest share whole replicas allow`,
            'use ingress-nginx for sub-percent weights; `kubectl canary plan` shows the steps',
          );
        }
      }
      checkDuration(['spec', 'strategy', 'steps', index, 'hold'], step.hold, error);
    });
  }

  // Router-specific options
  const rawSpec = field(raw, 'spec');
  if (spec.routing !== undefined) {
    if (router === 'replica-ratio') {
      error(
        ['spec', 'routing'],
        'header and cookie routing needs router ingress-nginx (or auto), found replica-ratio',
        'remove spec.routing or set spec.target.router: ingress-nginx',
      );
    }
    const { header, cookie, testersFirst } = spec.routing;
    if (testersFirst !== undefined && header === undefined && cookie === undefined) {
      error(['spec', 'routing', 'testersFirst'], 'testersFirst needs a header or a cookie that marks testers');
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
  if (router === 'ingress-nginx' && field(rawSpec, 'replicaRatio') !== undefined) {
    warning(['spec', 'replicaRatio'], 'replicaRatio options are ignored with router ingress-nginx');
  }

  // Schedule
  const schedule = spec.schedule;
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
    const path = ['spec', 'schedule', 'blackouts', index];
    const oneOff = blackout.start !== undefined || blackout.end !== undefined;
    const recurring = blackout.cron !== undefined || blackout.duration !== undefined;
    if (!oneOff && !recurring) {
      error(path, 'a blackout needs `start` and `end`, or `cron` and `duration`');
    }
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
  });

  // Analysis
  const analysis = spec.analysis;
  checkDuration(['spec', 'analysis', 'interval'], analysis.interval, error, true);
  const names = new Map<string, number>();
  analysis.checks.forEach((check, index) => {
    const path = ['spec', 'analysis', 'checks', index];
    const earlier = names.get(check.name);
    if (earlier !== undefined) {
      error([...path, 'name'], `duplicate check name ${JSON.stringify(check.name)} (also checks[${earlier}])`);
    } else {
      names.set(check.name, index);
    }
    if (check.type === 'custom' && check.query === undefined) {
      error([...path, 'query'], 'a custom check needs a `query` (PromQL for the canary value)');
    }
    if (check.type !== 'custom' && check.query !== undefined) {
      warning([...path, 'query'], `\`query\` is ignored by the built-in ${check.type} check`, 'use type: custom');
    }
    if (check.relative !== undefined) {
      if (check.type === 'custom' && check.stableQuery === undefined) {
        error(
          [...path, 'relative'],
          'a relative check compares with stable, but this custom check has no `stableQuery`',
          'add stableQuery, or use min/max',
        );
      }
      const { maxAbove, maxBelow, maxRatio } = check.relative;
      if (maxAbove === undefined && maxBelow === undefined && maxRatio === undefined) {
        error([...path, 'relative'], 'expected at least one of `maxAbove`, `maxBelow`, `maxRatio`, found none');
      }
    }
    if (check.min === undefined && check.max === undefined && check.relative === undefined) {
      error(path, 'a check needs a threshold: `min`, `max` or `relative`');
    }
    if (check.min !== undefined && check.max !== undefined && check.min > check.max) {
      error([...path, 'min'], `expected min <= max (${check.max}), found ${check.min}`);
    }
    for (const queryField of ['query', 'stableQuery', 'sampleQuery'] as const) {
      const query = check[queryField];
      if (query !== undefined) checkTemplate([...path, queryField], query, error);
    }
  });

  return findings;
}

type Report = (path: FieldPath, message: string, hint?: string) => void;

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

function checkTemplate(path: FieldPath, query: string, error: Report): void {
  for (const match of query.matchAll(TEMPLATE_REFERENCE)) {
    const name = match[1] ?? '';
    if (!(TEMPLATE_VARIABLES as readonly string[]).includes(name)) {
      const suggestion = closest(name, TEMPLATE_VARIABLES);
      error(
        path,
        `unknown template variable {{${name}}}`,
        suggestion
          ? `did you mean {{${suggestion}}}?`
          : `known: ${TEMPLATE_VARIABLES.map((v) => `{{${v}}}`).join(', ')}`,
      );
    }
  }
}

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null && Object.hasOwn(value, key)
    ? (value as Record<string, unknown>)[key]
    : undefined;
}
