// What the notification tests share: a webhook receiver on loopback that records every delivery
// (its Idempotency-Key and type) and answers as told, an outbox store in memory, and a wait
// with a deadline.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type OutboxStore, OutboxTaken } from '../../src/notify/outbox.ts';

export interface Delivery {
  path: string;
  key: string;
  type: string;
}

/** A receiver on 127.0.0.1: every request is recorded; `answer` is its HTTP status (200 by default). */
export async function startReceiver() {
  const received: Delivery[] = [];
  const receiver = { received, answer: 200, url: (path: string) => `${base}${path}`, close };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString('utf8');
    });
    req.on('end', () => {
      const type = (JSON.parse(body) as { type: string }).type;
      received.push({ path: req.url ?? '', key: String(req.headers['idempotency-key']), type });
      res.writeHead(receiver.answer).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  function close(): Promise<void> {
    return new Promise((resolve) => server.close(() => resolve()));
  }
  return receiver;
}

/** A store in memory that counts its writes and can be told to fail or to be taken over. */
export function memoryStore() {
  const store = {
    text: undefined as string | undefined,
    writes: 0,
    fail: 0,
    taken: false,
    where: 'memory',
    async load() {
      return store.text;
    },
    async save(text: string) {
      if (store.taken) throw new OutboxTaken('someone else wrote it');
      if (store.fail > 0) {
        store.fail--;
        throw new Error('apiserver unavailable');
      }
      store.writes++;
      store.text = text;
    },
  };
  return store satisfies OutboxStore;
}

export const quiet = { info: () => undefined, warn: () => undefined };

export async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
