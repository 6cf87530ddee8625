// The measurements kept in a release's state: the newest ones, bounded so the status object
// stays small (each measurement carries its queries, a few hundred bytes).
import type { Measurement } from './evaluate.ts';

export const DEFAULT_MEASUREMENT_LOG_SIZE = 30;

/** The log with `round` appended, keeping only the newest `limit` measurements. Does not mutate. */
export function appendMeasurements(
  log: readonly Measurement[],
  round: readonly Measurement[],
  limit: number = DEFAULT_MEASUREMENT_LOG_SIZE,
): Measurement[] {
  if (!Number.isInteger(limit) || limit < 0)
    throw new RangeError(`measurement log limit must be a whole number >= 0, got ${limit}`);
  const all = [...log, ...round.map(withoutTestState)];
  return limit === 0 ? [] : all.slice(-limit);
}

/** A sequential check's test state lives in the round counters; each logged measurement keeps its conclusion. */
function withoutTestState(measurement: Measurement): Measurement {
  if (measurement.sequential?.ratioTest === undefined) return measurement;
  const { ratioTest: _, ...sequential } = measurement.sequential;
  return { ...measurement, sequential };
}

/** The newest measurement of each check, the most recently measured last: what a status view shows. */
export function latestByCheck(log: readonly Measurement[]): Measurement[] {
  const latest = new Map<string, Measurement>();
  for (const measurement of log) {
    latest.delete(measurement.check);
    latest.set(measurement.check, measurement);
  }
  return [...latest.values()];
}
