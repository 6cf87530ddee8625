// The history stays small enough for a status object and keeps what undo and retry need.
import { describe, expect, it } from 'vitest';
import { appendHistory, MAX_HISTORY } from '../../src/engine/history.ts';
import { initialState } from '../../src/engine/index.ts';
import type { HistoryEntry, Outcome } from '../../src/engine/types.ts';
import { CHECKS, policy, T0 } from './fixtures.ts';
import { Cluster, type Driver, drive } from './sim.ts';

const entry = (revision: number, outcome: Outcome): HistoryEntry => ({
  revision,
  templateHash: `h${revision}`,
  changeCause: `c${revision}`,
  startedAt: 'a',
  endedAt: 'b',
  outcome,
  reason: 'r',
  operations: [],
  template: { revision },
});

describe('history bounds', () => {
  it('keeps at most MAX_HISTORY entries, templates on the 5 newest good and 2 newest rolled-back ones', () => {
    let history: HistoryEntry[] = [];
    const outcomes: Outcome[] = ['succeeded', 'rolledBack', 'superseded', 'succeeded', 'cancelled'];
    for (let revision = 1; revision <= 40; revision++) {
      history = appendHistory(history, entry(revision, outcomes[revision % outcomes.length]!));
    }
    expect(history).toHaveLength(MAX_HISTORY);
    expect(history[0]?.revision).toBe(21);
    const withTemplate = history.filter((h) => h.template !== undefined);
    expect(withTemplate.filter((h) => h.outcome === 'succeeded')).toHaveLength(5);
    expect(withTemplate.filter((h) => h.outcome === 'rolledBack')).toHaveLength(2);
    expect(withTemplate.filter((h) => h.outcome === 'superseded' || h.outcome === 'cancelled')).toHaveLength(0);
    const newestGood = history.filter((h) => h.outcome === 'succeeded').slice(-5);
    expect(newestGood.every((h) => h.template !== undefined)).toBe(true);
  });
});

describe('history journeys', () => {
  const start = (cluster = new Cluster()): Driver => ({ cluster, state: initialState(), now: T0, phases: [] });
  const settled = (d: Driver) =>
    ['succeeded', 'failed', 'idle'].includes(d.state.phase) &&
    d.cluster.canary === undefined &&
    d.state.stable !== undefined;

  it('v2 promoted, v3 superseded by v4, v4 promoted, then undo --to-revision=2 releases v2 again as a canary', () => {
    const p = policy();
    const d = start();
    drive(d, p, settled);
    d.cluster.setTemplate('v2');
    drive(d, p, (x) => x.state.phase === 'progressing');
    drive(d, p, settled);
    d.cluster.setTemplate('v3');
    drive(d, p, (x) => x.state.current?.stepStartedAt !== undefined);
    d.cluster.setTemplate('v4');
    drive(d, p, (x) => x.state.current?.templateHash === 'v4');
    drive(d, p, settled);
    expect(d.state.history.map((h) => [h.revision, h.templateHash, h.outcome])).toEqual([
      [1, 'v1', 'adopted'],
      [2, 'v2', 'succeeded'],
      [3, 'v3', 'superseded'],
      [4, 'v4', 'succeeded'],
    ]);
    d.cluster.operation = { id: 'u1', op: 'undo', toRevision: 2, by: 'erin', at: d.now.toISOString() };
    drive(d, p, (x) => x.state.phase === 'progressing');
    expect(d.cluster.deployment.hash).toBe('v2');
    expect(d.cluster.operation).toBeUndefined();
    drive(d, p, settled);
    expect(d.state.stable).toMatchObject({ revision: 5, templateHash: 'v2' });
    expect(d.state.history.at(-1)).toMatchObject({
      revision: 5,
      outcome: 'succeeded',
      changeCause: 'undo to revision 2: image app:v2',
      operations: [expect.objectContaining({ op: 'undo', by: 'erin', result: 'applied' })],
    });
    expect(d.cluster.podHistory).toEqual(['v1', 'v2', 'v4', 'v2']);
    expect(d.cluster.violations).toEqual([]);
  });

  it('a rolled-back revision is retried on request and then promoted', () => {
    const p = policy({ analysis: CHECKS });
    let fail = true;
    const d = start(new Cluster({ analyst: () => (fail ? 'rollback' : 'advance-allowed') }));
    drive(d, p, settled);
    d.cluster.setTemplate('v2');
    drive(d, p, (x) => x.state.phase === 'progressing');
    drive(d, p, settled);
    expect(d.state.phase).toBe('failed');
    expect(d.cluster.deployment.hash).toBe('v1');
    fail = false;
    d.cluster.operation = { id: 'r1', op: 'retry', by: 'frank', at: d.now.toISOString() };
    drive(d, p, (x) => x.state.phase === 'progressing');
    drive(d, p, settled);
    expect(d.state.phase).toBe('succeeded');
    expect(d.state.stable?.templateHash).toBe('v2');
    expect(d.state.failedRevisions).toEqual([]);
    expect(d.cluster.violations).toEqual([]);
  });
});
