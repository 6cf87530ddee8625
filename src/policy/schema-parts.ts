// Building blocks shared by the policy schema and its parts (*-schema.ts): kept apart so
// the parts can use them without importing schema.ts, which imports the parts.
import { z } from 'zod';

/** Go-style durations as SREs write them: "30s", "5m", "1h30m", "250ms". */
export const DURATION_PATTERN = /^(\d+(\.\d+)?(ms|s|m|h|d))+$/;
export const duration = z
  .string()
  .regex(DURATION_PATTERN, { message: 'expected a duration such as "30s", "5m" or "1h30m"' })
  .meta({ description: 'A duration: a sequence of numbers with units ms, s, m, h, d, e.g. "90s", "1h30m".' });

export const dnsName = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, {
    message: 'expected a Kubernetes object name (lowercase letters, digits, "-" and ".")',
  });

export const secretKeyRef = z.strictObject({
  name: dnsName,
  key: z.string().min(1).optional(),
});
