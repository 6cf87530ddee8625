// One policy document (from a file or the cluster) -> a CanaryPolicy or precise errors.
import type { z } from 'zod';
import { type FieldPath, formatFieldPath, type PolicyError } from './errors.ts';
import type { Finding } from './findings.ts';
import { lenientFindings } from './lenient.ts';
import type { Locate } from './positions.ts';
import { type CanaryPolicy, canaryPolicy } from './schema.ts';
import { allowedKeys, schemaAt } from './schema-json.ts';
import { checkSemantics } from './semantics.ts';
import { closest } from './suggest.ts';
import type { RefusedValue } from './yaml-checks.ts';

export interface PolicyValidation {
  policy?: CanaryPolicy;
  /** "namespace/name" when the document names itself, even if it is invalid. */
  key?: string;
  errors: PolicyError[];
  warnings: PolicyError[];
}

/** Limits that keep a hostile document from costing more than a real policy ever needs. */
export const MAX_DEPTH = 32;
export const MAX_NODES = 20_000;
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Validates a CanaryPolicy object from the cluster; errors name "namespace/name", no lines. */
export function validatePolicyObject(object: unknown, source: string): PolicyValidation {
  return validateDocument(object, source);
}

/**
 * `refused`: values the YAML layer already refused (a hex number): reported as given, not again
 * by the schema. Every error of the document is reported: when the schema refuses a part, the
 * semantic checks still run on the rest (lenient.ts).
 */
export function validateDocument(
  value: unknown,
  source: string,
  locate?: Locate,
  refused: readonly RefusedValue[] = [],
): PolicyValidation {
  const at = (path: FieldPath, target: 'value' | 'key' = 'value') => {
    const position = locate?.(path, target);
    return position === undefined ? {} : { line: position.line, column: position.column };
  };
  const make = (path: FieldPath, message: string, hint?: string, target: 'value' | 'key' = 'value'): PolicyError => ({
    source,
    ...at(path, target),
    path: formatFieldPath(path),
    message,
    ...(hint === undefined ? {} : { hint }),
  });
  const key = policyKey(value);
  const result = (errors: PolicyError[], warnings: PolicyError[] = [], policy?: CanaryPolicy): PolicyValidation => ({
    ...(policy === undefined ? {} : { policy }),
    ...(key === undefined ? {} : { key }),
    errors,
    warnings,
  });

  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return result([
      make(
        [],
        `expected a CanaryPolicy (a mapping with apiVersion, kind, metadata and spec), found ${describe(value)}`,
      ),
    ]);
  }
  const hostile = findHostileShape(value);
  if (hostile !== undefined) return result([make(hostile.path, hostile.message, hostile.hint, 'key')]);

  // `kubectl get -o yaml` output carries a status; it is the controller's, not the author's.
  const { status: _status, ...document } = value as Record<string, unknown>;
  const parsed = canaryPolicy.safeParse(document);
  const errors: PolicyError[] = refused.map((value) => make(value.path, value.message, value.hint));
  const warnings: PolicyError[] = [];
  const addFindings = (findings: readonly Finding[]) => {
    for (const finding of findings) {
      const list = finding.severity === 'error' ? errors : warnings;
      const described = make(finding.path, finding.message, finding.hint);
      const repeated = list.some((known) => known.path === described.path && known.message === described.message);
      if (!repeated) list.push(described);
    }
  };
  if (parsed.success && refused.length === 0) {
    addFindings(checkSemantics(parsed.data, document));
    return result(errors, warnings, errors.length === 0 ? parsed.data : undefined);
  }
  const issues = parsed.success ? [] : parsed.error.issues;
  const refusedPaths = refused.map((value) => value.path);
  for (const issue of issues) {
    const path = issue.path.filter((segment): segment is string | number => typeof segment !== 'symbol');
    if (refusedPaths.some((at) => formatFieldPath(at) === formatFieldPath(path))) continue;
    errors.push(...describeIssue(issue, document, make));
  }
  addFindings(lenientFindings(document, issues, refusedPaths, checkSemantics));
  return result(errors, warnings);
}

export function policyKey(value: unknown): string | undefined {
  const metadata = (value as { metadata?: { name?: unknown; namespace?: unknown } } | null)?.metadata;
  if (typeof metadata?.name !== 'string') return undefined;
  const namespace = typeof metadata.namespace === 'string' ? metadata.namespace : 'default';
  return `${namespace}/${metadata.name}`;
}

type Make = (path: FieldPath, message: string, hint?: string, target?: 'value' | 'key') => PolicyError;

function describeIssue(issue: z.core.$ZodIssue, document: unknown, make: Make): PolicyError[] {
  const path = issue.path.filter((segment): segment is string | number => typeof segment !== 'symbol');
  const found = valueAt(document, path);
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((unknownKey) => unknownField(path, unknownKey, make));
    case 'invalid_type':
      return [wrongType(path, issue.expected, found, make)];
    case 'invalid_value':
      return [notAllowed(path, issue.values, found.value, make)];
    case 'too_small':
    case 'too_big':
      return [outOfBounds(path, issue, found.value, make)];
    case 'invalid_format':
      return [badFormat(path, issue, found.value, make)];
    case 'invalid_union':
    case 'invalid_key':
    case 'invalid_element':
    case 'not_multiple_of':
    case 'custom':
      return [make(path, `${issue.message}, found ${describe(found.value)}`)];
  }
  return [make(path, (issue as { message: string }).message)];
}

