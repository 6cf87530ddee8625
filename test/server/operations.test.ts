import { describe, expect, it } from 'vitest';
import { isKubeError } from '../../src/kube/api.ts';
import {
  isAcknowledged,
  newOperation,
  OPERATION_ANNOTATION,
  OperationError,
  operationPatch,
  operationResult,
  pendingOperation,
  policyRef,
  requestOperation,
} from '../../src/server/operations.ts';
import { kubeReleaseReader, releaseViewOf } from '../../src/server/views.ts';
import { FakeKube } from '../traffic/fake-kube.ts';
import { policyObject, runningRelease, runningStatus } from './fixtures.ts';

const NOW = new Date('2026-03-01T10:06:30.000Z');
const pause = newOperation({ op: 'pause' }, 'alice', NOW, 'id-1');

describe('the operation annotation', () => {
  it('is a merge patch of canaryd.dev/operation (the operation as JSON) and canaryd.dev/operation-by (who asks)', () => {
    expect(OPERATION_ANNOTATION).toBe('canaryd.dev/operation');
    expect(operationPatch(pause, '42')).toEqual({
      metadata: {
        annotations: {
          'canaryd.dev/operation': '{"id":"id-1","op":"pause","at":"2026-03-01T10:06:30.000Z"}',
          'canaryd.dev/operation-by': 'alice',
        },
        resourceVersion: '42',
      },
    });
  });

  it('newOperation has a random UUID by default and only the fields asked for', () => {
    const undo = newOperation({ op: 'undo', toRevision: 3, skipCanary: true }, 'bob', NOW);
    expect(undo).toEqual({
      id: undo.id,
      op: 'undo',
      toRevision: 3,
      skipCanary: true,
      by: 'bob',
      at: NOW.toISOString(),
    });
    expect(undo.id).not.toBe(newOperation({ op: 'undo' }, 'bob', NOW).id);
  });

  it('is pending until the status acknowledges its id (lastOperationId or recentOperationIds)', () => {
    const annotations = { [OPERATION_ANNOTATION]: JSON.stringify(pause) };
    const unacked = policyObject('checkout', 'shop', { annotations, status: runningStatus() });
    expect(pendingOperation(unacked)).toEqual(pause);
    const acked = policyObject('checkout', 'shop', {
      annotations,
      status: runningStatus(runningRelease({ recentOperationIds: ['id-0', 'id-1'], lastOperationId: 'id-2' })),
    });
    expect(isAcknowledged(acked, 'id-1')).toBe(true);
    expect(pendingOperation(acked)).toBeUndefined();
    const malformed = policyObject('checkout', 'shop', { annotations: { [OPERATION_ANNOTATION]: '{oops' } });
    expect(pendingOperation(malformed)).toBeUndefined();
  });

  it('operationResult finds the record in the running release or the history', () => {
    const release = runningRelease();
    release.history[0]!.operations = [{ ...pause, result: 'refused: nothing to pause in phase idle' }];
    const policy = policyObject('checkout', 'shop', { status: runningStatus(release) });
    expect(operationResult(policy, 'id-1')?.result).toBe('refused: nothing to pause in phase idle');
    expect(operationResult(policy, 'other')).toBeUndefined();
  });
});

describe('requestOperation', () => {
  it('patches with the resourceVersion it read', async () => {
    const kube = new FakeKube(policyObject('checkout', 'shop', { status: runningStatus() }));
    const before = kube.peek(policyRef('shop', 'checkout'))?.metadata.resourceVersion;
    await requestOperation(kube, 'shop', 'checkout', pause, { now: () => NOW });
    expect(kube.writes()).toEqual([
      expect.objectContaining({ verb: 'mergePatch', body: operationPatch(pause, before) }),
    ]);
  });

  it('replaces an unacknowledged operation older than the grace period (lost, e.g. policy invalid)', async () => {
    const old = newOperation({ op: 'pause' }, 'bob', new Date(NOW.getTime() - 61_000), 'old');
    const kube = new FakeKube(
      policyObject('checkout', 'shop', { annotations: { [OPERATION_ANNOTATION]: JSON.stringify(old) } }),
    );
    await requestOperation(kube, 'shop', 'checkout', pause, { now: () => NOW });
    expect(kube.peek(policyRef('shop', 'checkout'))?.metadata.annotations?.[OPERATION_ANNOTATION]).toContain('id-1');
  });

  it('refuses while a recent one is unacknowledged', async () => {
    const recent = newOperation({ op: 'abort' }, 'bob', new Date(NOW.getTime() - 5_000), 'recent');
    const kube = new FakeKube(
      policyObject('checkout', 'shop', { annotations: { [OPERATION_ANNOTATION]: JSON.stringify(recent) } }),
    );
    const error = await requestOperation(kube, 'shop', 'checkout', pause, { now: () => NOW }).catch((e) => e);
    expect(error).toBeInstanceOf(OperationError);
    expect(error).toMatchObject({ code: 'operation-pending' });
    expect(error.message).toContain('operation abort (id recent) by bob');
  });

  it('gives up after repeated conflicts with the Conflict error', async () => {
    const kube = new FakeKube(policyObject('checkout', 'shop'));
    for (let i = 0; i < 3; i++) kube.failNext('mergePatch', 'Conflict');
    const error = await requestOperation(kube, 'shop', 'checkout', pause, { now: () => NOW }).catch((e) => e);
    expect(isKubeError(error, 'Conflict')).toBe(true);
  });

  it('a missing policy is release-not-found', async () => {
    await expect(requestOperation(new FakeKube(), 'shop', 'x', pause)).rejects.toMatchObject({
      code: 'release-not-found',
      message: 'CanaryPolicy shop/x not found',
    });
  });
});

describe('release views', () => {
  it('a policy with an invalid spec shows the last valid spec from the status', () => {
    const status = {
      ...runningStatus(),
      activeSpec: {
        ...(policyObject().spec as object),
        target: { deployment: 'checkout', service: 'checkout', router: 'auto' },
      },
    };
    const view = releaseViewOf(policyObject('checkout', 'shop', { spec: { target: {} }, status }), NOW);
    expect(view.spec?.deployment).toBe('checkout');
  });

  it('a policy with an invalid spec and no status has no spec summary', () => {
    const view = releaseViewOf(policyObject('checkout', 'shop', { spec: { bogus: true } }), NOW);
    expect(view.spec).toBeNull();
    expect(view.observed).toBe(false);
  });

  it('default steps and testers-first come from the engine plan', () => {
    const view = releaseViewOf(
      policyObject('checkout', 'shop', {
        spec: {
          target: { deployment: 'web', service: 'web' },
          routing: { header: { name: 'x-canary' }, testersFirst: '10m' },
        },
      }),
      NOW,
    );
    expect(view.spec?.steps.map((s) => [s.weight, s.testersOnly])).toEqual([
      [0, true],
      [1, false],
      [5, false],
      [25, false],
      [50, false],
    ]);
  });

  it('kubeReleaseReader lists one namespace or all, sorted', async () => {
    const kube = new FakeKube(policyObject('b', 'shop'), policyObject('a', 'shop'), policyObject('c', 'other'));
    const views = await kubeReleaseReader(kube, () => NOW).list('shop');
    expect(views.map((v) => v.name)).toEqual(['a', 'b']);
    expect(await kubeReleaseReader(kube, () => NOW).get('shop', 'zzz')).toBeUndefined();
  });
});
