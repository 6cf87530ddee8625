// Percent weights ↔ the integer pair ingress-nginx reads. ingress-nginx sends a request to the
// canary when random(1..total) <= weight, so 0.1 % is exactly weight 1 of total 1000. Invalid
// annotation values are silently read as weight 0 / total 100 by ingress-nginx, so every pair is
// validated here before it is written, and read back strictly.
import { TrafficError } from './errors.ts';

export interface NginxWeight {
  /** canary-weight: integer 0..total. */
  weight: number;
  /** canary-weight-total: one of WEIGHT_TOTALS. */
  total: number;
}

/** The totals we write, smallest first; 100 keeps the common integer-percent case familiar. */
export const WEIGHT_TOTALS = [100, 1_000, 10_000, 100_000] as const;

/** The exact pair for a percent, using the smallest total that represents it without rounding. */
export const toNginxWeight = (percent: number): NginxWeight => {
  if (!Number.isFinite(percent) || percent < 0 || percent > 100) {
    throw new TrafficError('InvalidWeight', `weight ${percent} is not a percent between 0 and 100`);
  }
  for (const total of WEIGHT_TOTALS) {
    const scaled = (percent * total) / 100;
    const weight = Math.round(scaled);
    // Tolerance for binary fractions: 0.1 * 1000 / 100 is 1.0000000000000002.
    if (Math.abs(scaled - weight) < 1e-9) return { weight, total };
  }
  throw new TrafficError(
    'InvalidWeight',
    `weight ${percent} % needs more than 3 decimals; ingress-nginx can split traffic in steps of 0.001 % at best (canary-weight-total 100000)`,
  );
};

export const fromNginxWeight = ({ weight, total }: NginxWeight): number => (weight * 100) / total;

/** Why this pair would not be honoured as written, or undefined when it is valid. */
export const nginxWeightProblem = ({ weight, total }: NginxWeight): string | undefined => {
  if (!Number.isInteger(total) || total < 1) return `canary-weight-total ${total} is not a positive integer`;
  if (!Number.isInteger(weight) || weight < 0) return `canary-weight ${weight} is not a non-negative integer`;
  if (weight > total) return `canary-weight ${weight} is above canary-weight-total ${total}`;
  return undefined;
};

const INTEGER = /^(0|[1-9][0-9]*)$/;

/**
 * Reads the annotations as ingress-nginx would act on them. Returns the effective pair and, when
 * the values are not what a person meant (missing, malformed, weight above total), the reason.
 */
export const readNginxWeight = (
  annotations: Record<string, string | undefined>,
  weightKey: string,
  totalKey: string,
): NginxWeight & { problem?: string } => {
  const rawWeight = annotations[weightKey];
  const rawTotal = annotations[totalKey];
  let total = 100;
  const problems: string[] = [];
  if (rawTotal !== undefined) {
    if (INTEGER.test(rawTotal) && Number(rawTotal) > 0) total = Number(rawTotal);
    else problems.push(`canary-weight-total "${rawTotal}" is invalid and read as 100`);
  }
  let weight = 0;
  if (rawWeight === undefined) problems.push('canary-weight is missing and read as 0');
  else if (INTEGER.test(rawWeight)) weight = Number(rawWeight);
  else problems.push(`canary-weight "${rawWeight}" is invalid and read as 0`);
  if (weight > total) {
    problems.push(`canary-weight ${weight} is above canary-weight-total ${total}: every request goes to the canary`);
    weight = total;
  }
  return problems.length === 0 ? { weight, total } : { weight, total, problem: problems.join('; ') };
};

/** The annotation values to write for a percent, validated. */
export const nginxWeightAnnotations = (percent: number): { weight: string; total: string } => {
  const pair = toNginxWeight(percent);
  const problem = nginxWeightProblem(pair);
  if (problem !== undefined) throw new TrafficError('InvalidWeight', `weight ${percent} %: ${problem}`);
  return { weight: String(pair.weight), total: String(pair.total) };
};
