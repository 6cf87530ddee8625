// What the router e2e tests share: manual operations on a policy, the parts of a user's object
// that must come back unchanged, the pods behind a Service's EndpointSlices, and the binomial
// interval a measured share is judged by.
import { randomUUID } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION } from './crd.ts';

const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

/** What `kubectl canary <op>` writes: the canaryd.dev/operation annotation (see controller/observe.ts). */
export async function operate(
  kc: k8s.KubeConfig,
  namespace: string,
  name: string,
  op: 'pause' | 'resume' | 'promote' | 'abort',
): Promise<string> {
  const id = randomUUID();
  const operation = { id, op, by: 'e2e', at: new Date().toISOString() };
  await kc.makeApiClient(k8s.CustomObjectsApi).patchNamespacedCustomObject(
    {
      group: GROUP,
      version: VERSION,
      namespace,
      plural: PLURAL,
      name,
      body: { metadata: { annotations: { 'canaryd.dev/operation': JSON.stringify(operation) } } },
    },
    mergePatch,
  );
  return id;
}

/**
 * What a user wrote on an object: labels, annotations and spec. Fields the API server manages
 * (resourceVersion, managedFields, generation, uid, creationTimestamp, status) are left out.
 */
export function userView(object: { metadata?: k8s.V1ObjectMeta; spec?: unknown }) {
  return {
    labels: object.metadata?.labels ?? {},
    annotations: object.metadata?.annotations ?? {},
    spec: JSON.parse(JSON.stringify(object.spec ?? {})) as unknown,
  };
}

export interface EndpointPod {
  ip: string;
  pod: string;
  ready: boolean;
}

/** Every endpoint of a Service's EndpointSlices (ready or not), one per address, sorted by IP. */
export async function endpointsOf(
  discovery: k8s.DiscoveryV1Api,
  namespace: string,
  service: string,
): Promise<EndpointPod[]> {
  const slices = await discovery.listNamespacedEndpointSlice({
    namespace,
    labelSelector: `kubernetes.io/service-name=${service}`,
  });
  const byIp = new Map<string, EndpointPod>();
  for (const slice of slices.items) {
    for (const endpoint of slice.endpoints ?? []) {
      for (const ip of endpoint.addresses) {
        byIp.set(ip, {
          ip,
          pod: endpoint.targetRef?.name ?? '',
          ready: endpoint.conditions?.ready !== false && endpoint.conditions?.terminating !== true,
        });
      }
    }
  }
  return [...byIp.values()].sort((a, b) => a.ip.localeCompare(b.ip));
}

/** The IPs of the pods matching a label selector, sorted; pods without an IP yet are left out. */
export async function podIps(core: k8s.CoreV1Api, namespace: string, labelSelector: string): Promise<string[]> {
  const pods = await core.listNamespacedPod({ namespace, labelSelector });
  return pods.items
    .filter((pod) => pod.metadata?.deletionTimestamp === undefined)
    .flatMap((pod) => (pod.status?.podIP ? [pod.status.podIP] : []))
    .sort();
}

/**
 * Samples the stable Service while a test runs and records every moment its EndpointSlices list
 * a canary pod while the Service is pinned. The slices are read between two reads of the
 * Service, and a sample counts only when both show the same pinned version: the slices were
 * then read while the pin was in force (the EndpointSlice controller's lag after an unpin is
 * not a leak).
 */
export function watchPinnedService(kc: k8s.KubeConfig, namespace: string, service: string) {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const discovery = kc.makeApiClient(k8s.DiscoveryV1Api);
  const leaks: string[] = [];
  let pinnedSamples = 0;
  let running = true;
  const pinnedVersion = async () => {
    const current = await core.readNamespacedService({ name: service, namespace });
    return current.metadata?.annotations?.['canaryd.dev/original-selector'] === undefined
      ? undefined
      : current.metadata?.resourceVersion;
  };
  const loop = (async () => {
    while (running) {
      try {
        const before = await pinnedVersion();
        if (before !== undefined) {
          const canaryPods = await core.listNamespacedPod({ namespace, labelSelector: 'canaryd.dev/track=canary' });
          const canaryNames = new Set(canaryPods.items.map((pod) => pod.metadata?.name));
          const endpoints = await endpointsOf(discovery, namespace, service);
          const after = await pinnedVersion();
          if (after === before) {
            pinnedSamples++;
            const leaked = endpoints.filter((endpoint) => canaryNames.has(endpoint.pod));
            if (leaked.length > 0) {
              leaks.push(`${new Date().toISOString()}: ${leaked.map((e) => `${e.pod} (${e.ip})`).join(', ')}`);
            }
          }
        }
      } catch {
        // A failed read (namespace going away at the end) is no sample; the next one may succeed.
      }
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { pinnedSamples, leaks };
    },
  };
}

/** The two-sided standard normal quantile for 99.9 % confidence. */
export const Z_999 = 3.290526731491926;

/**
 * The range of canary counts out of `n` requests that a true share `p` explains at the given
 * confidence: p ± z·sqrt(p(1−p)/n). A measured share lies in it exactly when the Wilson score
 * interval of the measurement contains p (the Wilson interval is the inversion of this test).
 */
export function binomialInterval(p: number, n: number, z = Z_999): { low: number; high: number } {
  const half = z * Math.sqrt((p * (1 - p)) / n);
  return { low: p - half, high: p + half };
}

/** The Wilson score interval of `successes` out of `n`. */
export function wilsonInterval(successes: number, n: number, z = Z_999): { low: number; high: number } {
  const phat = successes / n;
  const z2 = z * z;
  const centre = (phat + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((phat * (1 - phat)) / n + z2 / (4 * n * n));
  return { low: centre - half, high: centre + half };
}
