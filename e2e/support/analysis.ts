// Helpers for the analysis e2e tests: a demo app behind a Service, a policy whose custom checks
// read the demo pods' own metrics from the cluster's real Prometheus, its release, and manual
// operations. What a release did is recorded by analysis-records.ts.
import * as k8s from '@kubernetes/client-node';
import type { Measurement } from '../../src/analysis/index.ts';
import { newOperation, operationPatch } from '../../src/server/operations.ts';
import { waitFor } from '../cluster/wait.ts';
import { createPolicy, type PolicyStatusView } from './canaryd.ts';
import { demoDeployment, demoService, type TestEnv } from './env.ts';

export const APP = 'web';
export const CANARY = `${APP}-canary`;

/** Canary error ratio (0–1) over the window; a healthy canary has no 5xx series at all, hence `or vector(0)`. */
export const errorRateQuery = (track: 'canary' | 'stable') =>
  `(sum(rate(http_requests_total{namespace="{{namespace}}",app="${APP}",track="${track}",code=~"5.."}[{{interval}}])) or vector(0))` +
  ` / sum(rate(http_requests_total{namespace="{{namespace}}",app="${APP}",track="${track}"}[{{interval}}]))`;

export const canarySampleQuery = `sum(increase(http_requests_total{namespace="{{namespace}}",app="${APP}",track="canary"}[{{interval}}]))`;

export const p99Query = (track: 'canary' | 'stable') =>
  `histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{namespace="{{namespace}}",app="${APP}",track="${track}"}[{{interval}}])))`;

export const errorRateCheck = (extra: object = {}) => ({
  name: 'error-rate',
  type: 'custom',
  query: errorRateQuery('canary'),
  sampleQuery: canarySampleQuery,
  minSample: 20,
  max: 0.05,
  ...extra,
});

export interface AnalysisStatusView {
  counters: {
    rounds: number;
    failedRounds: number;
    consecutiveInconclusiveRounds: number;
    lastRound: { at: string; verdict: string; problems: string[] } | null;
  };
  measurements: Measurement[];
}

export interface FullPolicy {
  metadata: k8s.V1ObjectMeta;
  status?: PolicyStatusView & {
    analysis?: AnalysisStatusView;
    release?: PolicyStatusView['release'] & { reason?: string; current?: { pausedBy?: string } };
  };
}

export async function readFullPolicy(kc: k8s.KubeConfig, namespace: string, name = APP): Promise<FullPolicy | null> {
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  return (await custom
    .getNamespacedCustomObject({ group: 'canaryd.dev', version: 'v1alpha1', namespace, plural: 'canarypolicies', name })
    .catch(() => null)) as FullPolicy | null;
}

/** The stable app (4 replicas of v1) behind its Service, Available. */
export async function deployStable(env: TestEnv): Promise<void> {
  const { apps, core, namespace } = env;
  await apps.createNamespacedDeployment({
    namespace,
    body: demoDeployment(namespace, { name: APP, replicas: 4, version: 'v1' }),
  });
  await core.createNamespacedService({ namespace, body: demoService(namespace, APP) });
  await waitFor(
    async () => (await apps.readNamespacedDeployment({ name: APP, namespace })).status?.availableReplicas === 4,
    { timeoutMs: 60_000, description: `${APP} v1 Available` },
  );
}

export interface PolicyOptions {
  steps: Array<{ weight: number; hold: string }>;
  checks: object[];
  failureLimit?: number;
  inconclusiveLimit?: number;
  interval?: string;
  window?: string;
  /** spec.notifications (docs/notifications.md). */
  notifications?: object;
}

/** A replica-ratio policy whose analysis reads the cluster's Prometheus, then waits for adoption. */
export async function createAnalysisPolicy(env: TestEnv, options: PolicyOptions): Promise<void> {
  const { kc, namespace, apps } = env;
  await createPolicy(kc, namespace, {
    apiVersion: 'canaryd.dev/v1alpha1',
    kind: 'CanaryPolicy',
    metadata: { name: APP, namespace },
    spec: {
      target: { deployment: APP, service: APP, router: 'replica-ratio' },
      strategy: { steps: options.steps, allowLargeFirstStep: true },
      analysis: {
        prometheus: { address: env.prometheusUrl, timeout: '2s' },
        interval: options.interval ?? '5s',
        window: options.window ?? '15s',
        failureLimit: options.failureLimit ?? 0,
        inconclusiveLimit: options.inconclusiveLimit ?? 3,
        checks: options.checks,
      },
      timeouts: { canaryReady: '60s', promotion: '90s' },
      ...(options.notifications === undefined ? {} : { notifications: options.notifications }),
    },
  });
  await waitFor(
    async () => {
      const policy = await readFullPolicy(kc, namespace);
      const deployment = await apps.readNamespacedDeployment({ name: APP, namespace });
      return policy?.status?.phase === 'idle' && deployment.spec?.paused === true;
    },
    { timeoutMs: 30_000, description: 'policy adopted the Deployment (paused, phase idle)' },
  );
}

/** A new template (v2) with the demo app's fault knobs: the release begins. */
export async function releaseV2(env: TestEnv, faults: { errorRate?: number; latencyMs?: number } = {}): Promise<void> {
  await env.apps.patchNamespacedDeployment(
    {
      name: APP,
      namespace: env.namespace,
      body: {
        spec: {
          template: {
            spec: {
              containers: [
                {
                  name: 'app',
                  image: 'canaryd-demo:v2',
                  env: [
                    { name: 'VERSION', value: 'v2' },
                    { name: 'ERROR_RATE', value: String(faults.errorRate ?? 0) },
                    { name: 'LATENCY_MS', value: String(faults.latencyMs ?? 0) },
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

/** Hands canaryd a manual operation (as `kubectl canary <op>` does) and waits for its acknowledgement. */
export async function requestOperation(env: TestEnv, op: 'resume' | 'pause'): Promise<void> {
  const custom = env.kc.makeApiClient(k8s.CustomObjectsApi);
  const operation = newOperation({ op }, 'e2e', new Date());
  await custom.patchNamespacedCustomObject(
    {
      group: 'canaryd.dev',
      version: 'v1alpha1',
      namespace: env.namespace,
      plural: 'canarypolicies',
      name: APP,
      body: operationPatch(operation),
    },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  );
  await waitFor(
    async () => {
      const release = (await readFullPolicy(env.kc, env.namespace))?.status?.release as
        | { lastOperationId?: string; recentOperationIds?: string[] }
        | undefined;
      return release?.lastOperationId === operation.id || release?.recentOperationIds?.includes(operation.id);
    },
    { timeoutMs: 15_000, description: `canaryd to acknowledge ${op}` },
  );
}

/** Fails fast with what the status says when the release ends in a phase the test did not expect. */
export function describeStatus(policy: FullPolicy | null): string {
  const s = policy?.status;
  if (!s) return '(no status)';
  const last = s.analysis?.counters.lastRound;
  return `phase=${s.phase} weight=${s.weight} step=${s.step} message=${s.message} lastRound=${last ? `${last.verdict} ${last.problems.join(' | ')}` : 'none'}`;
}
