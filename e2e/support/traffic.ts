// Traffic through the local data plane while a release runs: a steady, paced stream of requests
// through the proxy that records who answered (the demo app or the proxy itself), and measured
// shares judged by the binomial interval of the weight canaryd wrote.
import * as k8s from '@kubernetes/client-node';
import { type ProxyLoadReport, sendThroughProxy } from '../cluster/proxy-load.ts';
import { traefikCanaryShares } from '../cluster/traefik.ts';
import { waitFor } from '../cluster/wait.ts';
import { demoDeployment, demoService, type TestEnv } from './env.ts';

export const Z_95 = 1.959963984540054;

/** Pause between batches of the background stream: about 100 requests per second in all. */
const PACE_MS = 100;

export interface Stream {
  /** Stops the stream and returns what it saw, including every proxy answer with its time. */
  stop(): Promise<StreamReport>;
  /** What the stream has seen so far. */
  readonly seen: StreamReport;
}

export interface StreamReport {
  sent: number;
  failures: number;
  byVersion: Record<string, number>;
  byCode: Record<string, number>;
  /** Answers the proxy gave itself (no route, no backend, bad gateway): a failed switch. */
  proxyAnswers: Array<{ at: string; code: string }>;
  /** Requests that got no HTTP answer at all (connection reset, timeout), with their time. */
  failedAt: string[];
}

/**
 * Sends requests through the proxy in small batches until stopped, bounded by `maxDurationMs`
 * (and so in count: about 100 per second, or what `load` asks for).
 */
export function streamThroughProxy(options: {
  proxyUrl: string;
  host: string;
  maxDurationMs: number;
  headers?: Record<string, string>;
  /** Heavier load: requests per batch (default 10), senders (default 2), pause between batches (default 100 ms). */
  load?: { batch: number; concurrency: number; paceMs: number };
}): Stream {
  const load = options.load ?? { batch: 10, concurrency: 2, paceMs: PACE_MS };
  const seen: StreamReport = { sent: 0, failures: 0, byVersion: {}, byCode: {}, proxyAnswers: [], failedAt: [] };
  const started = Date.now();
  let running = true;
  const loop = (async () => {
    while (running && Date.now() - started < options.maxDurationMs) {
      const batch = await sendThroughProxy({
        proxyUrl: options.proxyUrl,
        host: options.host,
        headers: options.headers,
        requests: load.batch,
        concurrency: load.concurrency,
        maxDurationMs: 10_000,
      });
      merge(seen, batch);
      await new Promise((resolve) => setTimeout(resolve, load.paceMs));
    }
  })();
  return {
    seen,
    stop: async () => {
      running = false;
      await loop;
      return seen;
    },
  };
}

function merge(into: StreamReport, batch: ProxyLoadReport): void {
  const at = new Date().toISOString();
  into.sent += batch.sent;
  into.failures += batch.failures;
  for (let i = 0; i < batch.failures; i++) into.failedAt.push(at);
  for (const [version, count] of Object.entries(batch.byVersion)) {
    into.byVersion[version] = (into.byVersion[version] ?? 0) + count;
  }
  for (const [code, count] of Object.entries(batch.byCode)) into.byCode[code] = (into.byCode[code] ?? 0) + count;
  for (const [code, count] of Object.entries(batch.proxyCodes)) {
    for (let i = 0; i < count; i++) into.proxyAnswers.push({ at, code });
  }
}

/** Percent with two decimals, for messages. */
export const pct = (part: number, whole: number): string => `${((part / Math.max(1, whole)) * 100).toFixed(2)} %`;

/**
 * Traefik applies a weight moments after canaryd writes it (it first sees the Ingress or the
 * HTTPRoute, then the canary's endpoints): waits until Traefik's own API says every weighted pair
 * of the namespace (or only those whose name starts with `pairPrefix`, e.g.
 * `httproute-<ns>-<route>-` for one HTTPRoute) carries exactly `weight` percent.
 */
