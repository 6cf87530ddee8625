// The demo app, its policy and its releases, for benchmarks and drills: builders, a release by
// template patch, a watch over policy statuses, and paced background traffic.
import * as k8s from '@kubernetes/client-node';
import { sendLoad } from '../../e2e/cluster/loadgen.ts';
import { waitFor } from '../../e2e/cluster/wait.ts';
import { demoDeployment, demoService } from '../../e2e/support/env.ts';
import type { BenchCluster } from './cluster.ts';

export const GROUP = 'canaryd.dev';
export const VERSION = 'v1alpha1';
export const PLURAL = 'canarypolicies';
const strategic = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch);
export const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

export interface Step {
  weight: number;
  hold: string;
}

export interface PolicyStatus {
  phase?: string;
  weight?: number;
  step?: string;
  message?: string;
  nextStepAt?: string;
  router?: string;
  conditions?: Array<{ type: string; status: string; reason: string; message: string }>;
  release?: {
    phase: string;
    reason?: string;
    history: Array<{
      revision: number;
      templateHash: string;
      outcome: string;
      reason: string;
      changeCause: string;
      endedAt?: string;
    }>;
    current?: {
      revision: number;
      templateHash: string;
      stepIndex: number;
      weight: number;
      stepStartedAt?: string;
      stepEnteredAt?: string;
    };
  };
  analysis?: {
    counters: {
      rounds: number;
      failedRounds: number;
      lastRound: { at: string; verdict: string; problems: string[] } | null;
    };
    measurements: Array<{
      at: string;
      verdict: string;
      value?: number;
      sample?: number;
      check?: string;
      reason?: string;
    }>;
  };
}

export interface PolicyObject {
  metadata: k8s.V1ObjectMeta;
  spec?: unknown;
  status?: PolicyStatus;
}

/** The demo app (v1) and its Service; waits until Available unless told not to. */
export async function deployApp(
  cluster: BenchCluster,
  namespace: string,
  name: string,
  options: { replicas: number; version?: string; image?: string; wait?: boolean },
): Promise<void> {
  const body = demoDeployment(namespace, { name, replicas: options.replicas, version: options.version ?? 'v1' });
  if (options.image) {
    const container = body.spec?.template.spec?.containers[0];
    if (container) container.image = options.image;
  }
  await cluster.apps.createNamespacedDeployment({ namespace, body });
  await cluster.core.createNamespacedService({ namespace, body: demoService(namespace, name) });
  if (options.wait !== false) await waitAvailable(cluster, namespace, name, options.replicas);
}

export async function waitAvailable(cluster: BenchCluster, namespace: string, name: string, replicas: number) {
  await waitFor(
    async () =>
      (await cluster.apps.readNamespacedDeployment({ name, namespace })).status?.availableReplicas === replicas,
    { timeoutMs: 90_000, intervalMs: 300, description: `${namespace}/${name} Available (${replicas})` },
  );
}

export interface PolicyOptions {
  steps: Step[];
  router?: 'replica-ratio' | 'ingress-nginx';
  surgeBudget?: number;
  analysis?: object;
  name?: string;
  /** canaryd.dev/shard: reconciled by the canaryd started with --shard of this name. */
  shard?: string;
}

export function policyBody(namespace: string, app: string, options: PolicyOptions): object {
  const spec: Record<string, unknown> = {
    target: { deployment: app, service: app, router: options.router ?? 'replica-ratio' },
    strategy: { steps: options.steps, allowLargeFirstStep: true },
    timeouts: { canaryReady: '90s', promotion: '120s' },
  };
  if (options.surgeBudget !== undefined) spec.replicaRatio = { surgeBudget: options.surgeBudget };
  if (options.analysis) spec.analysis = options.analysis;
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'CanaryPolicy',
    metadata: {
      name: options.name ?? app,
      namespace,
      ...(options.shard === undefined ? {} : { labels: { 'canaryd.dev/shard': options.shard } }),
    },
    spec,
  };
}

export async function createPolicy(cluster: BenchCluster, namespace: string, body: object): Promise<void> {
  await cluster.custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: PLURAL,
    body,
  });
}

export async function readPolicy(cluster: BenchCluster, namespace: string, name: string): Promise<PolicyObject | null> {
  return (await cluster.custom
    .getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, name })
    .catch(() => null)) as PolicyObject | null;
}

export async function waitAdopted(cluster: BenchCluster, namespace: string, name: string, timeoutMs = 60_000) {
  await waitFor(
    async () => {
      const policy = await readPolicy(cluster, namespace, name);
      const deployment = await cluster.apps.readNamespacedDeployment({ name, namespace });
      return policy?.status?.phase === 'idle' && deployment.spec?.paused === true;
    },
    { timeoutMs, intervalMs: 250, description: `${namespace}/${name} adopted (idle, paused)` },
  );
}

