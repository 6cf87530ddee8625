// deploy/components/finalizer-on-create exactly as shipped (Kubernetes 1.36+): the API server adds
// canaryd's finalizer to every CanaryPolicy it creates (docs/install.md).
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { REPO_ROOT } from '../cluster/cluster.ts';
import { waitFor } from '../cluster/wait.ts';
import { installManifests } from './manifests.ts';

export const FINALIZER_POLICY_FILE = join(
  REPO_ROOT,
  'deploy',
  'components',
  'finalizer-on-create',
  'finalizer-policy.yaml',
);

/**
 * Creates the MutatingAdmissionPolicy and its binding (or replaces them), then waits until the API
 * server applies it: admission policies reach the admission chain asynchronously, so a probe
 * policy is created with dry-run until the answer carries the finalizer. `onlyIn`: the binding
 * narrowed to one namespace (a test on a cluster other tests share: their policies must not get
 * a finalizer no canaryd of theirs removes). Returns how to remove both again.
 */
export async function installFinalizerPolicy(
  kc: k8s.KubeConfig,
  probeNamespace: string,
  options: { onlyIn?: string; timeoutMs?: number } = {},
): Promise<{ uninstall(): Promise<void> }> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const narrowed = (object: k8s.KubernetesObject) =>
    options.onlyIn === undefined || object.kind !== 'MutatingAdmissionPolicyBinding'
      ? object
      : {
          ...object,
          spec: {
            ...(object as { spec?: object }).spec,
            matchResources: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': options.onlyIn } } },
          },
        };
  const installed = await installManifests(kc, FINALIZER_POLICY_FILE, timeoutMs, narrowed);
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  await waitFor(
    async () => {
      const probe = (await custom.createNamespacedCustomObject({
        group: 'canaryd.dev',
        version: 'v1alpha1',
        namespace: probeNamespace,
        plural: 'canarypolicies',
        dryRun: 'All',
        body: {
          apiVersion: 'canaryd.dev/v1alpha1',
          kind: 'CanaryPolicy',
          metadata: { name: 'finalizer-policy-probe' },
          spec: { target: { deployment: 'probe', service: 'probe' } },
        },
      })) as { metadata?: { finalizers?: string[] } };
      return probe.metadata?.finalizers?.includes('canaryd.dev/cleanup') ? true : undefined;
    },
    { timeoutMs, description: 'the API server to add the finalizer at creation (MutatingAdmissionPolicy)' },
  );
  const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
  return {
    async uninstall() {
      for (const object of installed.reverse()) {
        await objects.delete(object).catch(() => {});
      }
    },
  };
}
