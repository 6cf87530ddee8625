// What semantic checks report: a field path, a message, an optional hint, and how bad it is.
import type { FieldPath } from './errors.ts';

export interface Finding {
  path: FieldPath;
  message: string;
  hint?: string;
  severity: 'error' | 'warning';
  /** Other fields the finding is judged from (a timeout against the steps), for the lenient pass. */
  related?: FieldPath[];
}

export type Report = (path: FieldPath, message: string, hint?: string, related?: FieldPath[]) => void;

export interface Reporter {
  error: Report;
  warning: Report;
}

/** A reporter that appends to `findings`. */
export function collectInto(findings: Finding[]): Reporter {
  const report =
    (severity: Finding['severity']): Report =>
    (path, message, hint, related) =>
      findings.push({
        path,
        message,
        severity,
        ...(hint === undefined ? {} : { hint }),
        ...(related === undefined ? {} : { related }),
      });
  return { error: report('error'), warning: report('warning') };
}
