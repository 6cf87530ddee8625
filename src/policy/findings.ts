// What semantic checks report: a field path, a message, an optional hint, and how bad it is.
import type { FieldPath } from './errors.ts';

export interface Finding {
  path: FieldPath;
  message: string;
  hint?: string;
  severity: 'error' | 'warning';
}

export type Report = (path: FieldPath, message: string, hint?: string) => void;

export interface Reporter {
  error: Report;
  warning: Report;
}

/** A reporter that appends to `findings`. */
export function collectInto(findings: Finding[]): Reporter {
  const report =
    (severity: Finding['severity']): Report =>
    (path, message, hint) =>
      findings.push(hint === undefined ? { path, message, severity } : { path, message, hint, severity });
  return { error: report('error'), warning: report('warning') };
}
