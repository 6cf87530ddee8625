// A benchmark's own local cluster: its own state dir (<CANARYD_BENCH_DIR>-<name>) and the pod range
// set in env.ts, the CRD installed, and API clients. Always stopped again (down()).
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { type ClusterInfo, clusterDown, clusterUp } from '../../e2e/cluster/cluster.ts';
import { waitFor } from '../../e2e/cluster/wait.ts';
import { installCrd } from '../../e2e/support/crd.ts';
import { say } from './common.ts';
import { BENCH_POD_CIDR, BENCH_STATE_BASE } from './env.ts';

export interface BenchCluster {
  info: ClusterInfo;
  stateDir: string;
  kc: k8s.KubeConfig;
  core: k8s.CoreV1Api;
  apps: k8s.AppsV1Api;
  custom: k8s.CustomObjectsApi;
  networking: k8s.NetworkingV1Api;
  discovery: k8s.DiscoveryV1Api;
  down(): Promise<void>;
}

let current: BenchCluster | undefined;

/** Each task gets its own /21 of 198.18.128.0/18, so two of them can run side by side. */
const SLOTS = [
  'precision',
  'reaction',
  'scale',
  'sigkill',
  'apiserver-outage',
  'prometheus-outage',
  'conflicting-writers',
  'bad-input',
  'memory',
  'release-requests',
];

function podCidrFor(name: string): string {
  const base = BENCH_POD_CIDR;
  const slot = SLOTS.indexOf(name);
  if (base !== '198.18.128.0/18' || slot < 0) return base;
  return `198.18.${128 + slot * 8}.0/21`;
}

/**
 * `audit: true`: the apiserver writes an audit log of the requests made as `canaryd-controller`
 * (e2e/cluster/audit.ts); start canaryd with canarydKubeconfig() so its requests are the ones logged.
 */
export async function benchCluster(name: string, options: { audit?: boolean } = {}): Promise<BenchCluster> {
  const stateDir = `${BENCH_STATE_BASE}-${name}`;
  // Read by clusterUp (kwok's --cidr) and inherited by the pod runner.
  process.env.CANARYD_POD_CIDR = podCidrFor(name);
  say(`bringing up a local cluster in ${stateDir} (pods in ${process.env.CANARYD_POD_CIDR})`);
  const info = await clusterUp({ stateDir, log: (line) => say(`cluster: ${line}`), audit: options.audit });
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(info.kubeconfig);
  await installCrd(kc);
  say('CanaryPolicy CRD installed');
  let stopped = false;
  const cluster: BenchCluster = {
    info,
    stateDir,
    kc,
    core: kc.makeApiClient(k8s.CoreV1Api),
    apps: kc.makeApiClient(k8s.AppsV1Api),
    custom: kc.makeApiClient(k8s.CustomObjectsApi),
    networking: kc.makeApiClient(k8s.NetworkingV1Api),
    discovery: kc.makeApiClient(k8s.DiscoveryV1Api),
    async down() {
      if (stopped) return;
      stopped = true;
      const gone = await clusterDown(stateDir);
      say(`cluster stopped (${gone.join(', ') || 'nothing was running'})`);
    },
  };
  current = cluster;
  return cluster;
}

/** For the runner's deadline and signal handlers: stop whatever cluster is up. */
export async function stopCurrentCluster(): Promise<void> {
  await current?.down();
}

export const logsDir = (cluster: BenchCluster) => join(cluster.stateDir, 'logs');

/** The kubeconfig canaryd runs with: the audited identity's when the cluster has an audit log. */
export const canarydKubeconfig = (cluster: BenchCluster) => cluster.info.audit?.kubeconfig ?? cluster.info.kubeconfig;

export async function createNamespace(cluster: BenchCluster, namespace: string): Promise<void> {
  await cluster.core.createNamespace({ body: { metadata: { name: namespace } } });
  await waitFor(
    async () => (await cluster.core.readNamespacedServiceAccount({ name: 'default', namespace })) !== null,
    { timeoutMs: 30_000, description: `default ServiceAccount in ${namespace}` },
  );
}
