// HTTP to the API server over node:https, one keep-alive connection pool (watches hold one
// connection each; requests share the rest). JSON in and out; an answer that is not 2xx becomes
// an HttpStatusError carrying the apiserver's Status body; a watch is a stream of JSON lines.

import { readFileSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent, request } from 'node:https';
import type { RestConfig } from './config.ts';

export class HttpStatusError extends Error {
  override name = 'HttpStatusError';
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(
      `HTTP ${status}: ${typeof body === 'object' && body !== null ? ((body as { message?: string }).message ?? '') : String(body)}`,
    );
  }
}

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  contentType?: string;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchHandle {
  abort(): void;
}

/** Extra credentials per request (client-node for exec plugins and auth providers: fallback-auth.ts). */
export type Authenticate = () => Promise<Record<string, string>>;

const TOKEN_FILE_REREAD_MS = 60_000;
const REQUEST_TIMEOUT_MS = 30_000;

export class RestTransport {
  readonly server: URL;
  readonly #config: RestConfig;
  readonly #agent: Agent | HttpAgent;
  readonly #authenticate: Authenticate | undefined;
  #token: { value: string; readAt: number } | undefined;

  constructor(config: RestConfig, authenticate?: Authenticate) {
    this.#config = config;
    this.server = new URL(config.server);
    this.#authenticate = authenticate;
    const tls = {
      keepAlive: true,
      ...(config.ca ? { ca: config.ca } : {}),
      ...(config.cert ? { cert: config.cert } : {}),
      ...(config.key ? { key: config.key } : {}),
      ...(config.servername ? { servername: config.servername } : {}),
      rejectUnauthorized: config.rejectUnauthorized,
    };
    this.#agent = this.server.protocol === 'http:' ? new HttpAgent({ keepAlive: true }) : new Agent(tls);
  }

  async #headers(): Promise<Record<string, string>> {
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'canaryd' };
    const token = this.#bearer();
    if (token) headers.authorization = `Bearer ${token}`;
    const basic = this.#config.basicAuth;
    if (basic) headers.authorization = `Basic ${Buffer.from(`${basic.username}:${basic.password}`).toString('base64')}`;
    if (this.#config.impersonateUser) headers['impersonate-user'] = this.#config.impersonateUser;
    return this.#authenticate ? { ...headers, ...(await this.#authenticate()) } : headers;
  }

  #bearer(): string | undefined {
    const file = this.#config.tokenFile;
    if (!file) return this.#config.token;
    const now = Date.now();
    if (!this.#token || now - this.#token.readAt > TOKEN_FILE_REREAD_MS) {
      this.#token = { value: readFileSync(file, 'utf8').trim(), readAt: now };
    }
    return this.#token.value;
  }

  url(path: string, query: Query = {}): URL {
    const url = new URL(path, this.server);
    for (const [key, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(key, String(value));
    return url;
  }

  #send(method: string, url: URL, headers: Record<string, string>, body: string | undefined, signal?: AbortSignal) {
    const send = url.protocol === 'http:' ? httpRequest : request;
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = send(url, { method, headers, agent: this.#agent, signal }, resolve);
      req.on('error', reject);
      if (body !== undefined) req.write(body);
      req.end();
    });
  }

  /** One request; resolves with the parsed JSON answer, rejects with HttpStatusError or a network error. */
  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const headers = await this.#headers();
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    if (body !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
    const signal = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
    const res = await this.#send(method, this.url(path, options.query), headers, body, signal);
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const status = res.statusCode ?? 0;
    let parsed: unknown = text;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      // Not JSON (a proxy's error page): kept as text for the error message.
    }
    if (status < 200 || status >= 300) throw new HttpStatusError(status, parsed);
    return parsed as T;
  }

  /**
   * A watch: `onEvent` for every event line; `onDone` once, with null when it ended normally (the
   * server's timeoutSeconds, or `idleMs` without a byte), else the error (HttpStatusError for a
   * refused watch, a network error).
   */
  watch(
    path: string,
    query: Query,
    onEvent: (type: WatchEventType, object: Record<string, unknown>) => void,
    onDone: (error: Error | null) => void,
    idleMs = 150_000,
  ): WatchHandle {
    const controller = new AbortController();
    let done = false;
    let idle: NodeJS.Timeout | undefined;
    const finish = (error: Error | null) => {
      if (done) return;
      done = true;
      clearTimeout(idle);
      controller.abort();
      onDone(error);
    };
    const resetIdle = () => {
      clearTimeout(idle);
      // A connection that carried nothing for this long may be dead (no FIN seen): end this
      // watch like the server would; the owner watches again from the last version.
      idle = setTimeout(() => finish(null), idleMs);
      idle.unref();
    };
    void (async () => {
      resetIdle();
      const res = await this.#send(
        'GET',
        this.url(path, { ...query, watch: 'true' }),
        await this.#headers(),
        undefined,
        controller.signal,
      );
      const status = res.statusCode ?? 0;
      if (status !== 200) {
        const chunks: Buffer[] = [];
        for await (const chunk of res) chunks.push(chunk as Buffer);
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // kept as text
        }
        throw new HttpStatusError(status, body);
      }
      let rest = '';
      res.setEncoding('utf8');
      for await (const chunk of res as AsyncIterable<string>) {
        resetIdle();
        rest += chunk;
        let newline = rest.indexOf('\n');
        while (newline >= 0) {
          const line = rest.slice(0, newline);
          rest = rest.slice(newline + 1);
          newline = rest.indexOf('\n');
          if (line.trim() === '') continue;
          const event = JSON.parse(line) as { type: WatchEventType; object: Record<string, unknown> };
          if (!done) onEvent(event.type, event.object);
        }
      }
      finish(null);
    })().catch((error: Error) => finish(done ? null : error));
    return { abort: () => finish(null) };
  }

  close(): void {
    this.#agent.destroy();
  }
}
