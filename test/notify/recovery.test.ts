// The outbox's crash window (issue 15): the controller persists a decision, then acts, then hands
// its notifications to the queues and the outbox. A canaryd killed in between restarts past the
// decision; the notifications the decision wrote into the policy status are sent by the restarted
// one — exactly those no outbox ever got, each once, and nothing after a clean stop or a delivery.
// A real reconciler runs a release on the fake cluster; the receiver is a webhook on loopback.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnalysisRunner } from '../../src/controller/analysis-runner.ts';
import type { PolicyObject } from '../../src/controller/deps.ts';
import { reconcile } from '../../src/controller/reconciler.ts';
import { policyOnRecord } from '../../src/controller/status.ts';
import { KubeEventRecorder } from '../../src/kube/events.ts';
import type { Deployment, KubeObject } from '../../src/kube/objects.ts';
import { deriveNotifications, type Transition } from '../../src/notify/derive.ts';
import type { Notification } from '../../src/notify/events.ts';
import { Notifier } from '../../src/notify/notifier.ts';
import { Outbox, type OutboxStore } from '../../src/notify/outbox.ts';
import { parseOutbox } from '../../src/notify/outbox-format.ts';
import { afterDecision, missedNotifications, RECENT_WINDOW_MS } from '../../src/notify/recovery.ts';
import { notificationSettings } from '../../src/settings/notifications.ts';
import { ReplicaRatioRouter } from '../../src/traffic/replica-ratio.ts';
import { rollAll } from '../controller/reconcile-fixtures.ts';
import { NS, World } from '../traffic/world.ts';
import { memoryStore, quiet, startReceiver, until } from './fakes.ts';

let receiver: Awaited<ReturnType<typeof startReceiver>>;
beforeAll(async () => {
  receiver = await startReceiver();
});
afterAll(() => receiver.close());

const settings = notificationSettings.parse({
  receivers: [
    {
      name: 'audit',
      type: 'webhook',
      url: { secretKeyRef: { namespace: 'canaryd-system', name: 'notify', key: 'audit' } },
      initialBackoff: '50ms',
    },
  ],
  defaults: { receivers: ['audit'] },
});

/** One canaryd's notifier with its outbox on `store`. */
function canarydOn(store: OutboxStore) {
  const outbox = new Outbox({ store, log: quiet, coalesceMs: 10, retryMs: 10 });
  const notifier = new Notifier(settings, {
    secrets: { value: async () => receiver.url('/audit') },
    events: { record: async () => undefined },
    log: quiet,
    outbox,
    backoff: { initialMs: 50, factor: 1, maxMs: 50 },
  });
  return { outbox, notifier };
}

const policyRef = { apiVersion: 'canaryd.dev/v1alpha1', kind: 'CanaryPolicy', namespace: NS, name: 'web' };
const deploymentRef = (name: string) => ({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name });

/**
 * A replica-ratio release of a new template on the fake cluster, reconciled by the real
 * reconciler until its first step holds: two decisions with notifications, `started` and
 * `stepAdvanced` (the latter with the share measured when the weight was set). `notify` is what
 * the controller hands them to after each decision's actions.
 */
async function releaseToFirstStep(notify: (transition: Transition) => void) {
  const world = new World({ ingresses: [] });
  const kube = Object.assign(world.kube, {
    replaceStatus: <T extends KubeObject>(object: T) => world.kube.replace(object),
  });
  kube.seed({
    apiVersion: policyRef.apiVersion,
    kind: policyRef.kind,
    metadata: { name: 'web', namespace: NS },
    spec: {
      target: { deployment: 'web', service: 'web', router: 'replica-ratio' },
      strategy: { steps: [{ weight: 25, hold: '1h' }], allowLargeFirstStep: true },
    },
  } as PolicyObject);
  const rolled = () => rollAll(world);
  let now = Date.now();
  const deps = {
    kube,
    events: new KubeEventRecorder(kube),
    router: () => new ReplicaRatioRouter(kube),
    analysis: {} as AnalysisRunner,
    now: () => new Date(now),
    log: { info() {}, warn() {}, error() {} },
    notify,
    notificationsInStatus: true,
  };
  const pass = async () => {
    await reconcile(deps, NS, 'web');
    rolled();
    now += 1000;
  };
  rolled();
  await pass(); // adopted
  kube.mutate<Deployment>(deploymentRef('web'), (d) => {
    d.spec.template.spec.containers[0]!.image = 'shop/web:2.1.0';
  });
  await pass(); // started
  await pass(); // step 1 at 25 %
  const policy = () => kube.peek<PolicyObject>(policyRef)!;
  const inStatus = () => (policy().status as { notifications?: Notification[] }).notifications ?? [];
  return { policy, inStatus };
}

