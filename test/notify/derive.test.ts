// The mapping from release transitions to notifications, driven by the real engine: each row is
// one decision (state before, what the cluster shows, the clock) and the notifications it means.
import { describe, expect, it } from 'vitest';
import type { Measurement } from '../../src/analysis/index.ts';
import { INITIAL_COUNTERS } from '../../src/analysis/index.ts';
import { decide } from '../../src/engine/index.ts';
import type { Observed } from '../../src/engine/observed.ts';
import type { ReleaseState } from '../../src/engine/types.ts';
import { deriveNotifications, notificationId, type Transition } from '../../src/notify/derive.ts';
import { webhookBodySchema } from '../../src/notify/schema.ts';
import { webhookBody } from '../../src/notify/webhook.ts';
import type { CanaryPolicy } from '../../src/policy/schema.ts';
import {
  adoptedState,
  at,
  CHECKS,
  canaryObserved,
  deployment,
  iso,
  observed,
  operation,
  policy,
  releaseState,
  SEC,
} from '../engine/fixtures.ts';

const analysed = policy({ analysis: CHECKS });

function transition(
  before: ReleaseState,
  seen: Observed,
  nowMs: number,
  extra: Partial<Transition> = {},
  thePolicy: CanaryPolicy = analysed,
): Transition {
  const { next, actions } = decide(thePolicy, before, seen, at(nowMs));
  return { policy: thePolicy, before, after: next, actions, at: iso(nowMs), ...extra };
}

const failing: Measurement = {
  check: 'errors',
  critical: false,
  at: iso(60 * SEC),
  query: 'q',
  value: 0.9,
  sample: 500,
  verdict: 'fail',
  reason: 'value 0.9 below min 0.99',
};

const roundOf = (measurement: Measurement) => ({
  counters: {
    ...INITIAL_COUNTERS,
    rounds: 1,
    lastRound: { at: measurement.at, verdict: measurement.verdict, problems: [] },
  },
  measurements: [measurement],
});

