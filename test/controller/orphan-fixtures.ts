// The orphan sweep over a FakeKube standing for the caches (test/controller/orphan*.test.ts).
import { leftBy, ownsMarked } from '../../src/controller/orphan.ts';
import { OrphanSweep } from '../../src/controller/orphan-sweep.ts';
import type { EventRecorder } from '../../src/kube/events.ts';
import { markIdentity } from '../../src/traffic/policy-mark.ts';
import type { FakeKube } from '../traffic/fake-kube.ts';
import { NS } from '../traffic/world.ts';

const nameOf = (key: string) => key.slice(key.indexOf('/') + 1);

export const policyRefOf = (name: string) => ({
  apiVersion: 'canaryd.dev/v1alpha1',
  kind: 'CanaryPolicy',
  namespace: NS,
  name,
});

/**
 * The sweep over a FakeKube standing for the caches; `others` ("namespace/name") exist on the API
 * server (other shards), each with uid `uid-<name>` as policy() in the tests makes them.
 */
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
        return left !== undefined && (owner === undefined || left.policy === owner);
      }),
    holds: async (mark) => {
      const held = kube.peek(policyRefOf(nameOf(mark.policy)));
      return held !== undefined && ownsMarked(held, mark);
    },
    existing: async (marks) => {
      asked.push(marks.map(markIdentity));
      const exist = marks.filter(
        (m) => others.includes(m.policy) && (m.uid === undefined || m.uid === `uid-${nameOf(m.policy)}`),
      );
      return new Set(exist.map(markIdentity));
    },
    events: recorder,
    log: { info: () => {}, warn: () => {}, error: () => {} },
    now,
  });
  return { sweep, events, messages, asked };
}
