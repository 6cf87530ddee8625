// The history stays small enough for a status object and keeps what undo and retry need.
import { describe, expect, it } from 'vitest';
import { freshChangeCause, observeDeployment } from '../../src/controller/observe.ts';
import { templateHash } from '../../src/controller/template.ts';
import { appendHistory, MAX_HISTORY, operationLabel } from '../../src/engine/history.ts';
import { initialState } from '../../src/engine/index.ts';
import type { HistoryEntry, JsonValue, Outcome, ReleaseState } from '../../src/engine/types.ts';
import type { Deployment } from '../../src/kube/objects.ts';
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
      changeCause: 'undo --to-revision=2: revision 4 → revision 2 (revision 2 was: image app:v2)',
      operations: [
        expect.objectContaining({ op: 'undo', toRevision: 2, fromRevision: 4, by: 'erin', result: 'applied' }),
      ],
    });
    expect(d.state.history.at(-1)?.operations[0]).not.toHaveProperty('skipCanary');
    expect(d.cluster.podHistory).toEqual(['v1', 'v2', 'v4', 'v2']);
    expect(d.cluster.violations).toEqual([]);
  });

  it('undo --to-revision --skip-canary records both flags and the revisions it went from and to', () => {
    const p = policy();
    const d = start();
    drive(d, p, settled);
    d.cluster.setTemplate('v2');
    drive(d, p, (x) => x.state.phase === 'progressing');
    drive(d, p, settled);
    d.cluster.operation = {
      id: 'u2',
      op: 'undo',
      toRevision: 1,
      skipCanary: true,
      by: 'erin',
      at: d.now.toISOString(),
    };
    drive(d, p, (x) => x.state.phase === 'promoting');
    drive(d, p, settled);
    const entry = d.state.history.at(-1)!;
    expect(entry).toMatchObject({
      revision: 3,
      templateHash: 'v1',
      outcome: 'succeeded',
      changeCause: 'undo --to-revision=1 --skip-canary: revision 2 → revision 1 (revision 1 was: image app:v1)',
    });
    expect(entry.operations).toEqual([
      {
        id: 'u2',
        op: 'undo',
        toRevision: 1,
        skipCanary: true,
        fromRevision: 2,
        by: 'erin',
        at: expect.any(String),
        result: 'applied',
      },
    ]);
    expect(operationLabel(entry.operations[0]!)).toBe('undo --to-revision=1 --skip-canary');
  });

  it('a refused undo records its flags but no change', () => {
    const p = policy();
    const d = start();
    drive(d, p, settled);
    d.cluster.setTemplate('v2');
    drive(d, p, (x) => x.state.phase === 'progressing');
    d.cluster.operation = { id: 'u3', op: 'undo', toRevision: 1, by: 'erin', at: d.now.toISOString() };
    drive(d, p, (x) => x.cluster.operation === undefined);
    const record = d.state.current!.operations.find((op) => op.id === 'u3')!;
    expect(record).toMatchObject({ op: 'undo', toRevision: 1, result: expect.stringMatching(/^refused: /) });
    expect(record).not.toHaveProperty('fromRevision');
    expect(d.state.current!.changeCause).toBe('image app:v2');
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

describe('kubernetes.io/change-cause belongs to the template it was set with', () => {
  const deploymentWith = (image: string, cause?: string): Deployment => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'shop', ...(cause === undefined ? {} : { annotations: { [CAUSE]: cause } }) },
    spec: {
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image }] } },
    },
  });
  const CAUSE = 'kubernetes.io/change-cause';
  const hashOf = (image: string) => templateHash(deploymentWith(image).spec.template);
  /** Adopted at app:v1, then app:v2 released with the annotation "bump to v2". */
  const released = (): ReleaseState => ({
    ...initialState(),
    phase: 'succeeded',
    stable: {
      revision: 2,
      templateHash: hashOf('app:v2'),
      changeCause: 'bump to v2',
      template: deploymentWith('app:v2').spec.template as unknown as JsonValue,
    },
    history: [
      { ...entry(1, 'adopted'), templateHash: hashOf('app:v1'), changeCause: 'images app:v1' },
      { ...entry(2, 'succeeded'), templateHash: hashOf('app:v2'), changeCause: 'bump to v2' },
    ],
    nextRevision: 3,
  });

  it('labels the release whose template it came with', () => {
    const state = initialState();
    expect(observeDeployment(deploymentWith('app:v2', 'bump to v2'), state).changeCause).toBe('bump to v2');
  });

  it('a later template that left the annotation alone is described by what changed, not by the old text', () => {
    const observed = observeDeployment(deploymentWith('app:v3', 'bump to v2'), released());
    expect(observed.changeCause).toBe('image app: app:v2 → app:v3');
  });

  it('a new text set with the new template labels it', () => {
    expect(observeDeployment(deploymentWith('app:v3', 'bump to v3'), released()).changeCause).toBe('bump to v3');
  });

  it('the same template with its own text keeps it (a restart of the same release)', () => {
    expect(freshChangeCause(deploymentWith('app:v2', 'bump to v2'), released())).toBe('bump to v2');
  });

  it('an empty annotation is no change-cause', () => {
    expect(freshChangeCause(deploymentWith('app:v3', ''), released())).toBeUndefined();
  });
});
