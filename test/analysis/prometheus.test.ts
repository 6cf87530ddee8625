import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createPrometheusProvider,
  type PrometheusProvider,
  prometheusClientOptions,
} from '../../src/analysis/prometheus.ts';
import { isMetricQueryError, type MetricQueryError } from '../../src/analysis/provider.ts';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

type Handler = (request: Seen, response: http.ServerResponse) => void;

const servers: http.Server[] = [];
const providers: PrometheusProvider[] = [];

afterEach(async () => {
  for (const provider of providers.splice(0)) provider.close();
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  );
});

/** A loopback Prometheus stand-in; records every request it gets. */
async function serve(handler: Handler): Promise<{ address: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const entry = {
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks).toString(),
      };
      seen.push(entry);
      handler(entry, response);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { address: `http://127.0.0.1:${port}`, seen };
}

function json(body: unknown, status = 200): Handler {
  return (_request, response) => {
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(JSON.stringify(body));
  };
}

const vector = (value: string) => ({
  status: 'success',
  data: { resultType: 'vector', result: [{ metric: {}, value: [1_700_000_000.5, value] }] },
});

function provider(options: Partial<Parameters<typeof createPrometheusProvider>[0]> & { address: string }) {
  const created = createPrometheusProvider({ timeoutMs: 2_000, ...options });
  providers.push(created);
  return created;
}

async function rejection(promise: Promise<unknown>): Promise<MetricQueryError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  if (!isMetricQueryError(error)) throw new Error(`expected a MetricQueryError, got ${String(error)}`);
  return error;
}

