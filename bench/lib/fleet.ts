// A fleet of N apps for the scale and memory benchmarks: a Deployment (1 replica, a non-demo
// image the pod runner leaves alone), a Service and a CanaryPolicy each (replica-ratio, or
// ingress-nginx with an Ingress of class nginx per app, which the cluster's Traefik serves), 100 per
// namespace; a watch over every policy's status; and progress lines while canaryd adopts them.
import { WaitAborted, waitFor } from '../../e2e/cluster/wait.ts';
import { demoDeployment, demoService } from '../../e2e/support/env.ts';
import { createPolicy, type PolicyStatus, policyBody, type Step, watchPolicies } from './app.ts';
import { type BenchCluster, createNamespace } from './cluster.ts';
import { say, sleep } from './common.ts';

export const FLEET_STEPS: Step[] = [
  { weight: 10, hold: '5s' },
  { weight: 30, hold: '5s' },
  { weight: 50, hold: '5s' },
];
const PER_NAMESPACE = 100;

export const FLEET_ROUTERS = ['replica-ratio', 'ingress-nginx'] as const;
export type FleetRouter = (typeof FLEET_ROUTERS)[number];

/** An Ingress of class nginx sending app.bench.test to the app's Service (the router's stable Ingress). */
const appIngress = (namespace: string, app: string) => ({
  metadata: { name: app, namespace },
  spec: {
    ingressClassName: 'nginx',
    rules: [
      {
        host: `${app}.${namespace}.bench.test`,
        http: {
          paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: app, port: { name: 'http' } } } }],
        },
      },
    ],
  },
});

export const nsOf = (i: number) => `scale-${Math.floor(i / PER_NAMESPACE)}`;
export const appOf = (i: number) => `app-${i}`;
export const namespacesFor = (n: number) => Math.ceil(n / PER_NAMESPACE);

/** Runs `fn` over `items` with `size` at a time. */
export async function inBatches<T>(items: T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: size }, async () => {
      while (i < items.length) {
        const item = items[i++] as T;
        await fn(item);
      }
    }),
  );
}

/** A progress line at most every `everyMs` (and always the last one). */
export function progress(everyMs = 10_000) {
  let last = 0;
  return (line: string, force = false) => {
    if (!force && Date.now() - last < everyMs) return;
    last = Date.now();
    say(line);
  };
}

/**
 * A create that a busy apiserver answered with a timeout (504) or 5xx, or that got no answer, is
 * tried again (up to 5 times, 2 s apart); AlreadyExists then means the first attempt did land.
 */
async function retried(create: () => Promise<unknown>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await create();
      return;
    } catch (error) {
      const code = (error as { code?: number }).code;
      if (attempt > 1 && code === 409) return;
      if (attempt >= 5 || (code !== undefined && code < 500)) throw error;
      say(`create failed (${code ?? (error as Error).message}); again in 2 s (attempt ${attempt + 1} of 5)`);
      await sleep(2000);
    }
  }
}

/**
 * Creates apps 0..n-1 (namespaces included) and waits until their Deployments are Available.
 * `shardOf(i)`: the canaryd.dev/shard label of app i's policy (none when undefined).
 */
export async function createFleet(
  cluster: BenchCluster,
  n: number,
  shardOf: (i: number) => string | undefined = () => undefined,
  router: FleetRouter = 'replica-ratio',
): Promise<void> {
  if (n <= 0) return;
  const indexes = Array.from({ length: n }, (_, i) => i);
  const namespaces = [...new Set(indexes.map(nsOf))];
  for (const ns of namespaces) await createNamespace(cluster, ns);
  const tell = progress();
  let done = 0;
  await inBatches(indexes, 16, async (i) => {
    const ns = nsOf(i);
    const app = appOf(i);
    const deployment = demoDeployment(ns, { name: app, replicas: 1, version: 'v1' });
    const container = deployment.spec?.template.spec?.containers[0];
    if (container) container.image = 'bench/pause:1';
    await retried(() => cluster.apps.createNamespacedDeployment({ namespace: ns, body: deployment }));
    await retried(() => cluster.core.createNamespacedService({ namespace: ns, body: demoService(ns, app) }));
    if (router === 'ingress-nginx')
      await retried(() => cluster.networking.createNamespacedIngress({ namespace: ns, body: appIngress(ns, app) }));
    const shard = shardOf(i);
    const options = { steps: FLEET_STEPS, router, ...(shard === undefined ? {} : { shard }) };
    await retried(() => createPolicy(cluster, ns, policyBody(ns, app, options)));
    done++;
    tell(`created ${done}/${indexes.length} Deployments, Services and CanaryPolicies`, done === indexes.length);
  });
  const wanted = indexes.length;
  await waitFor(
    async () => {
      let available = 0;
      for (const ns of namespaces) {
        const list = await cluster.apps.listNamespacedDeployment({ namespace: ns });
        available += list.items.filter((d) => d.status?.availableReplicas === 1).length;
      }
      tell(`${available}/${wanted} Deployments Available`);
      return available >= wanted;
    },
    {
      timeoutMs: Math.max(15, Math.ceil(wanted / 200)) * 60_000,
      intervalMs: 2000,
      description: `${wanted} Deployments Available`,
    },
  );
}

export interface Seen {
  seenAt: number;
  status: PolicyStatus;
}

/** Every status write of every policy, as the benchmark's own watch saw it, by "ns/name". */
export async function watchFleet(cluster: BenchCluster) {
  const statuses = new Map<string, Seen[]>();
  const watch = await watchPolicies(cluster, undefined, (e) => {
    const key = `${e.namespace}/${e.name}`;
    const list = statuses.get(key) ?? [];
    statuses.set(key, list);
    list.push({ seenAt: e.seenAt, status: e.status });
  });
  /** Policies whose status said `phase` at or after `since`. */
  const countPhase = (since: number, phases: string[], keys?: string[]) =>
    (keys ?? [...statuses.keys()]).filter((key) =>
      (statuses.get(key) ?? []).some((s) => s.seenAt >= since && phases.includes(s.status.phase ?? '')),
    ).length;
  /** Policies adopted at or after `since`: Ready=True, which canaryd writes once it sees the pause. */
  const countAdopted = (since: number) =>
    [...statuses.values()].filter((seen) =>
      seen.some(
        (s) => s.seenAt >= since && s.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      ),
    ).length;
  return { statuses, countPhase, countAdopted, stop: () => watch.stop() };
}

/** Waits until `n` policies said Ready since `since` (canaryd saw each Deployment paused), with progress lines. */
export async function waitAdoptedFleet(
  fleet: Awaited<ReturnType<typeof watchFleet>>,
  n: number,
  since: number,
  alive: () => boolean,
): Promise<number> {
  const tell = progress();
  await waitFor(
    async () => {
      // WaitAborted: waitFor takes any other error for a probe to try again.
      if (!alive()) throw new WaitAborted('canaryd exited while adopting');
      const adopted = fleet.countAdopted(since);
      tell(`${adopted}/${n} policies adopted`, adopted >= n);
      return adopted >= n;
    },
    {
      timeoutMs: Math.max(15 * 60_000, n * 300),
      intervalMs: 500,
      description: `all ${n} policies adopted`,
    },
  );
  return Date.now() - since;
}