const deliveredKeys = () => receiver.received.map((d) => d.key).sort();

describe('a crash between a decision and its outbox write (issue 15)', () => {
  it('each decision writes its notifications into the status it persists, with the ids derived after its actions', async () => {
    const handed: Transition[] = [];
    const { inStatus } = await releaseToFirstStep((transition) => handed.push(transition));
    const afterActions = handed.flatMap((transition) => deriveNotifications(transition));
    expect(inStatus().map((n) => n.type)).toEqual(['started', 'stepAdvanced']);
    expect(inStatus().map((n) => n.id)).toEqual(afterActions.map((n) => n.id));
    // The share is measured when the weight is set, after the status write: only the handed one has it.
    expect(afterActions.find((n) => n.type === 'stepAdvanced')?.details.measuredShare).toBe(25);
    expect(inStatus().find((n) => n.type === 'stepAdvanced')?.details.measuredShare).toBeUndefined();
  });

  it('killed after the status writes, before any outbox write: the restarted canaryd sends exactly those, once', async () => {
    receiver.received.length = 0;
    // The process dies after each status write: nothing reaches the queues or the outbox.
    const { policy, inStatus } = await releaseToFirstStep(() => undefined);
    const store = memoryStore();

    const restarted = canarydOn(store);
    expect(await restarted.notifier.restore([policyOnRecord(policy())])).toBe(2);
    await restarted.notifier.idle();
    expect(receiver.received.map((d) => d.type).sort()).toEqual(['started', 'stepAdvanced']);
    expect(deliveredKeys()).toEqual(
      inStatus()
        .map((n) => n.id)
        .sort(),
    );
    await restarted.notifier.stop();

    // And once only: the canaryd after it (a clean stop in between) finds them recorded.
    const third = canarydOn(store);
    expect(await third.notifier.restore([policyOnRecord(policy())])).toBe(0);
    await third.notifier.idle();
    expect(receiver.received).toHaveLength(2);
    await third.notifier.stop();
  });

  it('after a clean stop nothing is sent again', async () => {
    receiver.received.length = 0;
    const store = memoryStore();
    const first = canarydOn(store);
    const { policy } = await releaseToFirstStep((transition) => first.notifier.notify(transition));
    await first.notifier.idle();
    await first.notifier.stop();
    expect(receiver.received.map((d) => d.type).sort()).toEqual(['started', 'stepAdvanced']);

    const restarted = canarydOn(store);
    expect(await restarted.notifier.restore([policyOnRecord(policy())])).toBe(0);
    await restarted.notifier.idle();
    expect(receiver.received).toHaveLength(2);
    await restarted.notifier.stop();
  });

  it('delivered before the crash (recorded, no longer owed): not sent again', async () => {
    receiver.received.length = 0;
    const store = memoryStore();
    const first = canarydOn(store);
    const { policy, inStatus } = await releaseToFirstStep((transition) => first.notifier.notify(transition));
    await first.notifier.idle();
    const ids = inStatus().map((n) => n.id);
    await until(() => {
      const saved = parseOutbox(store.text ?? '[]', 'memory');
      return saved.entries.length === 0 && ids.every((id) => saved.recorded.has(`audit/${id}`));
    }, 'the outbox to record both as handed and owe neither');
    // Killed here: no stop, no flush.

    const restarted = canarydOn(store);
    expect(await restarted.notifier.restore([policyOnRecord(policy())])).toBe(0);
    await restarted.notifier.idle();
    expect(deliveredKeys()).toEqual([...ids].sort());
    await restarted.notifier.stop();
    await first.notifier.stop({ keepOutbox: false });
  });

  it('still owed (the receiver was down): queued from the outbox once, not a second time from the status', async () => {
    receiver.received.length = 0;
    receiver.answer = 503;
    const store = memoryStore();
    const first = canarydOn(store);
    const { policy, inStatus } = await releaseToFirstStep((transition) => first.notifier.notify(transition));
    await until(() => receiver.received.length >= 2, 'both to be tried');
    await first.notifier.stop();
    expect(parseOutbox(store.text ?? '[]', 'memory').entries).toHaveLength(2);

    receiver.answer = 200;
    receiver.received.length = 0;
    const restarted = canarydOn(store);
    expect(await restarted.notifier.restore([policyOnRecord(policy())])).toBe(2);
    await restarted.notifier.idle();
    expect(deliveredKeys()).toEqual(
      inStatus()
        .map((n) => n.id)
        .sort(),
    );
    await restarted.notifier.stop();
  });

  it('an outbox saved before issue 15 (a plain list) loads: what it owes is queued, and the rest recovered', async () => {
    receiver.received.length = 0;
    const { policy, inStatus } = await releaseToFirstStep(() => undefined);
    const [started, stepAdvanced] = inStatus();
    const store = memoryStore();
    store.text = JSON.stringify([{ notification: started, owed: { audit: Date.now() } }]);

    const restarted = canarydOn(store);
    expect(await restarted.notifier.restore([policyOnRecord(policy())])).toBe(2);
    await restarted.notifier.idle();
    expect(deliveredKeys()).toEqual([started!.id, stepAdvanced!.id].sort());
    await restarted.notifier.stop();
    const saved = parseOutbox(store.text, 'memory');
    expect(saved.entries).toEqual([]);
    expect([...saved.recorded.keys()].sort()).toEqual([`audit/${started!.id}`, `audit/${stepAdvanced!.id}`].sort());
  });
});

