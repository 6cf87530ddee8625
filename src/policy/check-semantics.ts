// Semantic checks of spec.analysis.checks. The analysis module owns what makes a check usable
// (checkProblems) and a PromQL template safe (checkTemplate); this file runs both so a policy
// the analysis could never judge is refused up front, with a field path and position. Where the
// policy has its own, more specific message for the same mistake, that one is kept and the
// analysis module's duplicate is dropped.
import { checkProblems, checkTemplate, TEMPLATE_VARIABLES, TemplateError } from '../analysis/index.ts';
import type { FieldPath } from './errors.ts';
import type { Report, Reporter } from './findings.ts';
import type { CheckSpec } from './schema.ts';
import { closest } from './suggest.ts';

const QUERY_FIELDS = ['query', 'stableQuery', 'sampleQuery'] as const;

/**
 * Which of the policy's own findings (by field of the check; '' is the check itself) already
 * cover a problem checkProblems reports on a field. Keyed by the problem's field.
 */
const COVERED_BY: Record<string, readonly string[]> = {
  '': ['relative'], // "needs thresholds" when `relative: {}` was already reported as empty
  query: ['query'],
  stableQuery: ['relative'],
  min: ['min'],
};

export function checkAnalysisChecks(checks: readonly CheckSpec[], reporter: Reporter): void {
  const names = new Map<string, number>();
  checks.forEach((check, index) => {
    const path: FieldPath = ['spec', 'analysis', 'checks', index];
    const reported = new Set<string>();
    const error = (field: string | undefined, message: string, hint?: string) => {
      reported.add(field ?? '');
      reporter.error(field === undefined ? path : [...path, field], message, hint);
    };
    const earlier = names.get(check.name);
    if (earlier === undefined) names.set(check.name, index);
    else error('name', `duplicate check name ${JSON.stringify(check.name)} (also checks[${earlier}])`);
    checkQueriesPresent(check, error);
    checkThresholds(check, error);
    checkThresholdUnits(check, error);
    for (const problem of checkProblems(check)) {
      const { field, reason } = parseProblem(problem, check);
      const covered = COVERED_BY[field ?? ''] ?? [];
      if (!covered.some((coveredField) => reported.has(coveredField))) error(field, reason);
    }
    for (const queryField of QUERY_FIELDS) {
      const query = check[queryField];
      if (query !== undefined) checkQueryTemplate([...path, queryField], query, reporter.error);
    }
    for (const [countField, query] of Object.entries(check.counts ?? {})) {
      checkQueryTemplate([...path, 'counts', countField], query, reporter.error);
    }
  });
}

type CheckError = (field: string | undefined, message: string, hint?: string) => void;

function checkQueriesPresent(check: CheckSpec, error: CheckError): void {
  if (check.type === 'custom' && check.query === undefined) {
    error('query', 'a custom check needs a `query` (PromQL for the canary value)');
  }
  if (check.relative !== undefined && check.type === 'custom' && check.stableQuery === undefined) {
    error(
      'relative',
      'a relative check compares with stable, but this custom check has no `stableQuery`',
      'add stableQuery, or use min/max',
    );
  }
}

function checkThresholds(check: CheckSpec, error: CheckError): void {
  if (check.relative !== undefined) {
    const { maxAbove, maxBelow, maxRatio } = check.relative;
    if (maxAbove === undefined && maxBelow === undefined && maxRatio === undefined) {
      error('relative', 'expected at least one of `maxAbove`, `maxBelow`, `maxRatio`, found none');
    }
  }
  if (check.min !== undefined && check.max !== undefined && check.min > check.max) {
    error('min', `expected min <= max (${check.max}), found ${check.min}`);
  }
}

/** Above this a latency threshold (seconds) is almost surely written in milliseconds. */
export const MAX_PLAUSIBLE_LATENCY_SECONDS = 60;

/**
 * Absolute thresholds in the unit the built-in check returns: successRate is percent (0-100),
 * latency is seconds. A successRate bound of 1 or less is a fraction (0.99 meant 99 %): as a
 * minimum it passes almost anything, as a maximum it fails almost everything.
 */
function checkThresholdUnits(check: CheckSpec, error: CheckError): void {
  for (const bound of ['min', 'max'] as const) {
    const value = check[bound];
    if (value === undefined) continue;
    if (check.type === 'successRate') {
      if (value >= 0 && value <= 1) {
        error(
          bound,
          `successRate is a percent (0-100), found ${value}, which reads as ${value} %`,
          `write ${formatPercent(value * 100)} for ${formatPercent(value * 100)} %`,
        );
      } else if (value < 0 || value > 100) {
        error(bound, `successRate is a percent (0-100), found ${value}`);
      }
    } else if (check.type === 'latency') {
      if (value < 0) error(bound, `latency is in seconds and never negative, found ${value}`);
      else if (value > MAX_PLAUSIBLE_LATENCY_SECONDS) {
        error(
          bound,
          `latency is in seconds, found ${value} (${formatPercent(value / 60)} minutes)`,
          `for ${value} ms write ${formatPercent(value / 1000)}`,
        );
      }
    }
  }
}

function formatPercent(value: number): string {
  return String(Number(value.toPrecision(6)));
}

/** "checks[web].query: reason" -> { field: 'query', reason }; the check itself has no field. */
function parseProblem(problem: string, check: CheckSpec): { field: string | undefined; reason: string } {
  const prefix = `checks[${check.name}]`;
  const match = problem.startsWith(prefix) ? /^(?:\.([A-Za-z]+))?: (.*)$/s.exec(problem.slice(prefix.length)) : null;
  if (match === null) return { field: undefined, reason: problem };
  let field = match[1];
  // A built-in check with only a stableQuery: point at the field that is actually there.
  if (field === 'query' && check.query === undefined && check.stableQuery !== undefined) field = 'stableQuery';
  return { field, reason: match[2] ?? problem };
}

const PLACEHOLDER_NAME = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

function checkQueryTemplate(path: FieldPath, query: string, error: Report): void {
  try {
    checkTemplate(query);
  } catch (cause) {
    if (!(cause instanceof TemplateError)) throw cause;
    if (cause.code !== 'unknown-variable') {
      error(path, cause.message);
      return;
    }
    // checkTemplate stops at the first unknown name; a person wants all of them at once.
    for (const name of unknownVariables(query)) {
      const suggestion = closest(name, TEMPLATE_VARIABLES);
      error(
        path,
        `unknown template variable {{${name}}}`,
        suggestion
          ? `did you mean {{${suggestion}}}?`
          : `known: ${TEMPLATE_VARIABLES.map((variable) => `{{${variable}}}`).join(', ')}`,
      );
    }
  }
}

function unknownVariables(query: string): string[] {
  const known = new Set<string>(TEMPLATE_VARIABLES);
  const names = [...query.matchAll(PLACEHOLDER_NAME)].map((match) => match[1] ?? '');
  return [...new Set(names.filter((name) => !known.has(name)))];
}
