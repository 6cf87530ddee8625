// The dashboard's charts: for each check, the PromQL canaryd last ran for the canary and the
// stable side (from the measurement log in the status, so the chart shows exactly what was
// judged), over the release's time span, with the thresholds to draw. chartPlan() is pure;
// seriesOf() runs the plan through a range-query port.
import { latestByCheck, type Measurement, type RangePoints, type Thresholds, thresholdsOf } from '../analysis/index.ts';
import type { ReleaseState } from '../engine/types.ts';
import type { CheckSpec } from '../policy/schema.ts';

/** At most this many points per line: a chart is a few hundred pixels wide. */
export const MAX_POINTS = 240;
export const MIN_STEP_SECONDS = 5;
/** Without a release to bound it, the charts show this much of the past. */
export const DEFAULT_SPAN_MS = 30 * 60_000;
/** A long release is shown from this long before `now`, so queries stay cheap. */
export const MAX_SPAN_MS = 6 * 3600_000;

export interface ChartCheckPlan {
  name: string;
  critical: boolean;
  thresholds: Thresholds;
  /** The canary and stable PromQL of the newest measurement; absent before the first. */
  query?: string;
  stableQuery?: string;
  lastVerdict?: Measurement['verdict'];
  lastReason?: string;
  lastAt?: string;
}

export interface ChartPlan {
  start: Date;
  end: Date;
  stepSeconds: number;
  checks: ChartCheckPlan[];
}

export interface ChartCheck extends ChartCheckPlan {
  canary: RangePoints;
  stable?: RangePoints;
  /** Why a line is missing (no measurement yet, a query failed). */
  error?: string;
}

export interface ReleaseCharts {
  start: string;
  end: string;
  stepSeconds: number;
  checks: ChartCheck[];
}

/** The time span: the running release, else the last one if it ended recently, else the last half hour. */
export function chartSpan(release: Pick<ReleaseState, 'current' | 'history'> | undefined, now: Date) {
  const nowMs = now.getTime();
  const current = release?.current;
  const last = release?.history.at(-1);
  let startMs = nowMs - DEFAULT_SPAN_MS;
  let endMs = nowMs;
  if (current !== undefined) {
    startMs = Date.parse(current.startedAt ?? current.noticedAt);
  } else if (last !== undefined && nowMs - Date.parse(last.endedAt) < DEFAULT_SPAN_MS) {
    startMs = Date.parse(last.startedAt);
  }
  // A little before the start, so the first step's rise is visible.
  startMs = Math.max(startMs - 60_000, nowMs - MAX_SPAN_MS);
  if (!Number.isFinite(startMs) || startMs >= endMs) startMs = nowMs - DEFAULT_SPAN_MS;
  endMs = Math.max(endMs, startMs + 1000);
  const stepSeconds = Math.max(MIN_STEP_SECONDS, Math.ceil((endMs - startMs) / 1000 / MAX_POINTS));
  return { start: new Date(startMs), end: new Date(endMs), stepSeconds };
}

export function chartPlan(
  checks: readonly CheckSpec[],
  measurements: readonly Measurement[],
  release: Pick<ReleaseState, 'current' | 'history'> | undefined,
  now: Date,
): ChartPlan {
  const latest = new Map(latestByCheck(measurements).map((m) => [m.check, m]));
  return {
    ...chartSpan(release, now),
    checks: checks.map((check) => {
      const measured = latest.get(check.name);
      return {
        name: check.name,
        critical: check.critical,
        thresholds: definedOnly(thresholdsOf(check)),
        ...(measured?.query ? { query: measured.query } : {}),
        ...(measured?.stableQuery ? { stableQuery: measured.stableQuery } : {}),
        ...(measured ? { lastVerdict: measured.verdict, lastReason: measured.reason, lastAt: measured.at } : {}),
      };
    }),
  };
}

export type RangeQuery = (
  promql: string,
  range: { start: Date; end: Date; stepSeconds: number },
) => Promise<RangePoints>;

/** Runs every query of the plan; a failed query is that line's error, never the whole answer's. */
export async function seriesOf(plan: ChartPlan, queryRange: RangeQuery | string): Promise<ReleaseCharts> {
  const range = { start: plan.start, end: plan.end, stepSeconds: plan.stepSeconds };
  const run = async (query: string): Promise<{ points: RangePoints } | { error: string }> => {
    if (typeof queryRange === 'string') return { error: queryRange };
    try {
      return { points: await queryRange(query, range) };
    } catch (error) {
      const code = (error as { code?: string }).code;
      return { error: `${code ? `${code}: ` : ''}${(error as Error).message}` };
    }
  };
  const checks = await Promise.all(
    plan.checks.map(async (check): Promise<ChartCheck> => {
      if (check.query === undefined) {
        return { ...check, canary: [], error: 'not measured yet: the first analysis round draws this chart' };
      }
      const [canary, stable] = await Promise.all([
        run(check.query),
        check.stableQuery === undefined ? undefined : run(check.stableQuery),
      ]);
      const errors = [canary, stable].flatMap((answer) => (answer && 'error' in answer ? [answer.error] : []));
      return {
        ...check,
        canary: 'points' in canary ? canary.points : [],
        ...(stable && 'points' in stable ? { stable: stable.points } : {}),
        ...(errors.length > 0 ? { error: errors.join('; ') } : {}),
      };
    }),
  );
  return { start: plan.start.toISOString(), end: plan.end.toISOString(), stepSeconds: plan.stepSeconds, checks };
}

function definedOnly(thresholds: Thresholds): Thresholds {
  return Object.fromEntries(Object.entries(thresholds).filter(([, v]) => v !== undefined)) as Thresholds;
}
