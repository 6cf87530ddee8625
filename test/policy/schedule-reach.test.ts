// Schedules that leave no time: recurring blackouts over every window (or all time) are errors;
// windows that do not open within the search horizon only warn (a yearly window is allowed).
import { describe, expect, it } from 'vitest';
import { canaryPolicy } from '../../src/policy/schema.ts';
import { checkSemantics } from '../../src/policy/semantics.ts';

const NOW = new Date('2026-03-27T15:00:00Z');
const findingsOf = (schedule: object) => {
  const raw = {
    apiVersion: 'canaryd.dev/v1alpha1',
    kind: 'CanaryPolicy',
    metadata: { name: 'web' },
    spec: { target: { deployment: 'web', service: 'web', router: 'ingress-nginx' }, schedule },
  };
  return checkSemantics(canaryPolicy.parse(raw), raw, NOW).map(
    (finding) => `${finding.severity} ${finding.path.join('.')}: ${finding.message}`,
  );
};

describe('schedule reach', () => {
  it('refuses recurring blackouts that cover all time', () => {
    expect(findingsOf({ blackouts: [{ cron: '0 0 * * *', duration: '24h' }] })).toEqual([
      'error spec.schedule.blackouts: no release can ever start: the recurring blackouts cover all time (checked for 35 days)',
      'error spec.schedule.blackouts: no step can ever advance: the recurring blackouts cover all time (checked for 35 days)',
    ]);
  });

  it('refuses blackouts over every advance window', () => {
    expect(
      findingsOf({
        advanceWindows: [{ cron: '0 9 * * MON-FRI', duration: '8h' }],
        blackouts: [{ cron: '0 8 * * MON-FRI', duration: '10h' }],
      }),
    ).toEqual([
      'error spec.schedule.blackouts: no step can ever advance: the recurring blackouts cover every advance window (checked for 35 days)',
    ]);
  });

  it('ignores one-off blackouts (they end) and only warns about a window that opens once a year', () => {
    expect(findingsOf({ blackouts: [{ start: '2026-03-01T00:00:00Z', end: '2026-06-01T00:00:00Z' }] })).toEqual([]);
    expect(findingsOf({ startWindows: [{ cron: '0 9 1 1 *', duration: '8h' }] })).toEqual([
      'warning spec.schedule.startWindows: no release can ever start within 35 days from now: none of these windows opens in that time',
    ]);
  });
});
