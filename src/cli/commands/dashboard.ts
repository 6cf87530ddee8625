// kubectl canary dashboard: the dashboard on 127.0.0.1, acting with the person's own kubeconfig
// credentials (like `kubectl argo rollouts dashboard`), so nothing new needs exposing. The same
// API canaryd serves (server/build) runs here in-process over the person's connection: every
// read and operation is made by them and decided by the API server's RBAC (asked first with
// SelfSubjectAccessReview so a refusal names the missing right). The page holds a one-off
// session token from the printed URL, so other local users and web pages cannot drive it.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { Registry } from 'prom-client';
import { selfSubjectAccessReviewAuthorizer } from '../../kube/auth.ts';
import { build } from '../../server/app.ts';
import { kubeDashboardReader } from '../../server/dashboard-kube.ts';
import { listen } from '../../server/listen.ts';
import { kubeOperationRequester } from '../../server/operations.ts';
import { kubeReleaseReader } from '../../server/views.ts';
import type { Command } from '../io.ts';
import { UsageError } from './args.ts';
import { type ClusterDeps, clusterCommand } from './cluster.ts';

export const DEFAULT_DASHBOARD_PORT = 3100;

export const dashboardCommand = (deps: () => ClusterDeps): Command =>
  clusterCommand(
    'dashboard',
    {
      summary: 'serve the dashboard on 127.0.0.1 with your kubeconfig credentials',
      usage:
        'kubectl canary dashboard [--port PORT] [--prometheus URL] [-n NAMESPACE] [--context CONTEXT] [--kubeconfig FILE]',
      options: { port: { type: 'string', short: 'p' }, prometheus: { type: 'string' } },
      help: `Serves the dashboard on http://127.0.0.1:PORT/ui/ (default port ${DEFAULT_DASHBOARD_PORT}; 0 picks a free one)
and prints its URL, which carries a one-off session token. Reads and operations are made with
your kubeconfig credentials, under your RBAC. Charts query the policy's Prometheus from this
machine; --prometheus URL replaces it (e.g. a kubectl port-forward). Ctrl-C stops it.`,
    },
    deps,
    async (parsed, { io, deps: d, session }) => {
      if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument ${parsed.positionals[0]}`);
      const portText = parsed.values.port;
      const port = portText === undefined ? DEFAULT_DASHBOARD_PORT : Number(portText);
      if (typeof portText === 'boolean' || !Number.isInteger(port) || port < 0 || port > 65_535) {
        throw new UsageError(`--port must be a port number 0-65535, got ${JSON.stringify(portText)}`);
      }
      const prometheus = typeof parsed.values.prometheus === 'string' ? parsed.values.prometheus : undefined;
      if (prometheus !== undefined && !/^https?:\/\//.test(prometheus)) {
        throw new UsageError(`--prometheus must be an http(s) URL, got ${JSON.stringify(prometheus)}`);
      }
      const { kube, namespace, whoami } = session();
      const username = await whoami();
      const secret = randomBytes(24).toString('base64url');
      const app = build({
        releases: kubeReleaseReader(kube, io.now),
        operations: kubeOperationRequester(kube, io.now),
        authenticator: {
          authenticate: async (token) => (sameSecret(token, secret) ? { username, groups: [] } : null),
        },
        authorizer: selfSubjectAccessReviewAuthorizer(kube),
        readiness: () => ({ ready: true, reason: 'kubectl canary dashboard' }),
        registry: new Registry(),
        dashboard: kubeDashboardReader(kube, {
          // The policy's own Prometheus is replaced when --prometheus is given.
          ...(prometheus
            ? { overridePrometheus: { address: prometheus, timeout: '5s', insecureSkipVerify: false } }
            : {}),
        }),
      });
      const address = await listen(app, `127.0.0.1:${port}`);
      const bound = new URL(address).port;
      io.stdout(
        `Dashboard for ${username} (namespace ${namespace}): http://127.0.0.1:${bound}/ui/#ns=${namespace}&token=${secret}\n` +
          'Ctrl-C stops it.\n',
      );
      const interrupted = d.interrupt();
      await new Promise<void>((resolve) => {
        if (interrupted.aborted) resolve();
        interrupted.addEventListener('abort', () => resolve(), { once: true });
      });
      await app.close();
      io.stderr('dashboard stopped\n');
      return 0;
    },
  );

function sameSecret(given: string, secret: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(secret);
  return a.length === b.length && timingSafeEqual(a, b);
}