export function waitForTraefikWeight(
  apiUrl: string,
  namespace: string,
  weight: number,
  timeoutMs: number,
  pairPrefix = '',
) {
  return waitFor(
    async () => {
      const shares = Object.entries(await traefikCanaryShares(apiUrl, namespace))
        .filter(([pair]) => pair.startsWith(pairPrefix))
        .map(([, share]) => share);
      return shares.length > 0 && shares.every((share) => Math.abs(share - weight / 100) < 1e-9);
    },
    { timeoutMs, intervalMs: 100, description: `Traefik carrying the canary at ${weight} %` },
  );
}

/**
 * A demo Deployment behind a Service of the same name and an Ingress (class nginx, served by
 * Traefik) for `host`. With `versionFromImage` the pods report their image tag as their version
 * (no VERSION variable), so a plain `kubectl set image` releases a new version.
 */
export async function deployBehindIngress(
  env: TestEnv,
  options: {
    name: string;
    host: string;
    replicas: number;
    version: string;
    versionFromImage?: boolean;
    latencyMs?: number;
  },
): Promise<void> {
  const { kc, apps, core, namespace } = env;
  const deployment = demoDeployment(namespace, options);
  if (options.versionFromImage) {
    const container = deployment.spec!.template.spec!.containers[0]!;
    container.env = container.env?.filter((variable) => variable.name !== 'VERSION');
  }
  await apps.createNamespacedDeployment({ namespace, body: deployment });
  await core.createNamespacedService({ namespace, body: demoService(namespace, options.name) });
  const backend = { service: { name: options.name, port: { name: 'http' } } };
  await kc.makeApiClient(k8s.NetworkingV1Api).createNamespacedIngress({
    namespace,
    body: {
      metadata: { name: options.name, namespace },
      spec: {
        ingressClassName: 'nginx',
        rules: [{ host: options.host, http: { paths: [{ path: '/', pathType: 'Prefix', backend }] } }],
      },
    },
  });
}

/**
 * A new version of an app, as `kubectl set image` and `kubectl set env` would write it (the demo
 * image reads VERSION and ERROR_RATE; `env` adds others, e.g. READY_AFTER_MS for a slow start).
 */
export async function setVersion(
  apps: k8s.AppsV1Api,
  namespace: string,
  name: string,
  version: string,
  errorRate: number,
  env: Record<string, string> = {},
): Promise<void> {
  await apps.patchNamespacedDeployment(
    {
      name,
      namespace,
      body: {
        spec: {
          template: {
            spec: {
              containers: [
                {
                  name: 'app',
                  image: `canaryd-demo:${version}`,
                  env: [
                    { name: 'VERSION', value: version },
                    { name: 'ERROR_RATE', value: String(errorRate) },
                    ...Object.entries(env).map(([variable, value]) => ({ name: variable, value })),
                  ],
                },
              ],
            },
          },
        },
      },
    },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
  );
}

/**
 * The pod addresses Traefik sends a namespace's traffic to (its API: every load-balanced service
 * of the namespace, both providers), and whether any of them is a canary service. What the data
 * plane really does, which lags the EndpointSlices by the moments Traefik takes to see them.
 */
export async function traefikBackends(apiUrl: string, namespace: string): Promise<{ ips: string[]; canary: boolean }> {
  const res = await fetch(`${apiUrl}/api/http/services`, { signal: AbortSignal.timeout(5000) });
  if (res.status !== 200) throw new Error(`traefik API ${apiUrl}/api/http/services answered ${res.status}`);
  const services = (await res.json()) as Array<{ name: string; loadBalancer?: { servers?: Array<{ url?: string }> } }>;
  const ours = services.filter(
    (s) => (s.name.startsWith(`${namespace}-`) || s.name.includes(`-${namespace}-`)) && s.loadBalancer !== undefined,
  );
  const ips = ours.flatMap((s) => (s.loadBalancer?.servers ?? []).map((server) => new URL(server.url ?? '').hostname));
  return { ips: [...new Set(ips)].sort(), canary: ours.some((s) => /-canary(-|@|$)/.test(s.name)) };
}
