// One hook call against a real loopback HTTP server: a strict yes or no, everything else
// inconclusive (a timeout, a 5xx after its retries, a body too large or not of the documented
// shape), never a pass.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callHook } from '../../src/hooks/call.ts';
import { MAX_RESPONSE_BYTES } from '../../src/hooks/response.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
let handler: Handler = (_req, res) => res.end();
let hits = 0;
const server = createServer((req, res) => {
  hits++;
  req.resume();
  req.on('end', () => handler(req, res));
});
let url = '';
const noSleep = async () => {};

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const json =
  (status: number, body: unknown): Handler =>
  (_req, res) =>
    res
      .writeHead(status, { 'content-type': 'application/json' })
      .end(typeof body === 'string' ? body : JSON.stringify(body));

async function call(respond: Handler, options: { timeoutMs?: number; retries?: number } = {}) {
  handler = respond;
  hits = 0;
  const outcome = await callHook(
    url,
    { hello: 'hook' },
    { timeoutMs: options.timeoutMs ?? 2000, retries: options.retries ?? 0, sleep: noSleep },
  );
  return { ...outcome, hits };
}

describe('callHook', () => {
  it('{"approved": true} is a yes, {"approved": false} a no, with its message', async () => {
    expect(await call(json(200, { approved: true }))).toMatchObject({ result: 'approved', message: '', attempts: 1 });
    expect(await call(json(200, { approved: false, message: 'freeze' }))).toMatchObject({
      result: 'refused',
      message: 'freeze',
    });
  });

  it.each([
    ['an empty 200', json(200, '')],
    ['a body that is not JSON', json(200, 'ok')],
    ['an unknown field', json(200, { approved: true, extra: 1 })],
    ['approved as a string', json(200, { approved: 'yes' })],
    ['a 404', json(404, { approved: true })],
  ])('%s is inconclusive, never a pass', async (_name, respond) => {
    expect((await call(respond)).result).toBe('inconclusive');
  });

  it('a body larger than 64 KiB is inconclusive and not read further', async () => {
    const outcome = await call(json(200, `{"approved":true,"message":"${'x'.repeat(MAX_RESPONSE_BYTES)}"}`));
    expect(outcome).toMatchObject({
      result: 'inconclusive',
      message: `the response is larger than ${MAX_RESPONSE_BYTES} bytes`,
    });
  });

  it('a 5xx is retried, then inconclusive; a 5xx then a yes is a yes', async () => {
    expect(await call(json(503, 'busy'), { retries: 2 })).toMatchObject({
      result: 'inconclusive',
      attempts: 3,
      hits: 3,
    });
    let first = true;
    const flaky: Handler = (req, res) => {
      if (first) {
        first = false;
        json(500, 'oops')(req, res);
      } else json(200, { approved: true })(req, res);
    };
    expect(await call(flaky, { retries: 1 })).toMatchObject({ result: 'approved', attempts: 2 });
  });

  it('a receiver that never answers is inconclusive after the timeout', async () => {
    const outcome = await call(() => {}, { timeoutMs: 200 });
    expect(outcome).toMatchObject({ result: 'inconclusive', message: 'no answer within the timeout (200 ms)' });
  });

  it('an unreachable URL is inconclusive', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const outcome = await callHook(`http://127.0.0.1:${port}/`, {}, { timeoutMs: 1000, retries: 0, sleep: noSleep });
    expect(outcome.result).toBe('inconclusive');
    expect(outcome.message).toMatch(/^unreachable: /);
  });
});
