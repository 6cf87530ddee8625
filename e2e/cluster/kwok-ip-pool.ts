// kwok v0.8.0 creates its pod IP pool for a CIDR on first use with a load, then a store
// (PodController.ipPool): pods started together as the very first ones of a cluster can each
// make a pool of their own and get the same address. Seen: a Deployment's four pods, the first
// of a fresh cluster, two of them given 198.18.144.1 — the pod runner cannot serve both, and the
// Deployment never became Available. One pod started alone first makes the pool once.
import * as k8s from '@kubernetes/client-node';
import { waitFor } from './wait.ts';

const NAME = 'kwok-ip-pool-warmup';

export async function warmKwokIpPool(kc: k8s.KubeConfig, node: string): Promise<void> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  await core.createNamespacedPod({
    namespace: 'default',
    body: {
      metadata: { name: NAME },
      // Not the demo image: the pod runner leaves it alone. Bound to a node: no scheduler needed.
      spec: { nodeName: node, containers: [{ name: 'warmup', image: 'canaryd.dev/kwok-ip-pool-warmup' }] },
    },
  });
  await waitFor(
    async () => (await core.readNamespacedPod({ name: NAME, namespace: 'default' })).status?.podIP !== undefined,
    { timeoutMs: 60_000, intervalMs: 200, description: 'the first pod given an IP by kwok' },
  );
  await core.deleteNamespacedPod({ name: NAME, namespace: 'default', gracePeriodSeconds: 0 });
}
