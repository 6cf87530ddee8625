// How a release stands for a CI job: when `status --watch` stops and with which exit code.
import { describe, expect, it } from 'vitest';
import { releaseOutcome, STATUS_EXIT } from '../../src/cli/commands/outcome.ts';
import type { ReleaseState } from '../../src/engine/types.ts';
import { releaseViewOf } from '../../src/server/views.ts';
import { policyObject, runningRelease, runningStatus } from '../server/fixtures.ts';

const viewOf = (release: ReleaseState) =>
  releaseViewOf(policyObject('checkout', 'shop', { status: runningStatus(release) }));

const rested = (phase: ReleaseState['phase'], extra: Partial<ReleaseState> = {}): ReleaseState => {
  const release = runningRelease({ phase, ...extra });
  delete release.current;
  return release;
};

const promoted = rested('succeeded', {
  stable: { revision: 2, templateHash: 'bbb222', changeCause: 'image web:1 -> web:2', template: {} },
});
const rolledBack = rested('failed', {
  failedRevisions: ['bbb222'],
  history: [
    ...runningRelease().history,
    {
      revision: 2,
      templateHash: 'bbb222',
      changeCause: 'image web:1 -> web:2',
      startedAt: '2026-03-01T10:00:05.000Z',
      endedAt: '2026-03-01T10:09:00.000Z',
      outcome: 'rolledBack',
      reason: 'analysis: success-rate failed',
      operations: [],
    },
  ],
});
const pausedBy = (cause: 'manual' | 'step' | 'analysis') => {
  const release = runningRelease({ phase: 'paused' });
  release.current!.pausedBy = {
    cause,
    by: cause === 'manual' ? 'alice' : cause,
    at: '2026-03-01T10:06:00.000Z',
    reason: 'x',
  };
  return release;
};

describe('the outcome of a release', () => {
  it.each([
    ['progressing', runningRelease(), undefined, false, STATUS_EXIT.ok],
    ['promoting', runningRelease({ phase: 'promoting' }), undefined, false, STATUS_EXIT.ok],
    ['waiting for a start window', runningRelease({ phase: 'waiting' }), undefined, false, STATUS_EXIT.ok],
    ['rolling back', runningRelease({ phase: 'rollingBack' }), undefined, false, STATUS_EXIT.failed],
    ['promoted', promoted, 'bbb222', true, STATUS_EXIT.ok],
    ['rolled back, template restored', rolledBack, 'aaa111', true, STATUS_EXIT.failed],
    ['rolled back, Deployment still on the failed template', rolledBack, 'bbb222', true, STATUS_EXIT.failed],
    [
      'set back to a template that failed earlier',
      rested('idle', { failedRevisions: ['old000'] }),
      'old000',
      true,
      STATUS_EXIT.failed,
    ],
    ['paused by a person', pausedBy('manual'), undefined, true, STATUS_EXIT.pausedForPerson],
    ['paused at a step gate', pausedBy('step'), undefined, true, STATUS_EXIT.pausedForPerson],
    ['paused by inconclusive analysis (resumes by itself)', pausedBy('analysis'), undefined, false, STATUS_EXIT.ok],
    ['promoted earlier, a new template not picked up yet', promoted, 'ccc333', false, STATUS_EXIT.ok],
    ['rolled back earlier, a new template not picked up yet', rolledBack, 'ccc333', false, STATUS_EXIT.ok],
    ['idle since adoption', rested('idle'), 'aaa111', true, STATUS_EXIT.ok],
  ])('%s', (_, release, deploymentHash, ended, code) => {
    const outcome = releaseOutcome(viewOf(release), deploymentHash);
    expect({ ended: outcome.ended, code: outcome.code }).toEqual({ ended, code });
  });

  it('the release that just failed is reported as such, even before its template is restored', () => {
    expect(releaseOutcome(viewOf(rolledBack), 'bbb222').summary).toBe(
      'not promoted: revision 2 rolledBack: analysis: success-rate failed',
    );
    expect(releaseOutcome(viewOf(rested('idle', { failedRevisions: ['old000'] })), 'old000').summary).toContain(
      'failed before; kubectl canary retry checkout',
    );
  });

  it('says what a person should run when a release waits for one', () => {
    expect(releaseOutcome(viewOf(pausedBy('manual'))).summary).toBe(
      'paused by alice: run kubectl canary resume|promote|abort checkout -n shop',
    );
  });

  it('the exit codes are distinct', () => {
    expect(new Set(Object.values(STATUS_EXIT)).size).toBe(Object.keys(STATUS_EXIT).length);
  });
});