/** A new template: the release begins. */
export async function release(
  cluster: BenchCluster,
  namespace: string,
  app: string,
  version: string,
  faults: { errorRate?: number; image?: string } = {},
): Promise<void> {
  await cluster.apps.patchNamespacedDeployment(
    {
      name: app,
      namespace,
      body: {
        spec: {
          template: {
            spec: {
              containers: [
                {
                  name: 'app',
                  image: faults.image ?? `canaryd-demo:${version}`,
                  env: [
                    { name: 'VERSION', value: version },
                    { name: 'ERROR_RATE', value: String(faults.errorRate ?? 0) },
                  ],
                },
              ],
            },
          },
        },
      },
    },
    strategic,
  );
}

export const RESTING = new Set(['succeeded', 'failed']);

export async function waitEnd(
  cluster: BenchCluster,
  namespace: string,
  name: string,
  timeoutMs: number,
): Promise<PolicyObject> {
  return waitFor(
    async () => {
      const p = await readPolicy(cluster, namespace, name);
      return p?.status?.phase && RESTING.has(p.status.phase) ? p : undefined;
    },
    { timeoutMs, intervalMs: 250, description: `${namespace}/${name} release to end` },
  );
}

export interface StatusEvent {
  seenAt: number;
  namespace: string;
  name: string;
  status: PolicyStatus;
}

/** Watches CanaryPolicies (one namespace or all) and hands every status write to `onStatus`. */
export async function watchPolicies(
  cluster: BenchCluster,
  namespace: string | undefined,
  onStatus: (event: StatusEvent) => void,
): Promise<{ stop(): void }> {
  const path = namespace
    ? `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${PLURAL}`
    : `/apis/${GROUP}/${VERSION}/${PLURAL}`;
  let stopped = false;
  let request: { abort(): void } | undefined;
  const start = async () => {
    request = await new k8s.Watch(cluster.kc).watch(
      path,
      {},
      (_type: string, object: PolicyObject) => {
        if (!object.status) return;
        onStatus({
          seenAt: Date.now(),
          namespace: object.metadata.namespace ?? '',
          name: object.metadata.name ?? '',
          status: object.status,
        });
      },
      () => {
        // Watches end (timeouts, an apiserver outage): start again while wanted.
        if (!stopped) setTimeout(() => void start().catch(() => setTimeout(() => void start(), 1000)), 500);
      },
    );
  };
  await start();
  return {
    stop() {
      stopped = true;
      request?.abort();
    },
  };
}

/** Paced traffic to a Service until stopped (batch every second, bounded in total). */
export function backgroundLoad(
  cluster: BenchCluster,
  namespace: string,
  service: string,
  options: { perSecond?: number; maxRequests?: number } = {},
) {
  const perSecond = options.perSecond ?? 30;
  const maxRequests = options.maxRequests ?? 20_000;
  let sent = 0;
  let running = true;
  const loop = (async () => {
    while (running && sent < maxRequests) {
      const t = Date.now();
      const report = await sendLoad(cluster.kc, {
        namespace,
        service,
        requests: perSecond,
        concurrency: 2,
        maxDurationMs: 1000,
      }).catch(() => null);
      sent += report?.sent ?? 0;
      const rest = 1000 - (Date.now() - t);
      if (running && rest > 0) await new Promise((r) => setTimeout(r, rest));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return sent;
    },
  };
}

/** The app's own error ratio over the analysis window, from the demo pods' metrics. */
export const errorRateCheck = (app: string) => ({
  name: 'error-rate',
  type: 'custom',
  query:
    `(sum(rate(http_requests_total{namespace="{{namespace}}",app="${app}",track="canary",code=~"5.."}[{{interval}}])) or vector(0))` +
    ` / sum(rate(http_requests_total{namespace="{{namespace}}",app="${app}",track="canary"}[{{interval}}]))`,
  sampleQuery: `sum(increase(http_requests_total{namespace="{{namespace}}",app="${app}",track="canary"}[{{interval}}]))`,
  minSample: 10,
  max: 0.05,
});

export async function eventsIn(cluster: BenchCluster, namespace: string) {
  const list = await cluster.core.listNamespacedEvent({ namespace });
  return list.items.map((e) => ({
    reason: e.reason ?? '',
    type: e.type ?? '',
    object: `${e.involvedObject.kind}/${e.involvedObject.name}`,
    message: e.message ?? '',
    count: e.count ?? 1,
    at: e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp,
  }));
}
