// Policy errors in the shape compilers use: where (file:line:col or namespace/name), which field,
// what was expected and found, and what to do.

import { byCodeUnits } from '../order.ts';

export interface PolicyError {
  /** File path, or "namespace/name" of a CanaryPolicy object in the cluster. */
  source: string;
  /** 1-based; only when the source is a file. */
  line?: number;
  /** 1-based; only when the source is a file. */
  column?: number;
  /** Field path such as spec.strategy.steps[1].weight; empty for the document as a whole. */
  path: string;
  /** What was expected and what was found. */
  message: string;
  hint?: string;
}

export type Severity = 'error' | 'warning';

/** `file:line:col: spec.x.y: message (hint)`; warnings say so after the location. */
export function formatPolicyError(error: PolicyError, severity: Severity = 'error'): string {
  let location = error.source;
  if (error.line !== undefined) location += `:${error.line}`;
  if (error.line !== undefined && error.column !== undefined) location += `:${error.column}`;
  const parts = [location];
  if (severity === 'warning') parts.push('warning');
  if (error.path !== '') parts.push(error.path);
  parts.push(error.hint ? `${error.message} (${error.hint})` : error.message);
  return parts.join(': ');
}

/** Sorts errors the way a reader scans a file: by source, then line, then column. */
export function sortPolicyErrors(errors: readonly PolicyError[]): PolicyError[] {
  return [...errors].sort(
    (a, b) =>
      byCodeUnits(a.source, b.source) ||
      (a.line ?? 0) - (b.line ?? 0) ||
      (a.column ?? 0) - (b.column ?? 0) ||
      byCodeUnits(a.path, b.path),
  );
}

export type FieldPath = readonly (string | number)[];

/** ["spec", "strategy", "steps", 1, "weight"] -> "spec.strategy.steps[1].weight" */
export function formatFieldPath(path: FieldPath): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(segment)) text += text === '' ? segment : `.${segment}`;
    else text += `[${JSON.stringify(segment)}]`;
  }
  return text;
}