describe('Prometheus client', () => {
  it('POSTs the query form-encoded to /api/v1/query and returns the number', async () => {
    const { address, seen } = await serve(json(vector('99.5')));
    const result = await provider({ address }).query('sum(up{job="a b"})');
    expect(result).toEqual({ kind: 'value', value: 99.5, at: new Date(1_700_000_000_500) });
    expect(seen[0]?.method).toBe('POST');
    expect(seen[0]?.url).toBe('/api/v1/query');
    expect(seen[0]?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(new URLSearchParams(seen[0]?.body).get('query')).toBe('sum(up{job="a b"})');
  });

  it('GETs with the query in the URL when asked, keeping the address path prefix', async () => {
    const { address, seen } = await serve(json(vector('1')));
    await provider({ address: `${address}/prometheus/`, method: 'GET' }).query('up', {
      at: new Date('2026-01-01T00:00:00.250Z'),
    });
    const url = new URL(seen[0]?.url ?? '', address);
    expect(seen[0]?.method).toBe('GET');
    expect(url.pathname).toBe('/prometheus/api/v1/query');
    expect(url.searchParams.get('query')).toBe('up');
    expect(url.searchParams.get('time')).toBe('1767225600.250');
  });

  it('sends a bearer token', async () => {
    const { address, seen } = await serve(json(vector('1')));
    await provider({ address, bearerToken: 's3cret' }).query('up');
    expect(seen[0]?.headers.authorization).toBe('Bearer s3cret');
  });

  it('sends basic auth', async () => {
    const { address, seen } = await serve(json(vector('1')));
    await provider({ address, basicAuth: { username: 'canaryd', password: 'p:w' } }).query('up');
    expect(seen[0]?.headers.authorization).toBe(`Basic ${Buffer.from('canaryd:p:w').toString('base64')}`);
  });

  it('sends no Authorization header without credentials', async () => {
    const { address, seen } = await serve(json(vector('1')));
    await provider({ address }).query('up');
    expect(seen[0]?.headers.authorization).toBeUndefined();
  });

  it('takes its settings from the policy and the resolved Secrets', () => {
    expect(
      prometheusClientOptions(
        { address: 'https://prom:9090', timeout: '2.5s', insecureSkipVerify: false },
        { bearerToken: 't', ca: 'PEM' },
      ),
    ).toEqual({
      address: 'https://prom:9090',
      timeoutMs: 2500,
      insecureSkipVerify: false,
      bearerToken: 't',
      ca: 'PEM',
    });
  });

  it('refuses both bearer and basic auth, and credentials inside the address', () => {
    expect(() =>
      createPrometheusProvider({
        address: 'http://prom:9090',
        timeoutMs: 1000,
        bearerToken: 't',
        basicAuth: { username: 'u', password: 'p' },
      }),
    ).toThrow(/not both/);
    let thrown: unknown;
    try {
      createPrometheusProvider({ address: 'http://user:hunter2@prom:9090', timeoutMs: 1000 });
    } catch (error) {
      thrown = error;
    }
    expect(isMetricQueryError(thrown, 'config')).toBe(true);
    expect((thrown as Error).message).not.toContain('hunter2');
    expect(() => createPrometheusProvider({ address: 'ftp://prom', timeoutMs: 1000 })).toThrow(/http/);
    expect(() => createPrometheusProvider({ address: 'not a url', timeoutMs: 1000 })).toThrow(/not a URL/);
  });

  it('times out on a Prometheus that never answers, naming the address and the query', async () => {
    const { address } = await serve(() => {
      /* never answers */
    });
    let fire: () => void = () => {};
    const setTimer = (callback: () => void) => {
      fire = callback;
      return () => {};
    };
    const pending = provider({ address, timeoutMs: 5_000, setTimer }).query('sum(slow)');
    fire();
    const error = await rejection(pending);
    expect(error.code).toBe('timeout');
    expect(error.message).toContain(address);
    expect(error.message).toContain('sum(slow)');
    expect(error.message).toContain('5000 ms');
  });

  it('times out with the real timer too', async () => {
    const { address } = await serve(() => {});
    const error = await rejection(provider({ address, timeoutMs: 50 }).query('up'));
    expect(error.code).toBe('timeout');
  });

  it('is cancelled by the caller signal', async () => {
    const { address } = await serve(() => {});
    const controller = new AbortController();
    const pending = provider({ address }).query('up', { signal: controller.signal });
    controller.abort();
    expect((await rejection(pending)).code).toBe('aborted');
    expect((await rejection(provider({ address }).query('up', { signal: AbortSignal.abort() }))).code).toBe('aborted');
  });

  it('reports a connection refused as unreachable with the address', async () => {
    const { address } = await serve(json(vector('1')));
    const server = servers.pop()!;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const error = await rejection(provider({ address }).query('up'));
    expect(error.code).toBe('unreachable');
    expect(error.message).toContain('ECONNREFUSED');
    expect(error.message).toContain(address);
  });

  it('sends once more on a fresh connection when an idle kept-alive one was closed', async () => {
    const used = new WeakSet<object>();
    let resets = 0;
    const { address, seen } = await serve(() => {});
    const server = servers.at(-1)!;
    server.removeAllListeners('request');
    server.on('request', (request: http.IncomingMessage, response: http.ServerResponse) => {
      request.resume();
      if (used.has(request.socket)) {
        resets++;
        request.socket.destroy();
        return;
      }
      used.add(request.socket);
      seen.push({ method: '', url: '', headers: request.headers, body: '' });
      response.end(JSON.stringify(vector(String(seen.length))));
    });
    const client = provider({ address });
    expect(await client.query('up')).toMatchObject({ value: 1 });
    expect(await client.query('up')).toMatchObject({ value: 2 });
    expect(resets).toBe(1);
  });

  it('does not resend when a fresh connection is reset', async () => {
    const { address } = await serve(() => {});
    const server = servers.at(-1)!;
    server.removeAllListeners('request');
    server.on('request', (request: http.IncomingMessage) => request.socket.destroy());
    const error = await rejection(provider({ address }).query('up'));
    expect(error.code).toBe('unreachable');
    expect(error.message).toContain('socket hang up');
  });

  it('turns a 500 HTML page into an http-status error quoting the page', async () => {
    const { address } = await serve((_request, response) => {
      response.writeHead(500, { 'content-type': 'text/html' });
      response.end('<html><body>Internal Server Error</body></html>');
    });
    const error = await rejection(provider({ address }).query('up'));
    expect(error.code).toBe('http-status');
    expect(error.message).toContain('HTTP 500');
    expect(error.message).toContain('Internal Server Error');
  });

  it('turns a 200 HTML page (a login proxy) into a malformed-answer error', async () => {
    const { address } = await serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end('<!doctype html><title>Sign in</title>');
    });
    const error = await rejection(provider({ address }).query('up'));
    expect(error.code).toBe('malformed-answer');
    expect(error.message).toContain('Sign in');
  });

  it("quotes Prometheus' own error for a bad query (HTTP 400)", async () => {
    const { address } = await serve(
      json({ status: 'error', errorType: 'bad_data', error: 'parse error: unexpected "}"' }, 400),
    );
    const error = await rejection(provider({ address }).query('up{'));
    expect(error.code).toBe('query-failed');
    expect(error.message).toContain('bad_data: parse error: unexpected "}"');
    expect(error.message).toContain('HTTP 400');
  });

  it('reports 401 and 403 as unauthorized', async () => {
    for (const status of [401, 403]) {
      const { address } = await serve((_request, response) => {
        response.writeHead(status);
        response.end('Unauthorized');
      });
      const error = await rejection(provider({ address, bearerToken: 'wrong' }).query('up'));
      expect(error.code).toBe('unauthorized');
      expect(error.message).toContain(`HTTP ${status}`);
      expect(error.message).not.toContain('wrong');
    }
  });

  it('refuses an answer larger than the limit, declared or streamed', async () => {
    const big = JSON.stringify({
      status: 'success',
      data: { resultType: 'vector', result: [] },
      pad: 'x'.repeat(5000),
    });
    const declared = await serve((_request, response) => {
      response.writeHead(200, { 'content-length': Buffer.byteLength(big) });
      response.end(big);
    });
    const streamed = await serve((_request, response) => {
      response.writeHead(200);
      response.write(big.slice(0, 3000));
      response.end(big.slice(3000));
    });
    for (const { address } of [declared, streamed]) {
      const error = await rejection(provider({ address, maxAnswerBytes: 4096 }).query('up'));
      expect(error.code).toBe('answer-too-large');
    }
  });

  it('accepts an answer of exactly 1 MiB by default and refuses one byte more', async () => {
    const head = JSON.stringify(vector('3')).slice(0, -1);
    const answer = (size: number) => `${head},"pad":"${'x'.repeat(size - head.length - 10)}"}`;
    const { address } = await serve((request, response) => {
      response.end(answer(1024 * 1024 + (request.body.includes('more') ? 1 : 0)));
    });
    expect(answer(1024 * 1024)).toHaveLength(1024 * 1024);
    expect(await provider({ address }).query('up')).toMatchObject({ kind: 'value', value: 3 });
    expect((await rejection(provider({ address }).query('more'))).code).toBe('answer-too-large');
  });
});

