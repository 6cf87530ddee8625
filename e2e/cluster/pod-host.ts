// Where the demo pods' servers live. The pod runner (pod-runner.ts) stays in the root network
// namespace, because it watches the apiserver on 127.0.0.1 — inside the pods' namespace
// 127.0.0.1 is that namespace's own loopback. It starts this file as one child process inside
// the pods' namespace (`ip netns exec <ns> node pod-host.ts`) and drives it over stdin/stdout,
// one JSON object per line: `serve` a pod on its pod IP, `handover` a draining pod's server to a
// new pod given the same IP, change its `behaviour`, `stop` it.
// The host answers `listening`, `failed` or `stopped` per id. When its stdin closes (the runner
// exited or was killed) it stops every server and exits, so no pod outlives its runner.
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type DemoBehaviour, type DemoServer, startDemoServer } from './demo-app.ts';

export interface ServeSpec {
  ip: string;
  port: number;
  /** The pod's name, sent back in the x-demo-pod header. */
  pod: string;
  behaviour: DemoBehaviour;
}

export type HostCommand =
  | ({ op: 'serve'; id: string } & ServeSpec)
  | ({ op: 'handover'; id: string; from: string } & ServeSpec)
  | { op: 'behave'; id: string; behaviour: DemoBehaviour }
  | { op: 'stop'; id: string };

export type HostEvent = { id: string; event: 'listening' | 'stopped' } | { id: string; event: 'failed'; error: string };

/** What the pod runner needs from wherever the servers run (a child in the pods' namespace, or in-process for tests). */
export interface PodHost {
  /** Resolves once the server listens; rejects when it cannot (address in use, say). */
  serve(id: string, spec: ServeSpec): Promise<void>;
  /**
   * The server `from` (on the same address) answers as `id` from now on, without closing its
   * socket: no request in flight is cut and none is refused. Serves afresh when `from` is gone.
   */
  handOver(from: string, id: string, spec: ServeSpec): Promise<void>;
  behave(id: string, behaviour: DemoBehaviour): void;
  /** Resolves once the server is closed. */
  stop(id: string): Promise<void>;
  close(): Promise<void>;
}

/** Servers in this very process: for unit tests, on 127.0.0.1 addresses. */
export class InProcessPodHost implements PodHost {
  readonly #servers = new Map<string, DemoServer>();

  async serve(id: string, spec: ServeSpec): Promise<void> {
    this.#servers.set(id, await startDemoServer(spec.ip, spec.port, spec.pod, spec.behaviour));
  }

  async handOver(from: string, id: string, spec: ServeSpec): Promise<void> {
    const server = this.#servers.get(from);
    if (server === undefined) return this.serve(id, spec);
    this.#servers.delete(from);
    this.#servers.set(id, server);
    server.handOver(spec.pod, spec.behaviour);
  }

  behave(id: string, behaviour: DemoBehaviour): void {
    this.#servers.get(id)?.setBehaviour(behaviour);
  }

  async stop(id: string): Promise<void> {
    const server = this.#servers.get(id);
    this.#servers.delete(id);
    await server?.close();
  }

  async close(): Promise<void> {
    await Promise.all([...this.#servers.keys()].map((id) => this.stop(id)));
  }
}

const HOST_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'pod-host.ts');

/** This file run as a child process, inside the network namespace `netns` (or beside the runner without one). */
export class ChildPodHost implements PodHost {
  readonly #child: ChildProcess;
  readonly #waiting = new Map<string, { resolve: () => void; reject: (error: Error) => void }>();
  readonly exited: Promise<number | null>;

  constructor(netns: string | undefined) {
    const [command, args] = netns
      ? ['ip', ['netns', 'exec', netns, process.execPath, HOST_SCRIPT]]
      : [process.execPath, [HOST_SCRIPT]];
    this.#child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
    this.exited = new Promise((resolve) => this.#child.once('exit', (code) => resolve(code)));
    if (!this.#child.stdout) throw new Error('pod host started without stdout');
    createInterface({ input: this.#child.stdout }).on('line', (line) => this.#onEvent(JSON.parse(line) as HostEvent));
    this.exited.then((code) => {
      for (const waiter of this.#waiting.values()) waiter.reject(new Error(`pod host exited (${code})`));
      this.#waiting.clear();
    });
  }

  #onEvent(event: HostEvent): void {
    const waiter = this.#waiting.get(event.id);
    if (!waiter) return;
    this.#waiting.delete(event.id);
    if (event.event === 'failed') waiter.reject(new Error(event.error));
    else waiter.resolve();
  }

  #send(command: HostCommand): void {
    this.#child.stdin?.write(`${JSON.stringify(command)}\n`);
  }

  #await(id: string, command: HostCommand): Promise<void> {
    const answered = new Promise<void>((resolve, reject) => this.#waiting.set(id, { resolve, reject }));
    this.#send(command);
    return answered;
  }

  serve(id: string, spec: ServeSpec): Promise<void> {
    return this.#await(id, { op: 'serve', id, ...spec });
  }

  handOver(from: string, id: string, spec: ServeSpec): Promise<void> {
    return this.#await(id, { op: 'handover', id, from, ...spec });
  }

  behave(id: string, behaviour: DemoBehaviour): void {
    this.#send({ op: 'behave', id, behaviour });
  }

  stop(id: string): Promise<void> {
    return this.#await(id, { op: 'stop', id });
  }

  async close(): Promise<void> {
    this.#child.stdin?.end();
    await this.exited;
  }
}

async function main(): Promise<void> {
  const host = new InProcessPodHost();
  const emit = (event: HostEvent): void => {
    process.stdout.write(`${JSON.stringify(event)}\n`);
  };
  // Commands of one id apply in order; different ids do not wait for each other.
  const chains = new Map<string, Promise<void>>();
  const run = (id: string, work: () => Promise<void>) => {
    const next = (chains.get(id) ?? Promise.resolve()).then(work);
    chains.set(id, next);
    next.finally(() => {
      if (chains.get(id) === next) chains.delete(id);
    });
  };
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    const command = JSON.parse(line) as HostCommand;
    switch (command.op) {
      case 'serve':
        run(command.id, () =>
          host.serve(command.id, command).then(
            () => emit({ id: command.id, event: 'listening' }),
            (error: Error) => emit({ id: command.id, event: 'failed', error: error.message }),
          ),
        );
        break;
      case 'handover':
        // After whatever the old server still has queued; the answer is for the new id.
        run(command.from, () =>
          host.handOver(command.from, command.id, command).then(
            () => emit({ id: command.id, event: 'listening' }),
            (error: Error) => emit({ id: command.id, event: 'failed', error: error.message }),
          ),
        );
        break;
      case 'behave':
        run(command.id, async () => host.behave(command.id, command.behaviour));
        break;
      case 'stop':
        run(command.id, () => host.stop(command.id).then(() => emit({ id: command.id, event: 'stopped' })));
        break;
    }
  });
  lines.on('close', () => {
    host.close().then(() => process.exit(0));
  });
  const stopAll = () => host.close().then(() => process.exit(0));
  process.on('SIGTERM', stopAll);
  process.on('SIGINT', stopAll);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: Error) => {
    console.error(error.message);
    process.exit(1);
  });
}
