// The dashboard's pure parts: the step timeline (planned against actual), the list filter and
// the chart columns with thresholds.
import { describe, expect, it } from 'vitest';
import { chartColumns } from '../../ui/src/chart-data.ts';
import { matches, timeline } from '../../ui/src/timeline.ts';
import type { CurrentRelease, HistoryEntry } from '../../ui/src/types.ts';

const steps = [5, 25, 50].map((weight) => ({ weight, holdSeconds: 30, pause: false, testersOnly: false }));
const current = { revision: 2, stepIndex: 1, stepStartedAt: '2026-03-01T10:00:00Z', weight: 25 } as CurrentRelease;
const ended = (outcome: string) => ({ outcome }) as HistoryEntry;

describe('timeline', () => {
  it('marks steps before the current one done and later ones pending', () => {
    expect(timeline(steps, 'progressing', current, undefined).map((row) => row.state)).toEqual([
      'done',
      'current',
      'pending',
    ]);
    expect(timeline(steps, 'progressing', current, undefined)[1]?.startedAt).toBe('2026-03-01T10:00:00Z');
  });
  it('shows the step a rollback left from', () => {
    expect(timeline(steps, 'rollingBack', current, undefined)[1]?.state).toBe('rolled-back');
  });
  it('between releases shows the plan, marked by how the last release ended', () => {
    expect(timeline(steps, 'succeeded', undefined, ended('succeeded'))[0]?.state).toBe('promoted');
    expect(timeline(steps, 'failed', undefined, ended('rolledBack'))[0]?.state).toBe('rolled-back');
    expect(timeline(steps, 'idle', undefined, ended('adopted'))[0]?.state).toBe('planned');
  });
});

describe('list filter', () => {
  const item = {
    namespace: 'shop',
    name: 'checkout',
    deployment: 'checkout',
    phase: 'paused',
    message: 'waiting for resume',
  };
  it('needs every word somewhere and the phase when one is chosen', () => {
    expect(matches(item, { text: 'shop resume', phase: '' })).toBe(true);
    expect(matches(item, { text: 'shop billing', phase: '' })).toBe(false);
    expect(matches(item, { text: '', phase: 'progressing' })).toBe(false);
  });
  it('filters 1,000 policies to the one asked for', () => {
    const many = Array.from({ length: 1000 }, (_, i) => ({ ...item, name: `app-${i}` }));
    expect(many.filter((p) => matches(p, { text: 'shop/app-737', phase: 'paused' })).map((p) => p.name)).toEqual([
      'app-737',
    ]);
  });
});

describe('chart columns', () => {
  it('aligns canary and stable by time and draws a relative limit along the stable line', () => {
    const columns = chartColumns({
      name: 'error-rate',
      critical: false,
      thresholds: { max: 0.2, maxAbove: 0.05 },
      canary: [
        [10, 0.01],
        [20, 0.3],
      ],
      stable: [
        [10, 0],
        [20, 0.02],
      ],
    });
    expect(columns.lines.map((line) => line.label)).toEqual(['canary', 'stable', 'max 0.2', 'stable + 0.05']);
    expect(columns.data).toEqual([
      [10, 20],
      [0.01, 0.3],
      [0, 0.02],
      [0.2, 0.2],
      [0.05, 0.07],
    ]);
  });
});