describe('deriveNotifications', () => {
  const rows: Array<{ name: string; make(): Transition; expect: object[] }> = [
    {
      name: 'a new template starts a release',
      make: () => transition(adoptedState(), observed({ deployment: deployment('v2') }), 0),
      expect: [{ type: 'started', release: { revision: 2, changeCause: 'image app:v2', steps: 3 } }],
    },
    {
      name: 'the canary is ready: the step begins at its weight, with the share the router measured',
      make: () =>
        transition(releaseState('progressing', { stepStartedAt: undefined, weight: 0 }), canaryObserved(0), 1 * SEC, {
          measuredShare: 1.2,
        }),
      expect: [
        {
          type: 'stepAdvanced',
          release: { revision: 2, step: 1, steps: 3, weight: 1, phase: 'progressing' },
          details: { measuredShare: 1.2 },
        },
      ],
    },
    {
      name: 'a failing round rolls back: which check, its value and threshold',
      make: () =>
        transition(
          releaseState('progressing'),
          canaryObserved(1, {
            analysis: { round: 1, at: iso(60 * SEC), decision: 'rollback', reason: 'errors: value 0.9 below min 0.99' },
          }),
          61 * SEC,
          { analysis: roundOf(failing) },
        ),
      expect: [
        {
          type: 'rolledBack',
          details: {
            reason: 'analysis: errors: value 0.9 below min 0.99',
            checks: [{ check: 'errors', verdict: 'fail', value: 0.9, thresholds: { min: 0.99 } }],
          },
        },
      ],
    },
    {
      name: 'a person pauses',
      make: () =>
        transition(releaseState('progressing'), canaryObserved(1, { operation: operation('pause') }), 10 * SEC),
      expect: [{ type: 'paused', details: { by: 'alice', cause: 'manual' } }],
    },
    {
      name: 'a person resumes',
      make: () =>
        transition(
          releaseState('paused', { pausedBy: { cause: 'manual', by: 'alice', at: iso(0), reason: 'paused by alice' } }),
          canaryObserved(1, { operation: operation('resume', { by: 'bob' }) }),
          10 * SEC,
        ),
      expect: [{ type: 'resumed', details: { by: 'bob' } }],
    },
    {
      name: 'inconclusive analysis pauses the release, with the checks that had no verdict',
      make: () =>
        transition(
          releaseState('progressing'),
          canaryObserved(1, {
            analysis: { round: 1, at: iso(60 * SEC), decision: 'pause', reason: 'errors: no data' },
          }),
          61 * SEC,
          { analysis: roundOf({ ...failing, value: null, verdict: 'inconclusive', reason: 'no data' }) },
        ),
      expect: [
        {
          type: 'analysisInconclusive',
          details: {
            by: 'analysis',
            cause: 'analysis',
            checks: [{ check: 'errors', verdict: 'inconclusive', value: null }],
          },
        },
      ],
    },
    {
      name: 'analysis recovers: the release resumes by itself',
      make: () =>
        transition(
          releaseState('paused', { pausedBy: { cause: 'analysis', by: 'analysis', at: iso(30 * SEC), reason: 'x' } }),
          canaryObserved(1, { analysis: { round: 2, at: iso(60 * SEC), decision: 'advance-allowed', reason: 'ok' } }),
          61 * SEC,
        ),
      expect: [{ type: 'resumed', details: { by: 'analysis' } }],
    },
    {
      name: 'an operation that cannot apply is refused, with who asked and why',
      make: () => transition(adoptedState(), observed({ operation: operation('resume') }), 0),
      expect: [{ type: 'operationRefused', details: { by: 'alice', operation: 'resume' } }],
    },
    {
      name: 'a newer template arrives mid-release: the release is superseded (naming the newer one), the newer one starts',
      make: () =>
        transition(releaseState('progressing'), canaryObserved(1, { deployment: deployment('v3') }), 10 * SEC),
      expect: [
        {
          type: 'superseded',
          release: { revision: 2, templateHash: 'v2' },
          details: {
            outcome: 'superseded',
            reason: 'superseded by a newer template (image app:v3)',
            supersededBy: { revision: 3, templateHash: 'v3', changeCause: 'image app:v3' },
          },
        },
        { type: 'started', release: { revision: 3, templateHash: 'v3' } },
      ],
    },
    {
      name: 'the template is set back to the stable one mid-release: cancelled once the stable revision is back',
      make: () => {
        const cancelling = transition(
          releaseState('progressing'),
          canaryObserved(1, { deployment: deployment('v1') }),
          10 * SEC,
        ).after;
        const gone = observed({ deployment: deployment('v1', { rolloutComplete: true }) });
        return transition(cancelling, gone, 20 * SEC);
      },
      expect: [
        {
          type: 'cancelled',
          release: { revision: 2 },
          details: { outcome: 'cancelled', reason: "the Deployment's template was set back to the stable revision" },
        },
      ],
    },
    {
      name: 'nothing changes: nothing is sent',
      make: () => transition(releaseState('progressing'), canaryObserved(1), 10 * SEC),
      expect: [],
    },
  ];

  for (const row of rows) {
    it(row.name, () => {
      const notifications = deriveNotifications(row.make());
      expect(notifications).toMatchObject(row.expect);
      expect(notifications).toHaveLength(row.expect.length);
      for (const notification of notifications) {
        expect(notification.policy).toEqual({ namespace: 'shop', name: 'web' });
        expect(webhookBodySchema.safeParse(webhookBody(notification)).error).toBeUndefined();
      }
    });
  }

  it('ended releases: promoted on success, failed after a rollback (from the history the engine wrote)', () => {
    const before = releaseState('promoting');
    const entry = (outcome: 'succeeded' | 'rolledBack') => ({
      revision: 2,
      templateHash: 'v2',
      changeCause: 'image app:v2',
      startedAt: iso(0),
      endedAt: iso(90 * SEC),
      outcome,
      reason: outcome === 'succeeded' ? 'every step passed' : 'analysis: errors',
      operations: [],
    });
    for (const [outcome, type] of [
      ['succeeded', 'promoted'],
      ['rolledBack', 'failed'],
    ] as const) {
      const after: ReleaseState = {
        ...before,
        phase: outcome === 'succeeded' ? 'succeeded' : 'failed',
        current: undefined,
        history: [...before.history, entry(outcome)],
      };
      const [notification, ...rest] = deriveNotifications({
        policy: analysed,
        before,
        after,
        actions: [],
        at: iso(90 * SEC),
      });
      expect(rest).toEqual([]);
      expect(notification).toMatchObject({ type, release: { revision: 2, weight: 0 }, details: { outcome } });
      expect(notification?.release?.step).toBeUndefined();
    }
  });

  it('the same transition derived again (a reconcile repeated after a crash) has the same ids; another step another id', () => {
    const make = (nowMs: number) =>
      transition(releaseState('progressing', { stepStartedAt: undefined, weight: 0 }), canaryObserved(0), nowMs);
    const first = deriveNotifications(make(SEC)).map((n) => n.id);
    expect(deriveNotifications(make(SEC)).map((n) => n.id)).toEqual(first);
    expect(deriveNotifications(make(2 * SEC)).map((n) => n.id)).not.toEqual(first);
    expect(first[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(notificationId('shop/web', 2, 'started', '2')).not.toBe(notificationId('shop/api', 2, 'started', '2'));
  });
});
