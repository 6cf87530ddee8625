// Runs kubectl canary commands in-process against an in-memory cluster, with a clock that only
// moves when a command sleeps and a script of what "the controller" does meanwhile.
import type { ClusterDeps } from '../../src/cli/commands/cluster.ts';
import { main } from '../../src/cli/main.ts';
import type { KubeObject } from '../../src/kube/objects.ts';
import { FakeKube } from '../traffic/fake-kube.ts';

/** FakeKube plus the API server's "" = all namespaces for lists. */
export class ClusterKube extends FakeKube {
  override async list<T extends KubeObject>(
    apiVersion: string,
    kind: string,
    namespace: string,
    labelSelector?: string,
  ): Promise<T[]> {
    if (namespace !== '') return super.list<T>(apiVersion, kind, namespace, labelSelector);
    this.calls.push({ verb: 'list', apiVersion, kind, namespace: '' });
    return this.all().filter((o) => o.apiVersion === apiVersion && o.kind === kind) as T[];
  }
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export interface HarnessOptions {
  start?: Date;
  /** Called at every sleep, after the clock moved; `abort` simulates Ctrl-C. */
  onSleep?: (tick: number, abort: () => void) => void;
  isTTY?: boolean;
  user?: string;
  contextNamespace?: string;
}

export function cluster(kube: ClusterKube, options: HarnessOptions = {}) {
  let clock = (options.start ?? new Date('2026-03-01T10:06:30.000Z')).getTime();
  let ticks = 0;
  const connections: object[] = [];
  const controller = new AbortController();
  const deps: ClusterDeps = {
    connect(flags) {
      connections.push(flags);
      return {
        kube,
        namespace: flags.namespace ?? options.contextNamespace ?? 'shop',
        whoami: async () => options.user ?? 'alice',
      };
    },
    async sleep(ms) {
      clock += ms;
      options.onSleep?.(++ticks, () => controller.abort());
    },
    interrupt: () => controller.signal,
    isTTY: options.isTTY ?? false,
  };
  return {
    connections,
    now: () => new Date(clock),
    deps: () => deps,
    async run(...argv: string[]): Promise<Run> {
      // The registry in cli/main.ts holds the real commands; run ours with these deps.
      const { clusterCommands } = await import('../../src/cli/commands/index.ts');
      const commands = clusterCommands(() => deps);
      let stdout = '';
      let stderr = '';
      const io = {
        stdout: (text: string) => {
          stdout += text;
        },
        stderr: (text: string) => {
          stderr += text;
        },
        now: () => new Date(clock),
      };
      const [name, ...args] = argv;
      const command = name === undefined ? undefined : commands[name];
      const code = command === undefined ? await main(argv, io) : await command.run(args, io);
      return { code, stdout, stderr };
    },
  };
}
