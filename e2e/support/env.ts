// What every e2e test gets: clients for the cluster, its own namespace (deleted afterwards),
// Prometheus, and small builders for the demo app's objects.
import { randomBytes } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, inject } from 'vitest';
import { waitFor } from '../cluster/wait.ts';

export interface TestEnv {
  /** Path of the cluster's kubeconfig (for processes the test starts). */
  kubeconfig: string;
  kc: k8s.KubeConfig;
  core: k8s.CoreV1Api;
  apps: k8s.AppsV1Api;
  discovery: k8s.DiscoveryV1Api;
  namespace: string;
  prometheusUrl: string;
  scrapeIntervalSeconds: number;
}

/** Call at the top of a describe block: creates a fresh namespace before its tests, deletes it after. */
export function useTestEnv(prefix: string): TestEnv {
  const cluster = inject('cluster');
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(cluster.kubeconfig);
  const env: TestEnv = {
    kubeconfig: cluster.kubeconfig,
    kc,
    core: kc.makeApiClient(k8s.CoreV1Api),
    apps: kc.makeApiClient(k8s.AppsV1Api),
    discovery: kc.makeApiClient(k8s.DiscoveryV1Api),
    namespace: `e2e-${prefix}-${randomBytes(3).toString('hex')}`,
    prometheusUrl: cluster.prometheusUrl,
    scrapeIntervalSeconds: cluster.scrapeIntervalSeconds,
  };
  beforeAll(async () => {
    await env.core.createNamespace({ body: { metadata: { name: env.namespace } } });
    await waitFor(
      async () => (await env.core.readNamespacedServiceAccount({ name: 'default', namespace: env.namespace })) !== null,
      { timeoutMs: 30_000, description: `default ServiceAccount in ${env.namespace}` },
    );
  });
  afterAll(async () => {
    // The tests' own afterAll hooks run first (stack order) and stop canaryd, which would have
    // removed its finalizer from each CanaryPolicy; without it the namespace would stay
    // Terminating until the cluster goes. The whole namespace goes, so drop the finalizers.
    await releaseFinalizers(env).catch(() => {
      // No CRD installed by this test, or the cluster is down.
    });
    await env.core.deleteNamespace({ name: env.namespace }).catch(() => {
      // Namespace already gone (or the cluster is down): nothing to clean up.
    });
  });
  return env;
}

export interface DemoAppOptions {
  name: string;
  replicas: number;
  version: string;
  errorRate?: number;
  latencyMs?: number;
  labels?: Record<string, string>;
}

export function demoDeployment(namespace: string, options: DemoAppOptions): k8s.V1Deployment {
  const labels = { app: options.name, ...options.labels };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: options.name, namespace, labels: { app: options.name } },
    spec: {
      replicas: options.replicas,
      selector: { matchLabels: { app: options.name } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: { labels },
        spec: {
          containers: [
            {
              name: 'app',
              image: `canaryd-demo:${options.version}`,
              ports: [{ name: 'http', containerPort: 8080 }],
              env: [
                { name: 'VERSION', value: options.version },
                { name: 'ERROR_RATE', value: String(options.errorRate ?? 0) },
                { name: 'LATENCY_MS', value: String(options.latencyMs ?? 0) },
              ],
            },
          ],
        },
      },
    },
  };
}

export function demoService(namespace: string, name: string): k8s.V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace },
    spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  };
}

/** Instant query; returns the vector's samples as label sets with numbers. */
export async function promQuery(
  prometheusUrl: string,
  query: string,
): Promise<Array<{ metric: Record<string, string>; value: number }>> {
  const url = `${prometheusUrl}/api/v1/query?query=${encodeURIComponent(query)}`;
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  const body = (await res.json()) as {
    status: string;
    data?: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> };
    error?: string;
  };
  if (body.status !== 'success' || !body.data) throw new Error(`prometheus: ${body.error ?? res.status}`);
  return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
}

async function releaseFinalizers(env: TestEnv): Promise<void> {
  const custom = env.kc.makeApiClient(k8s.CustomObjectsApi);
  const target = { group: 'canaryd.dev', version: 'v1alpha1', namespace: env.namespace, plural: 'canarypolicies' };
  const list = (await custom.listNamespacedCustomObject(target)) as { items?: Array<{ metadata: { name: string } }> };
  for (const item of list.items ?? []) {
    await custom.patchNamespacedCustomObject(
      { ...target, name: item.metadata.name, body: { metadata: { finalizers: null } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
  }
}
