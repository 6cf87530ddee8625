// The orphan sweep over a FakeKube standing for the caches (test/controller/orphan*.test.ts).
import { leftBy } from '../../src/controller/orphan.ts';
import { OrphanSweep } from '../../src/controller/orphan-sweep.ts';
import type { EventRecorder } from '../../src/kube/events.ts';
import type { FakeKube } from '../traffic/fake-kube.ts';
import { NS } from '../traffic/world.ts';

export const policyRefOf = (name: string) => ({
  apiVersion: 'canaryd.dev/v1alpha1',
  kind: 'CanaryPolicy',
  namespace: NS,
  name,
});

/** The sweep over a FakeKube standing for the caches; `others` exist on the API server (other shards). */
export function sweepOver(kube: FakeKube, others: string[] = [], now: () => number = () => 0) {
  const events: Array<{ name: string; type: string; reason: string }> = [];
  const messages: string[] = [];
  const asked: string[][] = [];
  const recorder: EventRecorder = {
    record: async (about, type, reason, message) => {
      events.push({ name: `${about.kind}/${about.name}`, type, reason });
      messages.push(message);
    },
  };
  const sweep = new OrphanSweep({
    kube,
    marked: async (owner) =>
      kube.all().filter((object) => {
        const left = leftBy(object);
        return left !== undefined && (owner === undefined || left === owner);
      }),
    holds: async (key) => kube.peek(policyRefOf(key.slice(key.indexOf('/') + 1))) !== undefined,
    existing: async (keys) => {
      asked.push(keys);
      return new Set(keys.filter((key) => others.includes(key)));
    },
    events: recorder,
    log: { info: () => {}, warn: () => {}, error: () => {} },
    now,
  });
  return { sweep, events, messages, asked };
}
