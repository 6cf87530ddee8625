// The thin impure shell of the cluster commands: how they reach the cluster (the user's
// kubeconfig and RBAC, like kubectl), wait, and notice Ctrl-C. Tests pass their own ClusterDeps.
import { setTimeout as delay } from 'node:timers/promises';
import { isKubeError, type KubeApi } from '../../kube/api.ts';
import { currentUser } from '../../kube/auth.ts';
import { connectAsUser } from '../../kube/kubeconfig.ts';
import { OperationError } from '../../server/operations.ts';
import type { CliIo, Command } from '../io.ts';
import { type ClusterFlags, type ParsedArgs, parseClusterArgs, UsageError } from './args.ts';

export interface ClusterSession {
  kube: KubeApi;
  /** -n, else the kubeconfig context's namespace, else "default". */
  namespace: string;
  /** Who the cluster says we are; recorded as the author of operations. */
  whoami(): Promise<string>;
}

export interface ClusterDeps {
  connect(flags: ClusterFlags): ClusterSession;
  /** Resolves after `ms`, or early (without error) when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Aborts on Ctrl-C (SIGINT). */
  interrupt(): AbortSignal;
  /** stdout is a terminal: `status --watch` redraws the screen instead of appending. */
  isTTY: boolean;
}

export function processClusterDeps(): ClusterDeps {
  return {
    connect(flags) {
      const cluster = connectAsUser(flags);
      return {
        kube: cluster.kube,
        namespace: flags.namespace ?? cluster.namespace,
        async whoami() {
          // SelfSubjectReview needs Kubernetes 1.28+; elsewhere (or if it fails) the kubeconfig
          // user entry's name is the best we know. A real connection problem shows up at the next
          // request anyway, with the object named.
          const user = await currentUser(cluster.kube).catch(() => null);
          return user?.username ?? cluster.kubeconfigUser;
        },
      };
    },
    sleep: (ms, signal) => delay(ms, undefined, { signal }).catch(() => {}),
    interrupt() {
      const controller = new AbortController();
      process.once('SIGINT', () => controller.abort());
      return controller.signal;
    },
    isTTY: process.stdout.isTTY === true,
  };
}

export interface CommandContext {
  io: CliIo;
  deps: ClusterDeps;
  session(): ClusterSession;
}

type Options = Parameters<typeof parseClusterArgs>[1];

const CLUSTER_FLAGS_HELP = `Cluster flags (as kubectl):
  -n, --namespace NS   the namespace (default: the context's, else "default")
  --context NAME       a kubeconfig context other than the current one
  --kubeconfig FILE    a kubeconfig file (default: KUBECONFIG, else ~/.kube/config)`;

/**
 * A command that parses kubectl-style flags and talks to the cluster. Usage errors exit 2;
 * Kubernetes and operation errors print their message (which names the object) and exit 1.
 */
export function clusterCommand(
  name: string,
  spec: { summary: string; usage: string; options?: Options; help?: string },
  deps: () => ClusterDeps,
  run: (parsed: ParsedArgs, context: CommandContext) => Promise<number>,
): Command {
  return {
    summary: spec.summary,
    usage: spec.usage,
    help: `${spec.help === undefined ? '' : `${spec.help.trimEnd()}\n\n`}${CLUSTER_FLAGS_HELP}`,
    async run(args, io) {
      let parsed: ParsedArgs;
      try {
        parsed = parseClusterArgs(args, spec.options);
        const d = deps();
        let session: ClusterSession | undefined;
        // Connect only once the arguments are known to be good: a usage error needs no kubeconfig.
        const connect = () => {
          session ??= d.connect(parsed.cluster);
          return session;
        };
        return await run(parsed, { io, deps: d, session: connect });
      } catch (error) {
        if (error instanceof UsageError) {
          io.stderr(`kubectl canary ${name}: ${error.message}\nusage: ${spec.usage}\n`);
          return 2;
        }
        if (isKubeError(error) || error instanceof OperationError) {
          io.stderr(`kubectl canary ${name}: ${error.message}\n`);
          return 1;
        }
        throw error;
      }
    },
  };
}
