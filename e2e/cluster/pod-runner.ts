// Runs the demo app for every Ready pod whose container image is `canaryd-demo[:tag]`, bound to
// the pod's (loopback) IP and container port, and stops it when the pod goes away. kwok pods run
// no containers; this makes them answer HTTP for real, so a load generator and Prometheus reach
// "pods" the way they would in a cluster. Run as its own process: `node e2e/cluster/pod-runner.ts KUBECONFIG`.
import * as k8s from '@kubernetes/client-node';
import { type DemoBehaviour, type DemoServer, startDemoServer } from './demo-app.ts';

export const DEMO_IMAGE = 'canaryd-demo';
const ANNOTATION_PREFIX = 'demo.canaryd.dev/';

export interface PodServing {
  key: string;
  ip: string;
  port: number;
  behaviour: DemoBehaviour;
}

/** Pure: what a pod should serve, or null when it should serve nothing (not ready, not demo, going away). */
export function servingFor(pod: k8s.V1Pod): PodServing | null {
  const container = pod.spec?.containers.find((c) => (c.image ?? '').split(':')[0]?.endsWith(DEMO_IMAGE));
  if (!container) return null;
  if (pod.metadata?.deletionTimestamp) return null;
  const ready = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
  const ip = pod.status?.podIP;
  if (!ready || !ip?.startsWith('127.')) return null;
  const env = new Map((container.env ?? []).map((e) => [e.name, e.value ?? '']));
  const annotations = pod.metadata?.annotations ?? {};
  const setting = (name: string, envName: string) => annotations[ANNOTATION_PREFIX + name] ?? env.get(envName);
  const tag = (container.image ?? '').split(':')[1] ?? 'latest';
  return {
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
  readonly #servers = new Map<string, { serving: PodServing; server: Promise<DemoServer> }>();
  readonly #log: (line: string) => void;

  constructor(log: (line: string) => void = (line) => console.log(line)) {
    this.#log = log;
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
      await (await have.server).close();
      this.#log(`stopped ${key} on ${have.serving.ip}:${have.serving.port}`);
    }
    if (!want) return;
    const current = this.#servers.get(key);
    if (current) {
      current.serving = want;
      (await current.server).setBehaviour(want.behaviour);
      return;
    }
    const server = startDemoServer(want.ip, want.port, pod.metadata?.name ?? key, want.behaviour);
    this.#servers.set(key, { serving: want, server });
    try {
      await server;
      this.#log(`serving ${key} on ${want.ip}:${want.port} version=${want.behaviour.version}`);
    } catch (error) {
      this.#servers.delete(key);
      this.#log(`could not serve ${key} on ${want.ip}:${want.port}: ${(error as Error).message}`);
    }
  }

  async stopAll(): Promise<void> {
    const all = [...this.#servers.values()];
    this.#servers.clear();
    await Promise.all(all.map(async (s) => (await s.server).close()));
  }
}

async function main(kubeconfigPath: string): Promise<void> {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const runner = new PodRunner();
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
    console.error('usage: pod-runner.ts KUBECONFIG');
    process.exit(2);
  }
  main(path).catch((error: Error) => {
    console.error(error.message);
    process.exit(1);
  });
}
