// The local cluster as one unit: build (cached) binaries, create the pods' network namespace,
// start the control plane, fake nodes, the pod runner and Prometheus; record everything in a
// state dir; stop it all again (the network namespace, veth pair and routes included).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { type ControlPlaneInfo, STOP_ORDER, startControlPlane } from './control-plane.ts';
import { warmKwokIpPool } from './kwok-ip-pool.ts';
import { applyPodNetwork, type PodNetworkPlan, planPodNetwork, readRecordedPlan, removePodNetwork } from './netns.ts';
import { podCidr } from './pod-network.ts';
import { reapRecorded, startProcess } from './processes.ts';
import { type PrometheusInfo, startPrometheus, targetsDirOf } from './prometheus.ts';
import { startTraefik, type TraefikInfo, traefikBinary } from './traefik.ts';
import { waitFor } from './wait.ts';

const here = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(here, '..', '..');

export interface ClusterInfo extends ControlPlaneInfo {
  /** The pods' network namespace, veth pair and routes (netns.ts). */
  podNetwork: PodNetworkPlan;
  /** Traefik's web entry point: send requests here, with a Host header, to go through the ingress data plane. */
  proxyUrl: string;
  traefik: Omit<TraefikInfo, 'proxyUrl' | 'gateway'>;
  gateway: TraefikInfo['gateway'];
  prometheusUrl: string;
  scrapeIntervalSeconds: number;
  stateDir: string;
  startedAt: string;
}

export const defaultStateDir = (): string => process.env.CANARYD_CLUSTER_DIR ?? join(REPO_ROOT, '.cluster');