describe('Prometheus range queries (the dashboard charts)', () => {
  const matrix = (series: Array<Array<[number, string]>>) => ({
    status: 'success',
    data: { resultType: 'matrix', result: series.map((values) => ({ metric: {}, values })) },
  });
  const range = { start: new Date(1_700_000_000_000), end: new Date(1_700_000_060_000), stepSeconds: 15 };

  it('POSTs start, end and step to /api/v1/query_range; NaN and Inf are gaps', async () => {
    const { address, seen } = await serve(
      json(
        matrix([
          [
            [1_700_000_000, '0.5'],
            [1_700_000_015, 'NaN'],
            [1_700_000_030, '+Inf'],
          ],
        ]),
      ),
    );
    const points = await provider({ address }).queryRange('rate(x[1m])', range);
    expect(points).toEqual([
      [1_700_000_000, 0.5],
      [1_700_000_015, null],
      [1_700_000_030, null],
    ]);
    expect(seen[0]?.url).toBe('/api/v1/query_range');
    const form = new URLSearchParams(seen[0]?.body);
    expect([form.get('query'), form.get('start'), form.get('end'), form.get('step')]).toEqual([
      'rate(x[1m])',
      '1700000000.000',
      '1700000060.000',
      '15',
    ]);
  });

  it('no series is an empty line; several series are refused like an instant query', async () => {
    const empty = await serve(json(matrix([])));
    expect(await provider({ address: empty.address }).queryRange('x', range)).toEqual([]);
    const several = await serve(json(matrix([[[1, '1']], [[1, '2']]])));
    expect((await rejection(provider({ address: several.address }).queryRange('x', range))).code).toBe(
      'multiple-series',
    );
    const failed = await serve(json({ status: 'error', errorType: 'bad_data', error: 'parse error' }, 400));
    const error = await rejection(provider({ address: failed.address }).queryRange('x{', range));
    expect(error.code).toBe('query-failed');
    expect(error.message).toContain('parse error');
  });
});
