// What status.weight / intendedWeight / step say (issue 12: what canaryd reports must be true).
import { describe, expect, it } from 'vitest';
import { summarise } from '../../src/controller/status.ts';
import { finishRelease } from '../../src/engine/transitions.ts';
import { policy, releaseState } from '../engine/fixtures.ts';

describe('the weight status reports', () => {
  it('is the measured share while a release runs, with the step’s intended weight beside it', () => {
    const running = releaseState('progressing', { stepIndex: 1, weight: 5 });
    expect(summarise(policy(), running, 33.333)).toMatchObject({ weight: 33.33, intendedWeight: 5, step: '2/3' });
  });

  it.each(['succeeded', 'failed', 'idle'] as const)(
    'is 0 (intended 0, no step) once the release ended %s, whatever the route last reported',
    (phase) => {
      // After a promotion the stable pods run the released template, so a share counted by
      // template would read 100 %; no canary carries anything any more.
      const ended = releaseState('promoting', { stepIndex: 2, weight: 25 });
      const context = { nowIso: '2026-03-02T11:00:00.000Z', notes: [], policy: policy() } as unknown as Parameters<
        typeof finishRelease
      >[1];
      finishRelease(ended, context, phase === 'succeeded' ? 'succeeded' : 'rolledBack', 'ended', phase);
      expect(ended.current).toBeUndefined();
      expect(summarise(policy(), ended, 100)).toMatchObject({ phase, weight: 0, intendedWeight: 0, step: '' });
    },
  );
});