/** Runs e2e/cluster/build.sh (cached, so seconds after the first time) and returns the bin dir. */
export function buildBinaries(log: (line: string) => void): string {
  log('building (or reusing) etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok');
  const out = execFileSync('bash', [join(here, 'build.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const binDir = out.trim().split('\n').at(-1);
  if (!binDir || !existsSync(binDir)) throw new Error(`build.sh did not report a bin directory (got: ${out})`);
  return binDir;
}

export async function clusterUp(
  options: { stateDir?: string; nodes?: number; log?: (line: string) => void; audit?: boolean } = {},
): Promise<ClusterInfo> {
  const log = options.log ?? ((line: string) => console.error(`[cluster] ${line}`));
  const stateDir = options.stateDir ?? defaultStateDir();
  // A previous run that crashed may have left processes behind: stop them before reusing ports.
  const reaped = await reapRecorded(stateDir, PROCESS_ORDER);
  if (reaped.length > 0) log(`stopped leftovers of an earlier run: ${reaped.join(', ')}`);
  const plan = planPodNetwork(stateDir, podCidr());
  // The recorded plan (an earlier run, perhaps with another CIDR) and this one: names derive
  // from the state dir, so even a lost record cannot leave this cluster's namespace behind.
  const leftovers = [...removePodNetwork(stateDir), ...removePodNetwork(stateDir, plan)];
  if (leftovers.length > 0) log(`removed the pod network of an earlier run (${leftovers.join(', ')})`);
  rmSync(stateDir, { recursive: true, force: true });
  mkdirSync(stateDir, { recursive: true });

  const binDir = buildBinaries(log);
  // Fail before starting anything: the suite needs the data plane.
  traefikBinary(binDir);
  const started = Date.now();
  try {
    applyPodNetwork(stateDir, plan);
    log(`pod network: ${plan.podCidr} in network namespace ${plan.namespace} via ${plan.hostVeth} (${plan.linkCidr})`);
    const plane = await startControlPlane({
      binDir,
      stateDir,
      nodes: options.nodes,
      podCidr: plan.podCidr,
      log,
      audit: options.audit,
    });
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(plane.kubeconfig);
    await createFakeNodes(kc, plane.nodes);
    log(`fake nodes: ${plane.nodes.join(', ')}`);
    mkdirSync(targetsDirOf(stateDir), { recursive: true });
    startProcess(stateDir, 'pod-runner', process.execPath, [
      join(here, 'pod-runner.ts'),
      plane.kubeconfig,
      join(targetsDirOf(stateDir), 'pods.json'),
      plan.namespace,
    ]);
    const traefik = await startTraefik({ stateDir, binDir, ...plane, log });
    log(`traefik ${traefik.version}: proxy on ${traefik.proxyUrl}, API and metrics on ${traefik.apiUrl}`);
    const prometheus: PrometheusInfo = await startPrometheus(
      stateDir,
      plane.apiServerUrl,
      plane.caCert,
      plane.adminToken,
      1,
      new URL(traefik.metricsUrl).host,
    );
    log(`prometheus on ${prometheus.url}`);
    await waitForNodesReady(kc, plane.nodes.length);
    await waitForDefaultServiceAccount(kc);
    await warmKwokIpPool(kc, plane.nodes[0]!);
    const info: ClusterInfo = {
      ...plane,
      podNetwork: plan,
      proxyUrl: traefik.proxyUrl,
      traefik: { apiUrl: traefik.apiUrl, metricsUrl: traefik.metricsUrl, version: traefik.version },
      gateway: traefik.gateway,
      prometheusUrl: prometheus.url,
      scrapeIntervalSeconds: prometheus.scrapeIntervalSeconds,
      stateDir,
      startedAt: new Date().toISOString(),
    };
    writeFileSync(join(stateDir, 'cluster.json'), `${JSON.stringify(info, null, 2)}\n`);
    log(`cluster ready in ${((Date.now() - started) / 1000).toFixed(1)} s (kubeconfig: ${plane.kubeconfig})`);
    return info;
  } catch (error) {
    log(`cluster failed to start; stopping what did start (logs kept in ${join(stateDir, 'logs')})`);
    await reapRecorded(stateDir, PROCESS_ORDER);
    removePodNetwork(stateDir);
    throw error;
  }
}

/**
 * Dependents first (the proxy before the pods it sends to): nothing may send to the pods once
 * their network goes. A canaryd left running by `demo --keep` (pids/canaryd.pid) goes before all.
 */
const PROCESS_ORDER = ['canaryd', 'traefik', 'pod-runner', 'prometheus', ...STOP_ORDER];

export async function clusterDown(stateDir = defaultStateDir()): Promise<string[]> {
  const stopped = await reapRecorded(stateDir, PROCESS_ORDER);
  const recorded = readRecordedPlan(stateDir);
  if (removePodNetwork(stateDir).length > 0) stopped.push(`pod network ${recorded?.namespace}`);
  return stopped;
}

export function readClusterInfo(stateDir = defaultStateDir()): ClusterInfo | null {
  const file = join(stateDir, 'cluster.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as ClusterInfo) : null;
}

async function createFakeNodes(kc: k8s.KubeConfig, names: string[]): Promise<void> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  for (const name of names) {
    await core.createNode({
      body: {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: {
          name,
          annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
          labels: {
            type: 'kwok',
            'kubernetes.io/hostname': name,
            'kubernetes.io/os': 'linux',
            'kubernetes.io/arch': 'amd64',
          },
        },
        spec: {},
      },
    });
  }
}

async function waitForNodesReady(kc: k8s.KubeConfig, count: number): Promise<void> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  await waitFor(
    async () => {
      const nodes = await core.listNode();
      const ready = nodes.items.filter((n) =>
        n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      );
      return ready.length >= count;
    },
    { timeoutMs: 60_000, intervalMs: 300, description: `${count} kwok nodes Ready` },
  );
}

async function waitForDefaultServiceAccount(kc: k8s.KubeConfig): Promise<void> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  await waitFor(
    async () => (await core.readNamespacedServiceAccount({ name: 'default', namespace: 'default' })) !== null,
    {
      timeoutMs: 60_000,
      intervalMs: 300,
      description: 'the default ServiceAccount (kube-controller-manager running)',
    },
  );
}
