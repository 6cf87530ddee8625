// One delivery attempt against a real HTTP server on loopback: bodies per receiver type, the
// documented schema, the signature a receiver verifies, the idempotency key, and what each
// answer means (2xx sent, 5xx/timeout retried, 4xx/3xx refused).
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SecretKeyRef, SecretSource } from '../../src/kube/secrets.ts';
import type { Notification } from '../../src/notify/events.ts';
import { cloudEventSchema, webhookBodySchema } from '../../src/notify/schema.ts';
import { outcomeOf, sendOnce } from '../../src/notify/send.ts';
import { signature, verifySignature } from '../../src/notify/sign.ts';
import { receiverSettings } from '../../src/settings/notifications.ts';

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
}

let server: Server;
let base = '';
const received: Received[] = [];
let answer: (res: import('node:http').ServerResponse) => void = (res) => res.end();

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      answer(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

const secrets = (values: Record<string, string>): SecretSource => ({
  value: async (ref: SecretKeyRef) => {
    const value = values[`${ref.name}/${ref.key}`];
    if (value === undefined) throw new Error(`Secret ${ref.namespace}/${ref.name} has no key ${ref.key}`);
    return value;
  },
});

const ref = (name: string, key: string) => ({ secretKeyRef: { namespace: 'canaryd-system', name, key } });

const rolledBack: Notification = {
  id: '0f6c1a2b-3c4d-5e6f-7a8b-9c0d1e2f3a4b',
  type: 'rolledBack',
  time: '2026-03-02T10:01:01.000Z',
  policy: { namespace: 'shop', name: 'web' },
  deployment: 'web',
  release: {
    revision: 2,
    changeCause: 'image app:v2',
    templateHash: 'v2',
    phase: 'rollingBack',
    step: 1,
    steps: 3,
    weight: 1,
  },
  summary: 'shop/web revision 2: rolling back: analysis: errors: value 0.9 below min 0.99',
  details: {
    reason: 'analysis: errors: value 0.9 below min 0.99',
    checks: [
      { check: 'errors', verdict: 'fail', value: 0.9, thresholds: { min: 0.99 }, reason: 'value 0.9 below min 0.99' },
    ],
  },
};

const stop = new AbortController().signal;

/** A loopback port nothing listens on (taken, then released). */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

describe('sendOnce', () => {
  it('webhook: the canaryd.dev/v1 body, signed, with the idempotency key', async () => {
    received.length = 0;
    answer = (res) => res.writeHead(204).end();
    const receiver = receiverSettings.parse({
      name: 'audit',
      type: 'webhook',
      url: ref('hooks', 'audit-url'),
      signingSecret: ref('hooks', 'audit-key'),
    });
    const result = await sendOnce(
      receiver,
      rolledBack,
      { secrets: secrets({ 'hooks/audit-url': `${base}/audit`, 'hooks/audit-key': 's3cret' }) },
      stop,
    );
    expect(result).toEqual({ ok: true });
    const [request] = received;
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.headers['idempotency-key']).toBe(rolledBack.id);
    expect(request?.headers['x-canaryd-event']).toBe('rolledBack');
    const body = webhookBodySchema.parse(JSON.parse(request!.body));
    expect(body).toMatchObject({ schemaVersion: 'canaryd.dev/v1', id: rolledBack.id, type: 'rolledBack' });
    expect(body.details.checks?.[0]).toMatchObject({ value: 0.9, thresholds: { min: 0.99 } });
    const header = request?.headers['x-canaryd-signature'] as string;
    expect(verifySignature('s3cret', request!.body, header, Math.floor(Date.now() / 1000))).toMatchObject({ ok: true });
    expect(verifySignature('wrong', request!.body, header, Math.floor(Date.now() / 1000))).toMatchObject({ ok: false });
    expect(verifySignature('s3cret', `${request!.body} `, header, Math.floor(Date.now() / 1000))).toMatchObject({
      ok: false,
    });
  });

  it('webhook as a CloudEvent: structured mode, application/cloudevents+json, the body as data', async () => {
    received.length = 0;
    answer = (res) => res.writeHead(200).end('ok');
    const receiver = receiverSettings.parse({
      name: 'ce',
      type: 'webhook',
      url: ref('hooks', 'url'),
      cloudEvents: true,
    });
    expect(await sendOnce(receiver, rolledBack, { secrets: secrets({ 'hooks/url': base }) }, stop)).toEqual({
      ok: true,
    });
    expect(received[0]?.headers['content-type']).toBe('application/cloudevents+json');
    const event = cloudEventSchema.parse(JSON.parse(received[0]!.body));
    expect(event).toMatchObject({
      specversion: '1.0',
      id: rolledBack.id,
      type: 'dev.canaryd.release.rolledBack',
      source: '/apis/canaryd.dev/v1alpha1/namespaces/shop/canarypolicies/web',
      subject: 'web/revision/2',
    });
    expect(received[0]?.headers['x-canaryd-signature']).toBeUndefined(); // no signing key configured
  });

  it('Slack and Teams get their own payloads', async () => {
    received.length = 0;
    answer = (res) => res.writeHead(200).end();
    for (const type of ['slack', 'teams'] as const) {
      const receiver = receiverSettings.parse({ name: type, type, url: ref('chat', type) });
      await sendOnce(receiver, rolledBack, { secrets: secrets({ [`chat/${type}`]: `${base}/${type}` }) }, stop);
    }
    const slack = JSON.parse(received[0]!.body);
    expect(slack.text).toContain('Rolling back');
    expect(JSON.stringify(slack.blocks)).toContain('value 0.9 vs min 0.99');
    const teams = JSON.parse(received[1]!.body);
    expect(teams.type).toBe('message');
    const card = teams.attachments[0];
    expect(card.contentType).toBe('application/vnd.microsoft.card.adaptive');
    expect(card.content.type).toBe('AdaptiveCard');
    expect(card.content.body.find((b: { type: string }) => b.type === 'FactSet').facts).toContainEqual({
      title: 'Check errors',
      value: 'fail: value 0.9 vs min 0.99',
    });
  });

  it('a receiver that does not answer in time is retried later; 5xx retried; 4xx refused', async () => {
    const receiver = receiverSettings.parse({
      name: 'slow',
      type: 'webhook',
      url: ref('hooks', 'url'),
      timeout: '200ms',
    });
    const deps = { secrets: secrets({ 'hooks/url': base }) };
    answer = () => undefined; // hangs
    const started = performance.now();
    expect(await sendOnce(receiver, rolledBack, deps, stop)).toEqual({
      ok: false,
      retry: true,
      reason: 'no answer within 200ms',
    });
    expect(performance.now() - started).toBeLessThan(5000); // the receiver never answers: only the timeout ends it
    // The machine may be busy: the answered cases get a timeout that only a hang reaches.
    const patient = receiverSettings.parse({
      name: 'patient',
      type: 'webhook',
      url: ref('hooks', 'url'),
      timeout: '10s',
    });
    answer = (res) => res.writeHead(503, { 'retry-after': '3' }).end();
    expect(await sendOnce(patient, rolledBack, deps, stop)).toEqual({
      ok: false,
      retry: true,
      reason: 'HTTP 503',
      retryAfterMs: 3000,
    });
    answer = (res) => res.writeHead(404).end();
    expect(await sendOnce(patient, rolledBack, deps, stop)).toMatchObject({ ok: false, retry: false });
    answer = (res) => res.writeHead(302, { location: 'http://127.0.0.1:1/elsewhere' }).end();
    expect(await sendOnce(patient, rolledBack, deps, stop)).toMatchObject({
      ok: false,
      retry: false,
      reason: 'HTTP 302',
    });
  });

  it('a missing Secret or a refused connection is retried, naming what is wrong', async () => {
    const receiver = receiverSettings.parse({ name: 'x', type: 'slack', url: ref('chat', 'missing') });
    expect(await sendOnce(receiver, rolledBack, { secrets: secrets({}) }, stop)).toEqual({
      ok: false,
      retry: true,
      reason: 'Secret canaryd-system/chat has no key missing',
    });
    const closed = receiverSettings.parse({ name: 'y', type: 'slack', url: ref('chat', 'down') });
    const down = await closedPort();
    const result = await sendOnce(
      closed,
      rolledBack,
      { secrets: secrets({ 'chat/down': `http://127.0.0.1:${down}/` }) },
      stop,
    );
    expect(result).toMatchObject({ ok: false, retry: true });
    expect((result as { reason: string }).reason).toContain('ECONNREFUSED');
  });
});

describe('signatures', () => {
  it('are t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">, refused outside the tolerance', () => {
    const header = signature('key', '{"a":1}', 1_700_000_000);
    expect(header).toMatch(/^t=1700000000,v1=[0-9a-f]{64}$/);
    expect(verifySignature('key', '{"a":1}', header, 1_700_000_100)).toEqual({ ok: true, timestamp: 1_700_000_000 });
    expect(verifySignature('key', '{"a":1}', header, 1_700_001_000)).toMatchObject({ ok: false });
    expect(verifySignature('key', '{"a":1}', undefined, 1_700_000_000)).toMatchObject({ ok: false });
  });

  it('answers: which are delivered, retried, refused', () => {
    expect(outcomeOf(200, null)).toEqual({ ok: true });
    expect(outcomeOf(429, '10')).toMatchObject({ retry: true, retryAfterMs: 10_000 });
    expect(outcomeOf(500, 'Wed, 21 Oct 2015 07:28:00 GMT')).toEqual({ ok: false, retry: true, reason: 'HTTP 500' });
    expect(outcomeOf(400, null)).toMatchObject({ retry: false });
  });
});
