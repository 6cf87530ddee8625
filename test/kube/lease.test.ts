// Leader election: expiry by the candidate's own clock (never the holder's renewTime against the
// local clock), and a release() that no round in flight can undo.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { KubeApi } from '../../src/kube/api.ts';
import { canAcquire, LeaderElector, observe } from '../../src/kube/lease.ts';
import type { KubeObject, ObjectRef } from '../../src/kube/objects.ts';
import { FakeKube } from '../traffic/fake-kube.ts';

const REF: ObjectRef = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: 'ns', name: 'leader' };

interface Lease extends KubeObject {
  spec: { holderIdentity?: string | null; leaseDurationSeconds?: number; renewTime?: string | null };
}

const lease = (holder: string | null, resourceVersion = '1', renewTime = '2026-01-01T00:00:00.000000Z'): Lease => ({
  ...REF,
  metadata: { name: REF.name, namespace: REF.namespace, resourceVersion },
  spec: { holderIdentity: holder, leaseDurationSeconds: 4, renewTime },
});

describe('canAcquire', () => {
  it('takes a missing, empty or own lease at once', () => {
    expect(canAcquire(null, 'a', undefined, 0)).toBe(true);
    expect(canAcquire(lease(null), 'a', undefined, 0)).toBe(true);
    expect(canAcquire(lease('a'), 'a', undefined, 0)).toBe(true);
  });

  it("takes another's lease only after it has not changed for its duration on the local clock", () => {
    const held = lease('b', '7');
    expect(canAcquire(held, 'a', undefined, 10_000)).toBe(false);
    const seen = observe(undefined, held, 10_000);
    expect(canAcquire(held, 'a', seen, 13_999)).toBe(false);
    expect(canAcquire(held, 'a', seen, 14_001)).toBe(true);
    // The same lease read again does not restart the wait; a renewal (new resourceVersion) does.
    expect(observe(seen, held, 12_000)).toBe(seen);
    const renewed = lease('b', '8');
    const seenAgain = observe(seen, renewed, 12_000);
    expect(canAcquire(renewed, 'a', seenAgain, 14_001)).toBe(false);
    expect(canAcquire(renewed, 'a', seen, 20_000)).toBe(false);
  });

  it("ignores the holder's renewTime: a holder whose clock runs behind is not taken over while it renews", () => {
    // The holder's clock is an hour behind: its fresh renewal looks an hour old to us.
    const renewed = lease('b', '9', '2026-01-01T00:00:00.000000Z');
    const now = Date.parse('2026-01-01T01:00:00Z');
    expect(canAcquire(renewed, 'a', observe(undefined, renewed, now), now + 1000)).toBe(false);
  });
});

describe('LeaderElector', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: Date.parse('2026-01-01T00:00:00Z') });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const elector = (kube: KubeApi, identity: string, events: string[]) =>
    new LeaderElector(kube, {
      namespace: 'ns',
      name: 'leader',
      identity,
      leaseDurationMs: 4000,
      onStartedLeading: () => events.push(`${identity} leads`),
      onStoppedLeading: () => events.push(`${identity} stopped`),
    });

  /** A KubeApi that a test can cut off (a SIGKILLed process: its calls never answer) or gate. */
  const wrap = (kube: KubeApi) => {
    let dead = false;
    let gate: Promise<void> | undefined;
    const never = new Promise<never>(() => {});
    const call =
      <A extends unknown[], R>(f: (...args: A) => Promise<R>) =>
      async (...args: A): Promise<R> => {
        if (dead) return never;
        if (gate) await gate;
        return f(...args);
      };
    const api: KubeApi = {
      get: call((ref) => kube.get(ref)),
      list: call((...args: Parameters<KubeApi['list']>) => kube.list(...args)),
      create: call((object) => kube.create(object)),
      mergePatch: call((ref, patch) => kube.mergePatch(ref, patch)),
      replace: call((object) => kube.replace(object)),
      delete: call((ref) => kube.delete(ref)),
    } as KubeApi;
    return {
      api,
      kill: () => {
        dead = true;
      },
      /** Holds every call until the returned function is called. */
      hold: () => {
        let open = () => {};
        gate = new Promise<void>((resolve) => {
          open = resolve;
        });
        return () => {
          gate = undefined;
          open();
        };
      },
    };
  };

  it('one of two candidates leads; the other takes over only once the silent lease has expired', async () => {
    const kube = new FakeKube();
    const events: string[] = [];
    const aKube = wrap(kube);
    const a = elector(aKube.api, 'a', events);
    a.start();
    await vi.advanceTimersByTimeAsync(0);
    const b = elector(kube, 'b', events);
    b.start();
    await vi.advanceTimersByTimeAsync(3000);
    expect(events).toEqual(['a leads']);
    expect(a.leading).toBe(true);
    expect(b.leading).toBe(false);

    // a dies without a word: b waits out the lease duration from the last change it saw.
    aKube.kill();
    const lastRenewal = Date.now();
    await vi.advanceTimersByTimeAsync(3900);
    expect(b.leading).toBe(false);
    await vi.advanceTimersByTimeAsync(4000 / 4 + 200);
    expect(b.leading).toBe(true);
    expect(events).toEqual(['a leads', 'b leads']);
    expect(Date.now() - lastRenewal).toBeLessThanOrEqual(4000 + 4000 / 4 + 200);
    expect(kube.peek<Lease>(REF)?.spec.holderIdentity).toBe('b');
    await b.release();
    expect(kube.peek<Lease>(REF)?.spec.holderIdentity ?? null).toBeNull();
  });

  it('release() gives the lease up even while a round is in flight, and that round cannot take it back', async () => {
    const kube = new FakeKube();
    const events: string[] = [];
    const wrapped = wrap(kube);
    const a = elector(wrapped.api, 'a', events);
    a.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(a.leading).toBe(true);

    // The next renewal is held at the API while SIGTERM arrives.
    const open = wrapped.hold();
    await vi.advanceTimersByTimeAsync(1000);
    const released = a.release();
    open();
    await released;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(kube.peek<Lease>(REF)?.spec.holderIdentity ?? null).toBeNull();
    expect(a.leading).toBe(false);
    expect(events).toEqual(['a leads']);
  });

  it('a candidate that is released before it ever led leaves the lease to the others', async () => {
    const kube = new FakeKube();
    const events: string[] = [];
    const wrapped = wrap(kube);
    const a = elector(wrapped.api, 'a', events);
    const open = wrapped.hold();
    a.start();
    const released = a.release();
    open();
    await released;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(kube.peek<Lease>(REF)).toBeUndefined();
    expect(events).toEqual([]);
  });
});
