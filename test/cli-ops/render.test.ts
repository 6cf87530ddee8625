import { describe, expect, it } from 'vitest';
import { oneName, parseClusterArgs, revisionFlag, secondsFlag, UsageError } from '../../src/cli/commands/args.ts';
import { describeOperation, operationRequestFromFlags } from '../../src/cli/commands/operate.ts';
import {
  formatDuration,
  latestPerCheck,
  renderHistory,
  renderList,
  renderStatus,
  untilNextStep,
} from '../../src/cli/commands/render.ts';
import { releaseViewOf } from '../../src/server/views.ts';
import { measurement, policyObject, runningRelease, runningStatus } from '../server/fixtures.ts';

const NOW = new Date('2026-03-01T10:06:30.000Z');
const running = releaseViewOf(policyObject('checkout', 'shop', { status: runningStatus() }), NOW);

describe('flags', () => {
  it('parses kubectl-style cluster flags', () => {
    expect(parseClusterArgs(['checkout', '-n', 'shop', '--context', 'prod', '--kubeconfig=/k'])).toEqual({
      cluster: { namespace: 'shop', context: 'prod', kubeconfig: '/k' },
      positionals: ['checkout'],
      values: { namespace: 'shop', context: 'prod', kubeconfig: '/k' },
    });
  });

  it('unknown flags and bad values are usage errors', () => {
    expect(() => parseClusterArgs(['--nmespace', 'x'])).toThrow(UsageError);
    expect(() => parseClusterArgs(['-n', ''])).toThrow('--namespace needs a value');
    expect(() => oneName([])).toThrow('NAME is required');
    expect(() => oneName(['a', 'b'])).toThrow('expected one NAME');
    expect(() => oneName(['Checkout'])).toThrow('not a valid CanaryPolicy name');
    expect(() => revisionFlag('to-revision', '0')).toThrow('>= 1');
    expect(() => revisionFlag('to-revision', '2.5')).toThrow(UsageError);
    expect(revisionFlag('to-revision', '12')).toBe(12);
    expect(secondsFlag('timeout', '2m', 30)).toBe(120);
    expect(secondsFlag('timeout', undefined, 30)).toBe(30);
    expect(() => secondsFlag('timeout', 'soon', 30)).toThrow('--timeout');
  });

  it('maps command flags to the operation', () => {
    expect(operationRequestFromFlags('promote', { full: true })).toEqual({ op: 'promoteFull' });
    expect(operationRequestFromFlags('promote', {})).toEqual({ op: 'promote' });
    expect(operationRequestFromFlags('retry', { 'to-revision': '3' })).toEqual({ op: 'retry', toRevision: 3 });
    expect(operationRequestFromFlags('undo', { 'to-revision': '2', 'skip-canary': true })).toEqual({
      op: 'undo',
      toRevision: 2,
      skipCanary: true,
    });
    expect(() => operationRequestFromFlags('undo', {})).toThrow('--to-revision is required');
    expect(describeOperation({ op: 'undo', toRevision: 2, skipCanary: true })).toBe(
      'undo --to-revision=2 --skip-canary',
    );
    expect(describeOperation({ op: 'promoteFull' })).toBe('promote --full');
  });
});