describe('what the status keeps and what is recovered', () => {
  const at = Date.parse('2026-12-02T06:00:00Z');
  const note = (id: string, ageMs: number, type: Notification['type'] = 'started') =>
    ({ id, type, time: new Date(at - ageMs).toISOString(), policy: { namespace: NS, name: 'web' } }) as Notification;

  it("a decision's notifications follow the earlier ones still young, at most 5 in all; none derived: unchanged", () => {
    const earlier = [note('old', RECENT_WINDOW_MS + 1), note('a', 4000), note('b', 3000), note('c', 2000)];
    const ids = (list: Notification[] | undefined) => list?.map((n) => n.id);
    expect(ids(afterDecision(earlier, [note('d', 0)], new Date(at)))).toEqual(['a', 'b', 'c', 'd']);
    expect(ids(afterDecision(earlier, [note('d', 0), note('e', 0), note('f', 0)], new Date(at)))).toEqual([
      'b',
      'c',
      'd',
      'e',
      'f',
    ]);
    expect(ids(afterDecision(undefined, [note('d', 0)], new Date(at)))).toEqual(['d']);
    // A reconcile that decided nothing writes nothing: the list is left as it was (aged ones too).
    expect(ids(afterDecision(earlier, [], new Date(at)))).toEqual(['old', 'a', 'b', 'c']);
    // A decision's own are never cut.
    const many = ['p', 'q', 'r', 's', 't', 'u'].map((id) => note(id, 0));
    expect(ids(afterDecision(earlier, many, new Date(at)))).toEqual(['p', 'q', 'r', 's', 't', 'u']);
    expect(afterDecision(undefined, [], new Date(at))).toBeUndefined();
    // The same decision derived again (a conflict, a repeated pass) is kept once.
    expect(ids(afterDecision([note('d', 0)], [note('d', 0)], new Date(at)))).toEqual(['d']);
  });

  it("only young ones, to the receivers the policy's selection picks, that the outbox never had", () => {
    const policies = [
      {
        policy: 'shop/web',
        notifications: undefined,
        recent: [note('aged', RECENT_WINDOW_MS + 1), note('handed', 1000), note('lost', 500), { id: 3 }],
      },
      { policy: 'shop/quiet', notifications: { receivers: [] }, recent: [note('off', 100)] },
    ];
    const { missed, unreadable } = missedNotifications(
      policies,
      (spec, type) => (type === 'started' ? (spec?.receivers ?? ['audit', 'chat']) : []),
      (id, receiver) => id === 'handed' || (id === 'lost' && receiver === 'chat'),
      at,
    );
    expect(missed.map((m) => `${m.receiver} ${m.notification.id}`)).toEqual(['audit lost']);
    expect(missed[0]?.at).toBe(at - 500);
    expect(unreadable).toEqual(['shop/web']);
  });
});
