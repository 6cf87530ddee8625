// The operation-actor ValidatingAdmissionPolicy exactly as shipped (deploy/operation-actor-policy.yaml):
// with it the API server refuses an operation whose canaryd.dev/operation-by is not the writer's
// own username, and canaryd records actors as fact (without it: "unverified: <name>").
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { REPO_ROOT } from '../cluster/cluster.ts';
import { waitFor } from '../cluster/wait.ts';

export const ACTOR_POLICY_FILE = join(REPO_ROOT, 'deploy', 'operation-actor-policy.yaml');

/** Creates the policy and its binding, or replaces them when they exist (another test file). */
export async function installActorPolicy(kc: k8s.KubeConfig, timeoutMs = 30_000): Promise<void> {
  const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
  for (const manifest of k8s.loadAllYaml(readFileSync(ACTOR_POLICY_FILE, 'utf8')) as k8s.KubernetesObject[]) {
    await waitFor(
      async () => {
        const existing = await objects
          .read(manifest as k8s.KubernetesObject & { metadata: { name: string } })
          .catch(() => null);
        if (existing === null) await objects.create(manifest);
        else {
          const resourceVersion = existing.metadata?.resourceVersion;
          await objects.replace({ ...manifest, metadata: { ...manifest.metadata, resourceVersion } });
        }
        return true;
      },
      // A concurrent writer (another test file) makes a replace conflict: retry.
      { timeoutMs, description: `create or replace ${manifest.kind} ${manifest.metadata?.name}` },
    );
  }
}
