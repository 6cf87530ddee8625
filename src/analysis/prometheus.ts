// MetricProvider over the Prometheus HTTP API (instant queries, /api/v1/query).
// node:http(s) rather than fetch: Node's fetch cannot take a CA bundle or skip verification
// without the undici package, and we also want to stop reading a body at the size limit.
import http from 'node:http';
import https from 'node:https';
import type { PrometheusSpec } from '../policy/schema.ts';
import { parseDuration } from '../schedule/duration.ts';
import { type AnswerOrigin, bodySnippet, describeQuery, PrometheusError, parseQueryAnswer } from './answer.ts';
import type { MetricProvider, MetricQueryErrorCode, QueryResult } from './provider.ts';
import { parseRangeAnswer, type RangePoints } from './range.ts';

export { PrometheusError } from './answer.ts';

/** Credentials and TLS material, already read from their Secrets by the caller. */
export interface PrometheusCredentials {
  bearerToken?: string;
  basicAuth?: { username: string; password: string };
  /** PEM CA bundle that signs Prometheus' certificate. */
  ca?: string;
  insecureSkipVerify?: boolean;
}

export interface PrometheusClientOptions extends PrometheusCredentials {
  /** Base URL, possibly with a path prefix: http://prometheus.monitoring:9090, https://gw/prom */
  address: string;
  /** Whole-query deadline in milliseconds (connect, answer and body). */
  timeoutMs: number;
  /** POST (default) keeps long queries out of URLs and access logs; GET for read-only proxies. */
  method?: 'GET' | 'POST';
  /** Answers larger than this are refused. Default 1 MiB. */
  maxAnswerBytes?: number;
  /** Test seam: the timer that enforces timeoutMs. */
  setTimer?: (fire: () => void, ms: number) => () => void;
}

export const DEFAULT_MAX_ANSWER_BYTES = 1024 * 1024;

export interface PrometheusProvider extends MetricProvider {
  /** The address as shown in messages (no credentials). */
  readonly address: string;
  /** A range query (/api/v1/query_range) yielding at most one series: what the dashboard charts. */
  queryRange(promql: string, range: QueryRange): Promise<RangePoints>;
  /** Closes idle keep-alive connections. */
  close(): void;
}

export interface QueryRange {
  start: Date;
  end: Date;
  stepSeconds: number;
  signal?: AbortSignal;
}

interface RawAnswer {
  status: number;
  body: string;
}

const realTimer = (fire: () => void, ms: number): (() => void) => {
  const timer = setTimeout(fire, ms);
  return () => clearTimeout(timer);
};

function configError(message: string, address: string): never {
  throw new PrometheusError('config', message, { address });
}