function unknownField(path: FieldPath, unknownKey: string, make: Make): PolicyError {
  const allowed = allowedKeys(path);
  const suggestion = closest(unknownKey, allowed);
  return make(
    [...path, unknownKey],
    suggestion === undefined
      ? `unknown field \`${unknownKey}\``
      : `unknown field \`${unknownKey}\`, did you mean \`${suggestion}\`?`,
    allowed.length > 0 ? `allowed fields: ${allowed.join(', ')}` : undefined,
    'key',
  );
}

function wrongType(path: FieldPath, expected: string, found: Found, make: Make): PolicyError {
  if (found.present === false) {
    const name = path[path.length - 1];
    return make(path, `missing required field \`${String(name)}\``, describeField(path));
  }
  return make(path, `expected ${article(expected)}, found ${describe(found.value)}`, describeField(path));
}

function notAllowed(path: FieldPath, allowed: readonly unknown[], found: unknown, make: Make): PolicyError {
  const values = allowed.map((value) => JSON.stringify(value));
  const suggestion =
    typeof found === 'string'
      ? closest(
          found,
          allowed.filter((value): value is string => typeof value === 'string'),
        )
      : undefined;
  const expected = values.length === 1 ? values[0] : `one of ${values.join(', ')}`;
  return make(
    path,
    `expected ${expected}, found ${describe(found)}`,
    suggestion === undefined ? undefined : `did you mean ${JSON.stringify(suggestion)}?`,
  );
}

function outOfBounds(
  path: FieldPath,
  issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig,
  found: unknown,
  make: Make,
): PolicyError {
  const small = issue.code === 'too_small';
  const bound = small ? issue.minimum : issue.maximum;
  const comparison = small ? (issue.inclusive ? '>=' : '>') : issue.inclusive ? '<=' : '<';
  if (issue.origin === 'array')
    return make(path, `expected ${comparison} ${bound} items, found ${(found as unknown[]).length}`);
  if (issue.origin === 'string') {
    const length = String(found).length;
    if (small && length === 0) return make(path, 'expected a non-empty string, found ""');
    return make(path, `expected at most ${bound} characters, found ${length}`);
  }
  return make(path, `expected a number ${comparison} ${bound}, found ${describe(found)}`);
}

function badFormat(
  path: FieldPath,
  issue: z.core.$ZodIssueInvalidStringFormat,
  found: unknown,
  make: Make,
): PolicyError {
  const expected =
    issue.format === 'datetime'
      ? 'expected an RFC 3339 time such as "2026-12-24T00:00:00Z"'
      : issue.format === 'url'
        ? 'expected a URL such as "http://prometheus.monitoring:9090"'
        : issue.message;
  return make(path, `${expected}, found ${describe(found)}`);
}

function describeField(path: FieldPath): string | undefined {
  const description = schemaAt(path)?.description;
  return typeof description === 'string' ? description : undefined;
}

interface Found {
  present: boolean;
  value?: unknown;
}

function valueAt(document: unknown, path: FieldPath): Found {
  let value = document;
  for (const segment of path) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, segment)) return { present: false };
    value = (value as Record<string | number, unknown>)[segment];
  }
  return { present: true, value };
}

function article(type: string): string {
  if (type === 'object') return 'a mapping';
  if (type === 'array') return 'a list';
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

/** A short description of a value for "found …". */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${String(value)}`;
  return typeof value;
}

interface HostileShape {
  path: FieldPath;
  message: string;
  hint?: string;
}

/** Deep nesting, oversized documents and prototype-polluting keys, found iteratively. */
function findHostileShape(root: object): HostileShape | undefined {
  const stack: Array<{ value: unknown; path: (string | number)[] }> = [{ value: root, path: [] }];
  let nodes = 0;
  while (stack.length > 0) {
    const { value, path } = stack.pop() as { value: unknown; path: (string | number)[] };
    if (++nodes > MAX_NODES) {
      return { path: [], message: `document too large: more than ${MAX_NODES} values`, hint: 'a policy is small' };
    }
    if (typeof value !== 'object' || value === null) continue;
    if (path.length > MAX_DEPTH) {
      return { path, message: `nested more than ${MAX_DEPTH} levels deep`, hint: 'a policy is never this deep' };
    }
    for (const [childKey, child] of Object.entries(value)) {
      const childPath = [...path, Array.isArray(value) ? Number(childKey) : childKey];
      if (FORBIDDEN_KEYS.has(childKey)) return { path: childPath, message: `field \`${childKey}\` is not allowed` };
      stack.push({ value: child, path: childPath });
    }
    if (Object.hasOwn(value, '__proto__'))
      return { path: [...path, '__proto__'], message: 'field `__proto__` is not allowed' };
  }
  return undefined;
}
