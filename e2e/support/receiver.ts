// A real HTTP receiver on loopback for the notification e2e tests: records every request (raw
// body, headers, when) and answers as the test scripts it (status, or hang without answering).
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  path: string;
  headers: IncomingHttpHeaders;
  /** The raw body, exactly as sent (signatures are over these bytes). */
  body: string;
  at: number;
  /** What the receiver answered: a status, or 'hang' (never answered). */
  answered: number | 'hang';
}

/** Decides the answer to one request: an HTTP status, or 'hang'. */
export type Behaviour = (
  request: Omit<ReceivedRequest, 'answered'>,
  earlier: readonly ReceivedRequest[],
) => number | 'hang';

export class TestReceiver {
  readonly requests: ReceivedRequest[] = [];
  readonly #server: Server;
  readonly #behaviours = new Map<string, Behaviour>();
  readonly #hanging: ServerResponse[] = [];
  port = 0;

  private constructor() {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const path = req.url ?? '/';
        const seen = { path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
        const earlier = this.requests.filter((r) => r.path === path);
        const answer = (this.#behaviours.get(path) ?? (() => 204))(seen, earlier);
        this.requests.push({ ...seen, answered: answer });
        if (answer === 'hang') this.#hanging.push(res);
        else res.writeHead(answer).end();
      });
    });
  }

  /** Listens on 127.0.0.1 (port 0: any free port). */
  static async start(port = 0): Promise<TestReceiver> {
    const receiver = new TestReceiver();
    await new Promise<void>((resolve, reject) => {
      receiver.#server.once('error', reject);
      receiver.#server.listen(port, '127.0.0.1', resolve);
    });
    receiver.port = (receiver.#server.address() as AddressInfo).port;
    return receiver;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  behave(path: string, behaviour: Behaviour): void {
    this.#behaviours.set(path, behaviour);
  }

  at(path: string): ReceivedRequest[] {
    return this.requests.filter((r) => r.path === path);
  }

  async stop(): Promise<void> {
    for (const res of this.#hanging) res.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** The JSON body of a request. */
export const bodyOf = <T = Record<string, unknown>>(request: ReceivedRequest): T => JSON.parse(request.body) as T;
