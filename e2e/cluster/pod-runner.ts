// Runs the demo app for every Ready pod whose container image is `canaryd-demo[:tag]`, bound to
// the loopback address of the pod's IP (pod-network.ts) and its container port, and stops it when the pod goes away. kwok pods run
// no containers; this makes them answer HTTP for real, so a load generator and Prometheus reach
// "pods" the way they would in a cluster. It also tells Prometheus which pods to scrape (see
// prometheus.ts). Run as its own process: `node e2e/cluster/pod-runner.ts KUBECONFIG [TARGETS_FILE]`.
import { renameSync, writeFileSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { type DemoBehaviour, type DemoServer, startDemoServer } from './demo-app.ts';
import { isLocalPodIp, podAddress } from './pod-network.ts';

export const DEMO_IMAGE = 'canaryd-demo';
const ANNOTATION_PREFIX = 'demo.canaryd.dev/';

export interface PodServing {
  key: string;
  ip: string;
  port: number;
  behaviour: DemoBehaviour;
  /** Target labels for Prometheus, as kubernetes_sd relabelling would set them. */
  labels: Record<string, string>;
}

/** Pure: what a pod should serve, or null when it should serve nothing (not ready, not demo, going away). */
export function servingFor(pod: k8s.V1Pod): PodServing | null {
  const container = pod.spec?.containers.find((c) => (c.image ?? '').split(':')[0]?.endsWith(DEMO_IMAGE));
  if (!container) return null;
  if (pod.metadata?.deletionTimestamp) return null;
  const ready = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
  const podIp = pod.status?.podIP;
  if (!ready || !podIp || !isLocalPodIp(podIp)) return null;
  const ip = podAddress(podIp);
  const env = new Map((container.env ?? []).map((e) => [e.name, e.value ?? '']));
  const annotations = pod.metadata?.annotations ?? {};
  const setting = (name: string, envName: string) => annotations[ANNOTATION_PREFIX + name] ?? env.get(envName);
  const tag = (container.image ?? '').split(':')[1] ?? 'latest';
  const podLabels = pod.metadata?.labels ?? {};
  return {
    labels: {
      namespace: pod.metadata?.namespace ?? '',
      pod: pod.metadata?.name ?? '',
      app: podLabels.app ?? '',
      track: podLabels['canaryd.dev/track'] || 'stable',
      pod_template_hash: podLabels['pod-template-hash'] ?? '',
    },
    key: `${pod.metadata?.namespace}/${pod.metadata?.name}`,
    ip,
    port: container.ports?.[0]?.containerPort ?? 8080,
    behaviour: {
      version: setting('version', 'VERSION') ?? tag,
      errorRate: clamp(Number(setting('error-rate', 'ERROR_RATE') ?? 0), 0, 1),
      latencyMs: clamp(Number(setting('latency-ms', 'LATENCY_MS') ?? 0), 0, 60_000),
    },
  };
}

const clamp = (value: number, min: number, max: number) =>
  Number.isFinite(value) ? Math.min(max, Math.max(min, value)) : min;

export class PodRunner {
  readonly #servers = new Map<string, { serving: PodServing; server: Promise<DemoServer>; listening: boolean }>();
  readonly #log: (line: string) => void;
  readonly #targetsFile: string | undefined;

  constructor(options: { log?: (line: string) => void; targetsFile?: string } = {}) {
    this.#log = options.log ?? ((line) => console.log(line));
    this.#targetsFile = options.targetsFile;
  }

  /** Prometheus file_sd targets for the pods being served, written atomically (rename). */
  #writeTargets(): void {
    if (!this.#targetsFile) return;
    const groups = [...this.#servers.values()]
      .filter((s) => s.listening)
      .map((s) => ({ targets: [`${s.serving.ip}:${s.serving.port}`], labels: s.serving.labels }));
    const tmp = `${this.#targetsFile}.tmp`;
    writeFileSync(tmp, JSON.stringify(groups));
    renameSync(tmp, this.#targetsFile);
  }

  get running(): number {
    return this.#servers.size;
  }

  async reconcile(pod: k8s.V1Pod, deleted = false): Promise<void> {
    const key = `${pod.metadata?.namespace}/${pod.metadata?.name}`;
    const want = deleted ? null : servingFor(pod);
    const have = this.#servers.get(key);
    if (have && (!want || want.ip !== have.serving.ip || want.port !== have.serving.port)) {
      this.#servers.delete(key);
      this.#writeTargets();
      await (await have.server).close();
      this.#log(`stopped ${key} on ${have.serving.ip}:${have.serving.port}`);
    }
    if (!want) return;
    const current = this.#servers.get(key);
    if (current) {
      const relabelled = JSON.stringify(current.serving.labels) !== JSON.stringify(want.labels);
      current.serving = want;
      (await current.server).setBehaviour(want.behaviour);
      if (relabelled) this.#writeTargets();
      return;
    }
    const server = startDemoServer(want.ip, want.port, pod.metadata?.name ?? key, want.behaviour);
    const entry = { serving: want, server, listening: false };
    this.#servers.set(key, entry);
    try {
      await server;
      entry.listening = true;
      this.#writeTargets();
      this.#log(`serving ${key} on ${want.ip}:${want.port} version=${want.behaviour.version}`);
    } catch (error) {
      this.#servers.delete(key);
      this.#log(`could not serve ${key} on ${want.ip}:${want.port}: ${(error as Error).message}`);
    }
  }

  async stopAll(): Promise<void> {
    const all = [...this.#servers.values()];
    this.#servers.clear();
    this.#writeTargets();
    await Promise.all(all.map(async (s) => (await s.server).close()));
  }
}

async function main(kubeconfigPath: string, targetsFile: string | undefined): Promise<void> {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const runner = new PodRunner({ targetsFile });
  const informer = k8s.makeInformer(kc, '/api/v1/pods', () => core.listPodForAllNamespaces());
  // Serialise reconciles per process: a pod's events must apply in order.
  let queue = Promise.resolve();
  const enqueue = (pod: k8s.V1Pod, deleted: boolean) => {
    queue = queue.then(() => runner.reconcile(pod, deleted)).catch((e: Error) => console.error(e.message));
  };
  informer.on('add', (pod) => enqueue(pod, false));
  informer.on('update', (pod) => enqueue(pod, false));
  informer.on('delete', (pod) => enqueue(pod, true));
  informer.on('error', (error) => {
    console.error(`pod watch failed (${String(error)}); restarting in 1s`);
    setTimeout(() => informer.start().catch((e: Error) => console.error(e.message)), 1000);
  });
  const shutdown = async () => {
    await informer.stop();
    await runner.stopAll();
    process.exit(0);
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  await informer.start();
  console.log('pod-runner watching pods');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const path = process.argv[2];
  if (!path) {
    console.error('usage: pod-runner.ts KUBECONFIG [PROMETHEUS_TARGETS_FILE]');
    process.exit(2);
  }
  main(path, process.argv[3]).catch((error: Error) => {
    console.error(error.message);
    process.exit(1);
  });
}
