// A schema error must not hide the semantic errors of the rest of the document: one run of
// `kubectl canary validate` reports every error of a file. The lenient pass removes what the
// schema refused (an unknown field; else the nearest enclosing field that has a default or is
// optional; a required name gets a placeholder), parses again, runs the semantic checks, and
// keeps only the findings that cannot depend on what was removed.
import type { z } from 'zod';
import type { FieldPath } from './errors.ts';
import type { Finding } from './findings.ts';
import { API_VERSION, type CanaryPolicy, canaryPolicy, KIND } from './schema.ts';
import { schemaAt } from './schema-json.ts';

interface Removed {
  path: FieldPath;
  /** An unknown field: removing it changes nothing else, so only findings at it are suspect. */
  exact: boolean;
}

/** Required fields with no default get a neutral stand-in so the rest can still be checked. */
const PLACEHOLDERS: ReadonlyArray<[string, unknown]> = [
  ['apiVersion', API_VERSION],
  ['kind', KIND],
  ['metadata', { name: 'invalid' }],
  ['metadata.name', 'invalid'],
  ['spec.target', { deployment: 'invalid', service: 'invalid' }],
  ['spec.target.deployment', 'invalid'],
  ['spec.target.service', 'invalid'],
];

const MAX_ROUNDS = 8;

/**
 * The semantic findings of a document the schema refused, computed on what remains once the
 * refused parts are removed; refused paths (found before zod, e.g. hex numbers) are removed too.
 */
export function lenientFindings(
  document: Record<string, unknown>,
  issues: readonly z.core.$ZodIssue[],
  refused: readonly FieldPath[],
  check: (policy: CanaryPolicy, raw: unknown) => Finding[],
): Finding[] {
  const working = structuredClone(document);
  const removed: Removed[] = [];
  for (const path of refused) {
    const at = repair(working, path);
    if (at === undefined) return [];
    removed.push(at);
  }
  let pending = issues;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    for (const issue of pending) {
      for (const at of repairIssue(working, issue)) {
        if (at === undefined) return [];
        removed.push(at);
      }
    }
    const parsed = canaryPolicy.safeParse(working);
    if (parsed.success) {
      return check(parsed.data, working).filter((finding) => !dependsOnRemoved(finding, removed));
    }
    pending = parsed.error.issues;
  }
  return [];
}

function issuePath(issue: z.core.$ZodIssue): FieldPath {
  return issue.path.filter((segment): segment is string | number => typeof segment !== 'symbol');
}

function repairIssue(document: Record<string, unknown>, issue: z.core.$ZodIssue): Array<Removed | undefined> {
  const path = issuePath(issue);
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => {
      deleteAt(document, [...path, key]);
      return { path: [...path, key], exact: true };
    });
  }
  return [repair(document, path)];
}

/** Removes the nearest field on the way to `path` that may be absent; undefined when none may. */
function repair(document: Record<string, unknown>, path: FieldPath): Removed | undefined {
  for (let length = path.length; length > 0; length--) {
    const prefix = path.slice(0, length);
    const key = prefix[length - 1];
    if (typeof key !== 'string') continue;
    const placeholder = PLACEHOLDERS.find(([at]) => at === prefix.join('.'));
    if (placeholder !== undefined) {
      setAt(document, prefix, structuredClone(placeholder[1]));
      // Names only: nothing else is judged by them.
      return { path: prefix, exact: true };
    }
    const parent = schemaAt(prefix.slice(0, -1));
    if (parent?.properties?.[key] !== undefined && !(parent.required ?? []).includes(key)) {
      deleteAt(document, prefix);
      return { path: prefix, exact: false };
    }
  }
  return undefined;
}

function startsWith(path: FieldPath, prefix: FieldPath): boolean {
  return prefix.length <= path.length && prefix.every((segment, index) => path[index] === segment);
}

/**
 * A finding is dropped when it is about a removed field or an object holding one, or when it is
 * judged from one (its `related` fields: a timeout against the steps, routing against the router).
 */
function dependsOnRemoved(finding: Finding, removed: readonly Removed[]): boolean {
  const paths = [finding.path, ...(finding.related ?? [])];
  return removed.some((at) =>
    paths.some((path) => startsWith(path, at.path) || (!at.exact && startsWith(at.path, path))),
  );
}

function deleteAt(document: Record<string, unknown>, path: FieldPath): void {
  const parent = containerAt(document, path.slice(0, -1));
  const key = path[path.length - 1];
  if (parent !== undefined && key !== undefined) delete parent[key];
}

function setAt(document: Record<string, unknown>, path: FieldPath, value: unknown): void {
  let node: Record<string | number, unknown> = document;
  for (const segment of path.slice(0, -1)) {
    const next = node[segment];
    if (typeof next !== 'object' || next === null) node[segment] = {};
    node = node[segment] as Record<string | number, unknown>;
  }
  const key = path[path.length - 1];
  if (key !== undefined) node[key] = value;
}

function containerAt(document: unknown, path: FieldPath): Record<string | number, unknown> | undefined {
  let node = document;
  for (const segment of path) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string | number, unknown>)[segment];
  }
  return typeof node === 'object' && node !== null ? (node as Record<string | number, unknown>) : undefined;
}