describe('rendering', () => {
  it('formats durations like kubectl', () => {
    expect([0, 45_000, 200_000, 3_600_000, 7_500_000, 90_000_000].map(formatDuration)).toEqual([
      '0s',
      '45s',
      '3m20s',
      '1h',
      '2h5m',
      '1d1h',
    ]);
  });

  it('list: one line per release, a namespace column with -A', () => {
    const idle = releaseViewOf(policyObject('search', 'shop'), NOW);
    expect(renderList([running, idle], NOW, false)).toBe(
      [
        'NAME      DEPLOYMENT  PHASE        STEP  WEIGHT  NEXT STEP  UPDATED',
        'checkout  checkout    progressing  2/4   5%      in 8m40s   30s',
        'search    search      -            -     -       -          -',
        '',
      ].join('\n'),
    );
    expect(renderList([running], NOW, true).split('\n')[0]).toMatch(/^NAMESPACE +NAME +DEPLOYMENT/);
  });

  it('status: phase, revision, steps with the current one marked, weight, router, next step, analysis', () => {
    const screen = renderStatus(running, NOW);
    expect(screen).toContain('Policy:        shop/checkout\n');
    expect(screen).toContain('Phase:         progressing — step 2 of 4 at 5%\n');
    expect(screen).toContain('Revision:      2 (image web:1 -> web:2)\n');
    expect(screen).toContain('Step:          2/4  1% → [5%] → 25% → 50%\n');
    expect(screen).toContain('Weight:        5% of traffic to the canary\n');
    // The share shown is the measured one; when the plan intends another, both are said.
    const measured = structuredClone(running);
    measured.status.weight = 40;
    measured.status.intendedWeight = 5;
    expect(renderStatus(measured, NOW)).toContain(
      'Weight:        40% of traffic to the canary (measured; the step intends 5%)\n',
    );
    expect(screen).toContain('Router:        ingress-nginx (Ingress web routes to Service web)\n');
    expect(screen).toContain('Next step:     in 8m40s (2026-03-01T10:15:10.000Z)\n');
    expect(screen).toMatch(/ {2}success-rate +pass +0\.998 +0\.999 +1200 +2m30s +0\.998 >= 0\.99\n/);
  });

  it('status between releases says no canary carries anything', () => {
    const promoted = runningRelease({ phase: 'succeeded', reason: 'promoted', current: undefined });
    const status = { ...runningStatus(promoted), weight: 0, intendedWeight: 0, step: '' };
    const view = releaseViewOf(policyObject('checkout', 'shop', { status }), NOW);
    expect(renderStatus(view, NOW)).toContain('Weight:        0% of traffic to the canary (no release running)\n');
  });

  it('status of a policy the controller has not seen', () => {
    const unseen = releaseViewOf(policyObject('search', 'shop'), NOW);
    expect(renderStatus(unseen, NOW)).toContain('not seen by canaryd yet');
  });

  it('status shows who paused a release', () => {
    const release = runningRelease({ phase: 'paused' });
    release.current!.pausedBy = {
      cause: 'manual',
      by: 'alice',
      at: '2026-03-01T10:06:00.000Z',
      reason: 'paused by alice',
    };
    const view = releaseViewOf(policyObject('checkout', 'shop', { status: runningStatus(release) }), NOW);
    expect(renderStatus(view, NOW)).toContain('Paused:        manual by alice at 2026-03-01T10:06:00.000Z');
    expect(untilNextStep(view, NOW)).toBeUndefined();
  });

  it('latest measurement per check', () => {
    const older = measurement({ at: '2026-03-01T10:00:00.000Z', value: 0.5 });
    const newer = measurement({ at: '2026-03-01T10:01:00.000Z', value: 0.9 });
    const other = measurement({ check: 'latency', at: '2026-03-01T10:00:30.000Z' });
    expect(latestPerCheck([older, other, newer]).map((m) => [m.check, m.value])).toEqual([
      ['success-rate', 0.9],
      ['latency', 0.998],
    ]);
  });

  it('history: revisions with outcomes, the running one, and operations', () => {
    const release = runningRelease();
    release.current!.operations = [
      { id: 'x', op: 'pause', by: 'alice', at: '2026-03-01T10:06:00.000Z', result: 'applied' },
    ];
    const view = releaseViewOf(policyObject('checkout', 'shop', { status: runningStatus(release) }), NOW);
    const lines = renderHistory(view).split('\n');
    expect(lines[0]).toMatch(/^REVISION +OUTCOME +STARTED +ENDED +CHANGE +REASON$/);
    expect(lines[1]).toMatch(/^1 +adopted +2026-02-01T00:00:00.000Z/);
    expect(lines[2]).toMatch(/^2 +\(progressing\) +2026-03-01T10:00:05.000Z +- +image web:1 -> web:2/);
    expect(lines).toContain('Operations:');
    expect(lines[3]).toMatch(
      /^\(REVISION is canaryd's release number.*`kubectl rollout history` numbers the Deployment's ReplicaSets/,
    );
    expect(lines.at(-2)).toMatch(/^ {2}2026-03-01T10:06:00.000Z +pause +alice +applied$/);
  });

  it('history: an undo shows the flags it was given', () => {
    const release = runningRelease();
    release.current!.changeCause =
      'undo --to-revision=1 --skip-canary: revision 3 → revision 1 (revision 1 was: initial)';
    release.current!.operations = [
      {
        id: 'u',
        op: 'undo',
        toRevision: 1,
        skipCanary: true,
        fromRevision: 3,
        by: 'dave',
        at: '2026-03-01T10:06:00.000Z',
        result: 'applied',
      },
    ];
    const view = releaseViewOf(policyObject('checkout', 'shop', { status: runningStatus(release) }), NOW);
    const lines = renderHistory(view).split('\n');
    expect(lines[2]).toContain('undo --to-revision=1 --skip-canary: revision 3 → revision 1');
    expect(lines.at(-2)).toMatch(/^ {2}2026-03-01T10:06:00.000Z +undo --to-revision=1 --skip-canary +dave +applied$/);
  });
});
