// A policy whose reconcile keeps failing: retried with a growing delay per key (not a flat 2 s
// forever), and the error is on the policy's status as Reconciled=False, not only in the log.
// Keys seen before the caches are synced wait for start().
import { describe, expect, it } from 'vitest';
import type { AnalysisRunner } from '../../src/controller/analysis-runner.ts';
import { KeyBackoff } from '../../src/controller/backoff.ts';
import { Controller } from '../../src/controller/controller.ts';
import type { PolicyObject } from '../../src/controller/deps.ts';
import { FINALIZER } from '../../src/controller/names.ts';
import { reconciledCondition } from '../../src/controller/reconcile-error.ts';
import type { Condition } from '../../src/controller/status.ts';
import { KubeError, type StatusWriter } from '../../src/kube/api.ts';
import { KubeEventRecorder } from '../../src/kube/events.ts';
import type { KubeObject, ObjectRef } from '../../src/kube/objects.ts';
import { ReplicaRatioRouter } from '../../src/traffic/replica-ratio.ts';
import { FakeKube } from '../traffic/fake-kube.ts';

/** The API server answers for policies, and is unavailable for Deployments. */
class FlakyKube extends FakeKube implements StatusWriter {
  async replaceStatus<T extends KubeObject>(object: T): Promise<T> {
    return this.replace(object);
  }
  override async get<T extends KubeObject>(ref: ObjectRef): Promise<T | null> {
    if (ref.kind === 'Deployment') throw new KubeError('Unavailable', 'read Deployment shop/web: connection refused');
    return super.get<T>(ref);
  }
}

const policy: PolicyObject = {
  apiVersion: 'canaryd.dev/v1alpha1',
  kind: 'CanaryPolicy',
  metadata: { name: 'web', namespace: 'shop', finalizers: [FINALIZER] },
  spec: { target: { deployment: 'web', service: 'web', router: 'replica-ratio' } },
};

function controllerOver(kube: FlakyKube) {
  const timers: number[] = [];
  const pending: Array<() => void> = [];
  const controller = new Controller(
    {
      kube,
      events: new KubeEventRecorder(kube),
      router: () => new ReplicaRatioRouter(kube),
      analysis: {} as AnalysisRunner,
      now: () => new Date('2026-12-02T03:00:00Z'),
      log: { info() {}, warn() {}, error() {} },
    },
    {
      started: false,
      queue: {
        setTimer: (fn, ms) => {
          timers.push(ms);
          pending.push(fn);
          return pending.length;
        },
        clearTimer: () => {},
      },
    },
  );
  return { controller, timers, fire: () => pending.shift()?.() };
}

const reconciled = async (kube: FlakyKube) =>
  (
    (
      await kube.get<PolicyObject>({
        apiVersion: 'canaryd.dev/v1alpha1',
        kind: 'CanaryPolicy',
        namespace: 'shop',
        name: 'web',
      })
    )?.status as { conditions?: Condition[] } | undefined
  )?.conditions?.find((c) => c.type === 'Reconciled');

const until = async (check: () => boolean | Promise<boolean>) => {
  for (let i = 0; i < 200 && !(await check()); i++) await new Promise((r) => setImmediate(r));
};

describe('a failing reconcile', () => {
  it('backs off per key and shows the error as Reconciled=False on the policy', async () => {
    const kube = new FlakyKube(structuredClone(policy));
    const { controller, timers, fire } = controllerOver(kube);
    controller.enqueue('shop/web');
    await new Promise((r) => setImmediate(r));
    expect(controller.reconciles).toBe(0); // the caches are not synced yet
    expect(kube.calls).toEqual([]);
    controller.start();
    await until(() => timers.length === 1);
    expect(timers).toEqual([1000]);
    expect(await reconciled(kube)).toMatchObject({
      status: 'False',
      reason: 'Unavailable',
      message: 'read Deployment shop/web: connection refused (retrying in 1 s)',
    });
    fire();
    await until(() => timers.length === 2);
    fire();
    await until(() => timers.length === 3);
    expect(timers).toEqual([1000, 2000, 4000]);
    expect((await reconciled(kube))?.message).toContain('retrying in 4 s');
    await controller.stop();
  });

  it('backoff grows to its cap and starts over after a success', () => {
    const backoff = new KeyBackoff({ baseMs: 1000, capMs: 10_000 });
    expect([1, 2, 3, 4, 5, 6].map(() => backoff.failed('a'))).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000]);
    expect(backoff.failed('b')).toBe(1000);
    backoff.succeeded('a');
    expect(backoff.failed('a')).toBe(1000);
  });

  it('a success turns Reconciled back to True, and adds nothing to a policy that never failed', () => {
    const now = new Date('2026-12-02T03:00:00Z');
    const failed: Condition[] = [
      {
        type: 'Reconciled',
        status: 'False',
        reason: 'Forbidden',
        message: 'x',
        lastTransitionTime: '2026-12-02T02:00:00Z',
      },
    ];
    expect(reconciledCondition(failed, now)).toEqual([
      { type: 'Reconciled', status: 'True', reason: 'Reconciled', message: '', lastTransitionTime: now.toISOString() },
    ]);
    expect(reconciledCondition([], now)).toEqual([]);
  });
});
