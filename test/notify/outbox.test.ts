// The outbox: notifications still owed survive a restart (a new Notifier on the same store sends
// them, with the same id, so a receiver deduplicating on the Idempotency-Key gets each once);
// writes are coalesced, bounded in size, retried, and stop when another canaryd took over.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decide } from '../../src/engine/index.ts';
import type { Transition } from '../../src/notify/derive.ts';
import type { Notification } from '../../src/notify/events.ts';
import { Notifier } from '../../src/notify/notifier.ts';
import { Outbox, type OutboxStore } from '../../src/notify/outbox.ts';
import { boundedOutbox, parseOutbox } from '../../src/notify/outbox-format.ts';
import { notificationSettings } from '../../src/settings/notifications.ts';
import { adoptedState, deployment, iso, observed, policy } from '../engine/fixtures.ts';
import { memoryStore, quiet, until } from './fakes.ts';

let server: Server;
let base = '';
let closedUrl = '';
const received: Array<{ key: string; type: string }> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString('utf8');
    });
    req.on('end', () => {
      received.push({ key: String(req.headers['idempotency-key']), type: (JSON.parse(body) as { type: string }).type });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  closedUrl = `http://127.0.0.1:${(probe.address() as AddressInfo).port}/audit`;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
});
afterAll(() => server.close());

const ref = { secretKeyRef: { namespace: 'canaryd-system', name: 'notify', key: 'audit' } };
const settings = notificationSettings.parse({
  receivers: [{ name: 'audit', type: 'webhook', url: ref, deadline: '10m', initialBackoff: '50ms' }],
  defaults: { receivers: ['audit'], events: ['started'] },
});

function notifierOn(store: OutboxStore, receiverUrl = () => `${base}/audit`) {
  const outbox = new Outbox({ store, log: quiet, coalesceMs: 10, retryMs: 10 });
  const notifier = new Notifier(settings, {
    secrets: { value: async () => receiverUrl() },
    events: { record: async () => undefined },
    log: quiet,
    outbox,
    backoff: { initialMs: 50, factor: 1, maxMs: 50 },
  });
  return { outbox, notifier };
}

const started = (): Transition => {
  const thePolicy = policy();
  const before = decide(thePolicy, adoptedState(), observed(), new Date(iso(0))).next;
  const { next, actions } = decide(thePolicy, before, observed({ deployment: deployment('v2') }), new Date(iso(1000)));
  return { policy: thePolicy, before, after: next, actions, at: iso(1000) };
};

const owedIn = (store: { text: string | undefined }) => parseOutbox(store.text ?? '[]', 'memory').entries;

describe('the notification outbox', () => {
  it('a notification owed when canaryd stops is sent by the next one, once by its idempotency key', async () => {
    const store = memoryStore();
    received.length = 0;
    const first = notifierOn(store, () => closedUrl); // the receiver is down: nothing listens
    first.notifier.notify(started());
    await until(() => owedIn(store).length === 1, 'the outbox to hold the notification');
    const [entry] = owedIn(store);
    expect(entry?.notification.type).toBe('started');
    expect(Object.keys(entry?.owed ?? {})).toEqual(['audit']);
    await first.notifier.stop();

    // The receiver is back, and a new canaryd starts.
    const second = notifierOn(store);
    expect(await second.notifier.restore()).toBe(1);
    second.notifier.notify(started()); // its own first reconcile derives the same transition again
    await second.notifier.idle();
    expect(received).toEqual([{ key: entry?.notification.id, type: 'started' }]);
    await until(() => owedIn(store).length === 0, 'the outbox to be emptied');
    await second.notifier.stop();
  });

  it('coalesces a burst of changes into few writes, and keeps retrying a write that failed', async () => {
    const store = memoryStore();
    store.fail = 2;
    const outbox = new Outbox({ store, log: quiet, coalesceMs: 20, retryMs: 5 });
    const note = (id: string) => ({ id, type: 'started', policy: { namespace: 'shop', name: 'web' } }) as Notification;
    for (let i = 0; i < 50; i++) outbox.owe(note(`n${i}`), 'audit', i);
    for (let i = 0; i < 25; i++) outbox.settle(`n${i}`, 'audit');
    await until(() => store.writes > 0 && owedIn(store).length === 25, 'the outbox written');
    expect(store.writes).toBe(1);
    expect(owedIn(store).map((e) => e.notification.id)).toEqual(Array.from({ length: 25 }, (_, i) => `n${i + 25}`));
  });

  it('stops writing once another canaryd wrote it (a lost lease), so it never overwrites the new leader', async () => {
    const store = memoryStore();
    const outbox = new Outbox({ store, log: quiet, coalesceMs: 1 });
    store.taken = true;
    outbox.owe({ id: 'a', type: 'started' } as Notification, 'audit', 0);
    await outbox.flush(500);
    store.taken = false;
    outbox.owe({ id: 'b', type: 'started' } as Notification, 'audit', 0);
    await outbox.flush(100);
    expect(store.writes).toBe(0);
  });

  it('keeps within its size: the oldest entries are left out first, the records are kept', () => {
    const entry = (id: string) => ({
      notification: { id, type: 'started', policy: {}, summary: 'x'.repeat(100) } as unknown as Notification,
      owed: { audit: 1 },
    });
    const entries = Array.from({ length: 10 }, (_, i) => entry(`n${i}`));
    const recorded = new Map([['audit/n0', 1]]);
    const empty = Buffer.byteLength(boundedOutbox([], recorded).text);
    const one = Buffer.byteLength(JSON.stringify(entries[0])) + 1;
    const { text, left } = boundedOutbox(entries, recorded, empty + 4 * one);
    expect(left.map((e) => e.notification.id)).toEqual(['n0', 'n1', 'n2', 'n3', 'n4', 'n5']);
    const saved = parseOutbox(text, 'memory');
    expect(saved.entries.map((e) => e.notification.id)).toEqual(['n6', 'n7', 'n8', 'n9']);
    expect([...saved.recorded]).toEqual([['audit/n0', 1]]);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(empty + 4 * one);
  });

  it('an unreadable outbox is reported and left out; canaryd starts anyway', () => {
    const warned: string[] = [];
    const log = { warn: (message: string) => warned.push(message) };
    expect(parseOutbox('{not json', 'ConfigMap x/y', log).entries).toEqual([]);
    expect(parseOutbox('[{"owed": {}}]', 'ConfigMap x/y', log).entries).toEqual([]);
    expect(warned).toEqual([
      'notification outbox is not JSON; starting without it',
      'notification outbox entry unreadable; left out',
    ]);
  });

  it('a notification owed to a receiver no longer in the settings is dropped from the outbox', async () => {
    const store = memoryStore();
    const note = { id: 'gone', type: 'started', policy: { namespace: 'shop', name: 'web' } };
    store.text = JSON.stringify([{ notification: note, owed: { pager: Date.now() } }]);
    const { notifier, outbox } = notifierOn(store);
    expect(await notifier.restore()).toBe(0);
    expect(outbox.owes('gone', 'pager')).toBe(false);
    await notifier.stop();
    expect(owedIn(store)).toEqual([]);
  });

  it('a notification owed for longer than its deadline when canaryd starts is dropped, not sent', async () => {
    const store = memoryStore();
    const stale = { id: 'old', type: 'started', policy: { namespace: 'shop', name: 'web' } };
    store.text = JSON.stringify([{ notification: stale, owed: { audit: Date.now() - 11 * 60_000 } }]);
    const { notifier, outbox } = notifierOn(store);
    expect(await notifier.restore()).toBe(0);
    expect(outbox.size).toBe(0);
    await notifier.stop();
  });
});
