// Builders for engine tests: a parsed policy, an observed cluster, a state mid-release, and a
// small simulated cluster that executes actions the way the controller would, checking the
// invariants on every write.

import type { Action } from '../../src/engine/actions.ts';
import { decide, initialState } from '../../src/engine/index.ts';
import type { Observed, ObservedDeployment } from '../../src/engine/observed.ts';
import type { CurrentRelease, JsonValue, ManualOperation, ReleaseState } from '../../src/engine/types.ts';
import { type CanaryPolicy, type CanaryPolicyInput, canaryPolicy } from '../../src/policy/schema.ts';

export const T0 = new Date('2026-03-02T10:00:00.000Z'); // a Monday
export const at = (ms: number): Date => new Date(T0.getTime() + ms);
export const iso = (ms: number): string => at(ms).toISOString();
export const SEC = 1_000;
export const MIN = 60_000;
export const HOUR = 3_600_000;

type SpecInput = Partial<CanaryPolicyInput['spec']>;

export function policy(spec: SpecInput = {}): CanaryPolicy {
  return canaryPolicy.parse({
    apiVersion: 'canaryd.dev/v1alpha1',
    kind: 'CanaryPolicy',
    metadata: { name: 'web', namespace: 'shop' },
    spec: {
      target: { deployment: 'web', service: 'web' },
      strategy: {
        steps: [
          { weight: 1, hold: '5m' },
          { weight: 5, hold: '5m' },
          { weight: 25, hold: '5m' },
        ],
      },
      ...spec,
    },
  });
}

export const CHECKS = {
  interval: '30s',
  checks: [{ name: 'errors', type: 'successRate' as const, min: 0.99 }],
};

export const template = (image: string): JsonValue => ({ spec: { containers: [{ name: 'app', image }] } });

export function deployment(hash: string, extra: Partial<ObservedDeployment> = {}): ObservedDeployment {
  return {
    templateHash: hash,
    changeCause: `image app:${hash}`,
    template: template(`app:${hash}`),
    paused: true,
    replicas: 4,
    readyReplicas: 4,
    rolloutComplete: hash === 'v1',
    ...extra,
  };
}

export function observed(extra: Partial<Observed> = {}): Observed {
  return {
    policyDeleted: false,
    deployment: deployment('v1'),
    route: { prepared: false, weight: 0, achievedWeight: 0, testersRouting: false },
    ...extra,
  };
}

export function adoptedState(): ReleaseState {
  return decide(policy(), initialState(), observed(), T0).next;
}

/** A state in a phase with a current release of v2, built field by field. */
export function releaseState(phase: ReleaseState['phase'], current: Partial<CurrentRelease> = {}): ReleaseState {
  const base = adoptedState();
  return {
    ...base,
    phase,
    reason: phase,
    nextRevision: 3,
    current: {
      revision: 2,
      templateHash: 'v2',
      changeCause: 'image app:v2',
      template: template('app:v2'),
      origin: 'template',
      noticedAt: iso(0),
      startedAt: iso(0),
      stepIndex: 0,
      stepEnteredAt: iso(0),
      stepStartedAt: iso(0),
      weight: 1,
      reason: phase,
      deadlines: { release: iso(24 * HOUR) },
      analysis: {},
      operations: [],
      ...current,
    },
  };
}

/** The cluster as it looks while v2 runs as a canary at `weight`. */
export function canaryObserved(weight: number, extra: Partial<Observed> = {}): Observed {
  return observed({
    deployment: deployment('v2'),
    canary: { templateHash: 'v2', replicas: 1, readyReplicas: 1, servingReplicas: 1 },
    route: { prepared: true, weight, achievedWeight: weight, testersRouting: false },
    ...extra,
  });
}

export function operation(op: ManualOperation['op'], extra: Partial<ManualOperation> = {}): ManualOperation {
  return { id: `op-${op}-${extra.toRevision ?? ''}`, op, by: 'alice', at: iso(0), ...extra };
}

export const types = (actions: readonly Action[]): string[] =>
  actions.filter((action) => action.type !== 'recordEvent').map((action) => action.type);

export const effects = (actions: readonly Action[]): Action[] =>
  actions.filter((action) => action.type !== 'recordEvent' && action.type !== 'ackOperation');

export const eventsOf = (actions: readonly Action[]) =>
  actions.flatMap((action) => (action.type === 'recordEvent' ? [action] : []));
