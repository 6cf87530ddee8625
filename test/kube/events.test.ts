// Events aggregate like client-go's recorder: the same object, type, reason and message again
// bumps count and lastTimestamp on the one Event instead of creating another.
import { describe, expect, it } from 'vitest';
import { KubeEventRecorder } from '../../src/kube/events.ts';
import type { KubeObject } from '../../src/kube/objects.ts';
import { FakeKube } from '../traffic/fake-kube.ts';

const about = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'web', uid: 'u1' };

describe('KubeEventRecorder', () => {
  it('counts a repeated Event on the first one, and records a different one anew', async () => {
    const kube = new FakeKube();
    const recorder = new KubeEventRecorder(kube);
    await recorder.record(about, 'Warning', 'ActionFailed', 'setWeight: connection refused');
    await recorder.record(about, 'Warning', 'ActionFailed', 'setWeight: connection refused');
    await recorder.record(about, 'Warning', 'ActionFailed', 'setWeight: connection refused');
    await recorder.record(about, 'Normal', 'StepStarted', 'step 1/3: weight 10 %');
    const events = await kube.list<KubeObject & { count?: number; reason?: string }>('v1', 'Event', 'shop');
    expect(events.map((e) => [e.reason, e.count])).toEqual([
      ['ActionFailed', 3],
      ['StepStarted', 1],
    ]);
    expect(kube.calls.filter((c) => c.verb === 'create')).toHaveLength(2);
  });

  it('records anew when the Event it counted on has expired', async () => {
    const kube = new FakeKube();
    const recorder = new KubeEventRecorder(kube);
    await recorder.record(about, 'Normal', 'Paused', 'paused by alice');
    const [first] = await kube.list('v1', 'Event', 'shop');
    await kube.delete({ apiVersion: 'v1', kind: 'Event', namespace: 'shop', name: first!.metadata.name });
    await recorder.record(about, 'Normal', 'Paused', 'paused by alice');
    const events = await kube.list<KubeObject & { count?: number }>('v1', 'Event', 'shop');
    expect(events.map((e) => e.count)).toEqual([1]);
  });
});
