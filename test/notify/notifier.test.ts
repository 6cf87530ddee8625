// The notifier: a policy's receivers and events (or the settings' defaults), a Warning Event for
// an unknown receiver and for one that keeps failing, and notify() returning at once.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decide } from '../../src/engine/index.ts';
import type { EventRecorder } from '../../src/kube/events.ts';
import type { Transition } from '../../src/notify/derive.ts';
import { Notifier } from '../../src/notify/notifier.ts';
import { selectionFor } from '../../src/notify/selection.ts';
import { notificationSettings } from '../../src/settings/notifications.ts';
import { adoptedState, deployment, iso, observed, policy } from '../engine/fixtures.ts';

let server: Server;
let base = '';
const bodies: Array<{ path: string; type: string }> = [];
let status = 200;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString('utf8');
    });
    req.on('end', () => {
      bodies.push({ path: req.url ?? '', type: (JSON.parse(body) as { type: string }).type });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => server.close());

const ref = (key: string) => ({ secretKeyRef: { namespace: 'canaryd-system', name: 'notify', key } });
const settings = notificationSettings.parse({
  receivers: [
    { name: 'a', type: 'webhook', url: ref('a'), failuresBeforeWarning: 2, deadline: '1s' },
    { name: 'b', type: 'webhook', url: ref('b') },
  ],
  defaults: { receivers: ['a'], events: ['started'] },
});

function recorder() {
  const recorded: Array<{ reason: string; message: string; name: string }> = [];
  const events: EventRecorder = {
    record: async (about, _type, reason, message) => {
      recorded.push({ reason, message, name: about.name });
    },
  };
  return { recorded, events };
}

const startTransition = (spec: Parameters<typeof policy>[0] = {}): Transition => {
  const thePolicy = policy(spec);
  const before = decide(thePolicy, adoptedState(), observed(), new Date(iso(0))).next;
  const { next, actions } = decide(thePolicy, before, observed({ deployment: deployment('v2') }), new Date(iso(1000)));
  return { policy: thePolicy, before, after: next, actions, at: iso(1000) };
};

function notifier(events: EventRecorder) {
  return new Notifier(settings, {
    secrets: { value: async (r) => `${base}/${r.key}` },
    events,
    log: { info: () => undefined, warn: () => undefined },
    backoff: { initialMs: 20, factor: 2, maxMs: 100 },
  });
}

describe('Notifier', () => {
  it("uses the settings' defaults, or the policy's own receivers and events", async () => {
    expect(selectionFor({ policy: policy() }, settings)).toEqual({ receivers: ['a'], events: ['started'] });
    expect(selectionFor({ policy: policy({ notifications: { receivers: ['b'] } }) }, settings)).toEqual({
      receivers: ['b'],
      events: ['started'],
    });
    bodies.length = 0;
    status = 200;
    const { events } = recorder();
    const n = notifier(events);
    n.notify(startTransition({ notifications: { receivers: ['a', 'b'] } }));
    n.notify(startTransition({ notifications: { receivers: ['b'], events: ['rolledBack'] } })); // not selected
    n.notify(startTransition({ notifications: { receivers: [] } })); // turned off
    await n.idle();
    expect(bodies.sort((x, y) => x.path.localeCompare(y.path))).toEqual([
      { path: '/a', type: 'started' },
      { path: '/b', type: 'started' },
    ]);
    await n.stop();
  });

  it('reports an unknown receiver once, as a Warning Event on the policy', async () => {
    const { recorded, events } = recorder();
    const n = notifier(events);
    n.notify(startTransition({ notifications: { receivers: ['pager'] } }));
    n.notify(startTransition({ notifications: { receivers: ['pager'] } }));
    await n.idle();
    expect(recorded).toEqual([
      {
        name: 'web',
        reason: 'NotificationReceiverUnknown',
        message: expect.stringContaining('no receiver "pager"'),
      },
    ]);
    await n.stop();
  });

  it('a receiver that keeps failing gets a Warning Event; notify() returns at once', async () => {
    status = 500;
    const { recorded, events } = recorder();
    const n = notifier(events);
    n.notify(startTransition());
    expect(recorded).toEqual([]); // returned before any attempt was answered
    await n.idle();
    expect(recorded.map((r) => r.reason)).toEqual(['NotificationsFailing']);
    expect(recorded[0]?.message).toContain(
      'receiver a (webhook) failed 2 delivery attempts in a row, the last: HTTP 500',
    );
    await n.stop();
  });
});
