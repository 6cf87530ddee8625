// Pure: one check's lines as uPlot's aligned columns: time, canary, stable, and one column per
// threshold (a constant for min/max; stable-relative limits follow the stable line).
import type { ChartCheck } from './types.ts';

export interface ChartLine {
  label: string;
  kind: 'canary' | 'stable' | 'threshold';
}

export interface ChartColumns {
  lines: ChartLine[];
  /** [times, ...one array per line]. */
  data: Array<Array<number | null>>;
}

export function chartColumns(check: ChartCheck): ChartColumns {
  const canary = new Map(check.canary);
  const stable = new Map(check.stable ?? []);
  const times = [...new Set([...canary.keys(), ...stable.keys()])].sort((a, b) => a - b);
  const lines: ChartLine[] = [{ label: 'canary', kind: 'canary' }];
  const data: Array<Array<number | null>> = [times, times.map((t) => canary.get(t) ?? null)];
  if (check.stable !== undefined) {
    lines.push({ label: 'stable', kind: 'stable' });
    data.push(times.map((t) => stable.get(t) ?? null));
  }
  const t = check.thresholds;
  const constant = (label: string, value: number | undefined) => {
    if (value === undefined) return;
    lines.push({ label, kind: 'threshold' });
    data.push(times.map(() => value));
  };
  const relative = (label: string, limit: number | undefined, of: (s: number, limit: number) => number) => {
    if (limit === undefined || check.stable === undefined) return;
    lines.push({ label, kind: 'threshold' });
    data.push(
      times.map((time) => {
        const s = stable.get(time);
        return s === undefined || s === null ? null : of(s, limit);
      }),
    );
  };
  constant(`min ${t.min}`, t.min);
  constant(`max ${t.max}`, t.max);
  relative(`stable + ${t.maxAbove}`, t.maxAbove, (s, limit) => s + limit);
  relative(`stable - ${t.maxBelow}`, t.maxBelow, (s, limit) => s - limit);
  relative(`stable × ${t.maxRatio}`, t.maxRatio, (s, limit) => s * limit);
  return { lines, data };
}