function parseAddress(address: string): URL {
  let url: URL;
  try {
    url = new URL(address);
  } catch (error) {
    throw new PrometheusError('config', `Prometheus address ${JSON.stringify(address)} is not a URL`, {
      address,
      cause: error,
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    configError(`Prometheus address ${address} must start with http:// or https://`, address);
  }
  if (url.username || url.password) {
    configError('Prometheus address must not contain credentials; use basicAuthSecretRef', url.host);
  }
  if (url.search || url.hash) configError(`Prometheus address ${address} must not have a query or fragment`, address);
  return url;
}

/** Client options from the policy's `analysis.prometheus` and the credentials read from its Secrets. */
export function prometheusClientOptions(
  spec: Pick<PrometheusSpec, 'address' | 'timeout' | 'insecureSkipVerify'>,
  credentials: Omit<PrometheusCredentials, 'insecureSkipVerify'> = {},
): PrometheusClientOptions {
  return {
    ...credentials,
    address: spec.address,
    timeoutMs: parseDuration(spec.timeout),
    insecureSkipVerify: spec.insecureSkipVerify,
  };
}

export function createPrometheusProvider(options: PrometheusClientOptions): PrometheusProvider {
  const base = parseAddress(options.address);
  const address = base.href.replace(/\/$/, '');
  if (options.bearerToken !== undefined && options.basicAuth !== undefined) {
    configError('Prometheus auth: give a bearer token or basic auth, not both', address);
  }
  if (!(options.timeoutMs > 0)) configError(`Prometheus timeout must be positive, got ${options.timeoutMs}`, address);
  const endpoint = new URL(`${base.pathname.replace(/\/$/, '')}/api/v1/query`, base);
  const rangeEndpoint = new URL(`${base.pathname.replace(/\/$/, '')}/api/v1/query_range`, base);
  const method = options.method ?? 'POST';
  const maxAnswerBytes = options.maxAnswerBytes ?? DEFAULT_MAX_ANSWER_BYTES;
  const setTimer = options.setTimer ?? realTimer;
  const secure = endpoint.protocol === 'https:';
  const agent = secure
    ? new https.Agent({ keepAlive: true, ca: options.ca, rejectUnauthorized: !options.insecureSkipVerify })
    : new http.Agent({ keepAlive: true });

  const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'canaryd' };
  if (options.bearerToken !== undefined) headers.authorization = `Bearer ${options.bearerToken}`;
  if (options.basicAuth !== undefined) {
    const { username, password } = options.basicAuth;
    headers.authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  }

  async function query(promql: string, queryOptions: { at?: Date; signal?: AbortSignal } = {}): Promise<QueryResult> {
    const origin: AnswerOrigin = { query: promql, address };
    const params = new URLSearchParams({ query: promql });
    if (queryOptions.at !== undefined) params.set('time', (queryOptions.at.getTime() / 1000).toFixed(3));
    const raw = await post(endpoint, params, queryOptions.signal, origin);
    return interpret(raw, origin);
  }

  async function queryRange(promql: string, range: QueryRange): Promise<RangePoints> {
    const origin: AnswerOrigin = { query: promql, address };
    const params = new URLSearchParams({
      query: promql,
      start: (range.start.getTime() / 1000).toFixed(3),
      end: (range.end.getTime() / 1000).toFixed(3),
      step: String(range.stepSeconds),
    });
    const raw = await post(rangeEndpoint, params, range.signal, origin);
    if (raw.status >= 200 && raw.status < 300) return parseRangeAnswer(raw.body, origin);
    return interpret(raw, origin) as never; // interpret throws for every non-2xx answer
  }

  function post(
    target: URL,
    params: URLSearchParams,
    signal: AbortSignal | undefined,
    origin: AnswerOrigin,
  ): Promise<RawAnswer> {
    const url = new URL(target);
    let body: string | undefined;
    const requestHeaders = { ...headers };
    if (method === 'GET') {
      url.search = params.toString();
    } else {
      body = params.toString();
      requestHeaders['content-type'] = 'application/x-www-form-urlencoded';
      requestHeaders['content-length'] = String(Buffer.byteLength(body));
    }
    return send(url, { method, headers: requestHeaders, body, signal }, origin);
  }

  function send(
    url: URL,
    init: {
      method: string;
      headers: Record<string, string>;
      body: string | undefined;
      signal: AbortSignal | undefined;
      retried?: boolean;
    },
    origin: AnswerOrigin,
  ): Promise<RawAnswer> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (outcome: () => void): void => {
        if (settled) return;
        settled = true;
        cancelTimer();
        init.signal?.removeEventListener('abort', onAbort);
        outcome();
      };
      const failWith = (code: MetricQueryErrorCode, message: string, cause?: unknown): void => {
        finish(() => reject(new PrometheusError(code, `${message} (${describeQuery(origin)})`, { ...origin, cause })));
        request.destroy();
      };
      const onAbort = (): void => failWith('aborted', 'query cancelled', init.signal?.reason);
      let cancelTimer = (): void => {};
      const request = (secure ? https : http).request(url, { method: init.method, headers: init.headers, agent });
      request.on('error', (error: NodeJS.ErrnoException) => {
        // A kept-alive socket the server closed while idle: the request never reached
        // Prometheus, so sending it once more on a fresh socket is safe (Node's documented pattern).
        if (request.reusedSocket && error.code === 'ECONNRESET' && !init.retried) {
          finish(() => resolve(send(url, { ...init, retried: true }, origin)));
          return;
        }
        failWith('unreachable', `cannot reach Prometheus: ${error.message}`, error);
      });
      if (init.signal?.aborted) return onAbort();
      init.signal?.addEventListener('abort', onAbort, { once: true });
      cancelTimer = setTimer(
        () => failWith('timeout', `Prometheus did not answer within ${options.timeoutMs} ms`),
        options.timeoutMs,
      );
      request.on('response', (response) => {
        const declared = Number(response.headers['content-length']);
        if (declared > maxAnswerBytes) {
          return failWith('answer-too-large', `answer of ${declared} bytes exceeds the limit of ${maxAnswerBytes}`);
        }
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxAnswerBytes) {
            failWith('answer-too-large', `answer exceeds the limit of ${maxAnswerBytes} bytes`);
          } else {
            chunks.push(chunk);
          }
        });
        response.on('error', (error) => failWith('unreachable', `answer interrupted: ${error.message}`, error));
        response.on('end', () =>
          finish(() => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') })),
        );
      });
      request.end(init.body);
    });
  }

  return { address, query, queryRange, close: () => agent.destroy() };
}

function interpret(raw: RawAnswer, origin: AnswerOrigin): QueryResult {
  if (raw.status >= 200 && raw.status < 300) return parseQueryAnswer(raw.body, origin);
  // Prometheus answers 400/422/503 with a JSON error body worth quoting; proxies send HTML.
  let prometheusMessage: string | undefined;
  try {
    parseQueryAnswer(raw.body, origin);
  } catch (error) {
    if (error instanceof PrometheusError && error.code === 'query-failed') prometheusMessage = error.message;
  }
  if (raw.status === 401 || raw.status === 403) {
    throw new PrometheusError(
      'unauthorized',
      `Prometheus refused the credentials: HTTP ${raw.status} ${bodySnippet(raw.body)}; check the bearer token or basic auth Secret (${describeQuery(origin)})`,
      origin,
    );
  }
  if (prometheusMessage !== undefined) {
    throw new PrometheusError('query-failed', `HTTP ${raw.status}: ${prometheusMessage}`, origin);
  }
  throw new PrometheusError(
    'http-status',
    `Prometheus answered HTTP ${raw.status}: ${bodySnippet(raw.body)} (${describeQuery(origin)})`,
    origin,
  );
}
