// The release journeys' Given and When: the managed demo app (a Deployment + Service of `web`,
// Available, then adopted by a replica-ratio policy) and what a person does to it during a
// release: set a new template (`kubectl set image`, optionally never ready) and write a manual
// operation the way `kubectl canary` writes it.
import * as k8s from '@kubernetes/client-node';
import type { ManualOperation } from '../../src/engine/types.ts';
import { newOperation, type OperationRequest, operationPatch } from '../../src/server/operations.ts';
import { waitFor } from '../cluster/wait.ts';
import { createPolicy, readPolicy } from './canaryd.ts';
import { GROUP, PLURAL, VERSION } from './crd.ts';
import { demoDeployment, demoService, type TestEnv } from './env.ts';

export const APP = 'web';
export const CANARY = `${APP}-canary`;
export const NEVER_READY = 'demo.canaryd.dev/never-ready';

export interface StepSpec {
  weight: number;
  hold: string;
  pause?: boolean;
  approval?: boolean;
}

/** A v1 Deployment of `replicas` pods behind a Service, Available, then adopted by a replica-ratio policy. */
export async function deployManaged(
  env: TestEnv,
  options: {
    replicas?: number;
    steps: StepSpec[];
    timeouts?: Record<string, string>;
    spec?: Record<string, unknown>;
    /** How long canaryd may take to adopt (default 30 s: canaryd already running and synced). */
    adoptionTimeoutMs?: number;
  },
): Promise<void> {
  const { apps, core, kc, namespace } = env;
  const replicas = options.replicas ?? 4;
  await apps.createNamespacedDeployment({
    namespace,
    body: demoDeployment(namespace, { name: APP, replicas, version: 'v1' }),
  });
  await core.createNamespacedService({ namespace, body: demoService(namespace, APP) });
  await waitFor(
    async () => (await apps.readNamespacedDeployment({ name: APP, namespace })).status?.availableReplicas === replicas,
    { timeoutMs: 60_000, description: `${APP} v1 Available` },
  );
  await createPolicy(kc, namespace, {
    apiVersion: 'canaryd.dev/v1alpha1',
    kind: 'CanaryPolicy',
    metadata: { name: APP, namespace },
    spec: {
      target: { deployment: APP, service: APP, router: 'replica-ratio' },
      strategy: { steps: options.steps, allowLargeFirstStep: true },
      timeouts: { canaryReady: '60s', promotion: '90s', ...options.timeouts },
      ...options.spec,
    },
  });
  await waitFor(
    async () => {
      const policy = await readPolicy(kc, namespace, APP);
      const deployment = await apps.readNamespacedDeployment({ name: APP, namespace });
      return policy?.status?.phase === 'idle' && deployment.spec?.paused === true;
    },
    {
      timeoutMs: options.adoptionTimeoutMs ?? 30_000,
      description: 'policy adopted the Deployment (paused, phase idle)',
    },
  );
}

/**
 * What `kubectl set image` (plus a label) does: a new pod template with image canaryd-demo:<version>;
 * with `changeCause`, in the same write, what `kubectl annotate kubernetes.io/change-cause=…` adds.
 */
export async function setTemplate(
  env: TestEnv,
  version: string,
  options: { neverReady?: boolean; changeCause?: string } = {},
): Promise<void> {
  const annotations =
    options.changeCause === undefined ? {} : { annotations: { 'kubernetes.io/change-cause': options.changeCause } };
  await env.apps.patchNamespacedDeployment(
    {
      name: APP,
      namespace: env.namespace,
      body: {
        ...(options.changeCause === undefined ? {} : { metadata: annotations }),
        spec: {
          template: {
            metadata: { labels: { [NEVER_READY]: options.neverReady ? 'true' : null } },
            spec: {
              containers: [
                { name: 'app', image: `canaryd-demo:${version}`, env: [{ name: 'VERSION', value: version }] },
              ],
            },
          },
        },
      },
    },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
  );
}

/** Writes the operation annotation the way `kubectl canary` does (src/server/operations.ts). */
export async function operate(env: TestEnv, request: OperationRequest, by: string): Promise<ManualOperation> {
  const operation = newOperation(request, by, new Date());
  const custom = env.kc.makeApiClient(k8s.CustomObjectsApi);
  const target = { group: GROUP, version: VERSION, namespace: env.namespace, plural: PLURAL, name: APP };
  const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
  await custom.patchNamespacedCustomObject({ ...target, body: operationPatch(operation) }, mergePatch);
  return operation;
}
