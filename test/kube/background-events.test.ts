// Events are written in the background: a reconcile does not wait for them, one object's Events
// keep their order, a slow API server's backlog is bounded, and a failed Event is reported.
import { describe, expect, it } from 'vitest';
import { BackgroundEventRecorder } from '../../src/kube/background-events.ts';
import type { EventRecorder } from '../../src/kube/events.ts';
import type { ObjectRef } from '../../src/kube/objects.ts';

/** An EventRecorder whose writes finish only when the test says so. */
function slowRecorder() {
  const started: string[] = [];
  const finish: Array<(error?: Error) => void> = [];
  const recorder: EventRecorder = {
    record: (about: ObjectRef, _type, reason) =>
      new Promise<void>((resolve, reject) => {
        started.push(`${about.name}:${reason}`);
        finish.push((error) => (error ? reject(error) : resolve()));
      }),
  };
  return { recorder, started, finish };
}

const ref = (name: string): ObjectRef => ({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name });
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('BackgroundEventRecorder', () => {
  it('returns before the Event is written; drain waits for it', async () => {
    const slow = slowRecorder();
    const events = new BackgroundEventRecorder(slow.recorder);
    await events.record(ref('web'), 'Normal', 'Promoting', 'revision 2');
    expect(slow.started).toEqual(['web:Promoting']);
    let drained = false;
    const done = events.drain().then(() => {
      drained = true;
    });
    await settle();
    expect(drained).toBe(false);
    slow.finish.shift()?.();
    await done;
    expect(events.pending).toBe(0);
  });

  it("writes one object's Events in order, other objects' meanwhile", async () => {
    const slow = slowRecorder();
    const events = new BackgroundEventRecorder(slow.recorder, { concurrency: 4 });
    await events.record(ref('web'), 'Normal', 'ReleaseStarted', 'revision 2');
    await events.record(ref('web'), 'Normal', 'Promoting', 'revision 2');
    await events.record(ref('api'), 'Normal', 'ReleaseStarted', 'revision 7');
    expect(slow.started).toEqual(['web:ReleaseStarted', 'api:ReleaseStarted']);
    slow.finish.shift()?.();
    await settle();
    expect(slow.started).toEqual(['web:ReleaseStarted', 'api:ReleaseStarted', 'web:Promoting']);
  });

  it('drops what a slow API server cannot take, and reports failures without stopping', async () => {
    const slow = slowRecorder();
    const dropped: string[] = [];
    const failed: string[] = [];
    const events = new BackgroundEventRecorder(slow.recorder, {
      concurrency: 1,
      maxPending: 1,
      onDrop: (reason) => dropped.push(reason),
      onError: (error, reason) => failed.push(`${reason}: ${error.message}`),
    });
    await events.record(ref('a'), 'Normal', 'One', '');
    await events.record(ref('b'), 'Normal', 'Two', ''); // waits
    await events.record(ref('c'), 'Normal', 'Three', ''); // the backlog is full
    expect(dropped).toEqual(['Three']);
    slow.finish.shift()?.(new Error('Forbidden'));
    await settle();
    expect(failed).toEqual(['One: Forbidden']);
    expect(slow.started).toEqual(['a:One', 'b:Two']);
    slow.finish.shift()?.();
    await events.drain();
  });

  it("writes one Event at a time by default, Warnings first, each object's Events still in order", async () => {
    const slow = slowRecorder();
    const events = new BackgroundEventRecorder(slow.recorder);
    await events.record(ref('a'), 'Normal', 'Adopted', '');
    await events.record(ref('b'), 'Normal', 'Adopted', '');
    await events.record(ref('c'), 'Normal', 'ReleaseStarted', '');
    await events.record(ref('c'), 'Warning', 'RollbackStarted', ''); // after c's own Normal Event
    await events.record(ref('d'), 'Warning', 'RollbackStarted', ''); // ahead of every Normal one
    expect(slow.started).toEqual(['a:Adopted']);
    for (let i = 0; i < 4; i++) {
      slow.finish.shift()?.();
      await settle();
    }
    expect(slow.started).toEqual([
      'a:Adopted',
      'd:RollbackStarted',
      'b:Adopted',
      'c:ReleaseStarted',
      'c:RollbackStarted',
    ]);
    slow.finish.shift()?.();
    await events.drain();
  });
});
