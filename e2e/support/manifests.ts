// Installs a file of deploy/ exactly as shipped: each object created, or replaced when it exists
// (a previous run, another test file installing the same one).
import { readFileSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { waitFor } from '../cluster/wait.ts';

export async function installManifests(
  kc: k8s.KubeConfig,
  file: string,
  timeoutMs = 30_000,
  /** A change to an object before it is installed (a test narrowing a binding to its namespace). */
  adjust: (object: k8s.KubernetesObject) => k8s.KubernetesObject = (object) => object,
): Promise<k8s.KubernetesObject[]> {
  const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
  const manifests = (k8s.loadAllYaml(readFileSync(file, 'utf8')) as k8s.KubernetesObject[]).map(adjust);
  for (const manifest of manifests) {
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
  return manifests;
}
