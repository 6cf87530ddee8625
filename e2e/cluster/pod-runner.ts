// The local cluster's kubelet for demo pods. kwok pods run no containers; for every pod whose
// container image is `canaryd-demo[:tag]` this runs the demo app on the pod's real IP and
// container port (inside the pods' network namespace, see pod-host.ts and netns.ts), and acts
// like a kubelet around it:
//   - readiness: kwok starts a demo pod with Ready=False (see control-plane.ts); once its server
//     listens, the runner sets Ready=True in the pod's status, so a Service never lists an
//     endpoint nobody answers on. READY_AFTER_MS (or the pod annotation
//     demo.canaryd.dev/ready-after-ms) delays that, like an app that warms up before its
//     readiness probe passes;
//   - termination: a pod marked for deletion keeps serving for a grace period (like a preStop
//     sleep) while its endpoint disappears and proxies stop sending to it, then stops; if kwok
//     gives its address to a new pod meanwhile, the server passes to the new pod without a gap;
//   - Prometheus: the pods being served are written as file_sd targets (see prometheus.ts).
// Run as its own process: `node e2e/cluster/pod-runner.ts KUBECONFIG [TARGETS_FILE] [NETNS]`.
import { renameSync, writeFileSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import type { DemoBehaviour } from './demo-app.ts';
import { ChildPodHost, type PodHost } from './pod-host.ts';
import { isLocalPodIp } from './pod-network.ts';

export const DEMO_IMAGE = 'canaryd-demo';
const ANNOTATION_PREFIX = 'demo.canaryd.dev/';
/** How long a deleted pod keeps serving (CANARYD_POD_GRACE_MS). */
export const DEFAULT_GRACE_MS = 5000;

export interface PodServing {
  key: string;
  ip: string;
  port: number;
  behaviour: DemoBehaviour;
  /** How long after its server listens the pod becomes Ready (an app warming up), in ms. */
  readyAfterMs: number;
  /** Target labels for Prometheus, as kubernetes_sd relabelling would set them. */
  labels: Record<string, string>;
}

export const isDemoPod = (pod: k8s.V1Pod): boolean =>
  pod.spec?.containers.some((c) => (c.image ?? '').split(':')[0]?.endsWith(DEMO_IMAGE)) ?? false;

export const isReady = (pod: k8s.V1Pod): boolean =>
  pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

/**
 * Pure: what a pod should serve, or null when it should serve nothing (not a demo pod, not
 * running yet, no pod IP, being deleted). Readiness is not required: it is the runner's output.
 */
export function servingFor(pod: k8s.V1Pod): PodServing | null {
  const container = pod.spec?.containers.find((c) => (c.image ?? '').split(':')[0]?.endsWith(DEMO_IMAGE));
  if (!container) return null;
  if (pod.metadata?.deletionTimestamp) return null;
  const podIp = pod.status?.podIP;
  if (pod.status?.phase !== 'Running' || !podIp || !isLocalPodIp(podIp)) return null;
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
    ip: podIp,
    port: container.ports?.[0]?.containerPort ?? 8080,
    readyAfterMs: clamp(Number(setting('ready-after-ms', 'READY_AFTER_MS') ?? 0), 0, 120_000),
    behaviour: {
      version: setting('version', 'VERSION') ?? tag,
      errorRate: clamp(Number(setting('error-rate', 'ERROR_RATE') ?? 0), 0, 1),
      latencyMs: clamp(Number(setting('latency-ms', 'LATENCY_MS') ?? 0), 0, 60_000),
    },
  };
}

/**
 * Pure: the pods/status strategic merge patch that marks a pod Ready, as a kubelet does once its
 * readiness probe passes. Conditions merge by type; containerStatuses is replaced as a whole.
 */
export function readyStatusPatch(pod: k8s.V1Pod, now: Date): object {
  const at = now.toISOString();
  return {
    status: {
      conditions: [
        { type: 'ContainersReady', status: 'True', lastTransitionTime: at },
        { type: 'Ready', status: 'True', lastTransitionTime: at },
      ],
      containerStatuses: (pod.spec?.containers ?? []).map((c) => ({
        name: c.name,
        image: c.image ?? '',
        imageID: '',
        ready: true,
        started: true,
        restartCount: 0,
        state: { running: { startedAt: pod.status?.startTime ?? at } },
      })),
    },
  };
}

const clamp = (value: number, min: number, max: number) =>
  Number.isFinite(value) ? Math.min(max, Math.max(min, value)) : min;

interface Served {
  /** The host's id of this server: pod key + a counter, so a draining server never clashes with a new one. */
  id: string;
  serving: PodServing;
  listening: boolean;
  /** When the pod may be marked Ready (epoch ms): its server listens and readyAfterMs has passed. */
  readyAt?: number;
}

export interface PodRunnerOptions {
  host: PodHost;
  /** Sets the pod's Ready condition (pods/status); the runner calls it once the server listens. */
  markReady: (pod: k8s.V1Pod) => Promise<void>;
  log?: (line: string) => void;
  targetsFile?: string;
  graceMs?: number;
}

export class PodRunner {
  readonly #pods = new Map<string, Served>();
  /** Servers of deleted pods still answering during their grace period, by ip:port. */
  readonly #draining = new Map<string, { served: Served; timer: NodeJS.Timeout }>();
  readonly #host: PodHost;
  readonly #markReady: (pod: k8s.V1Pod) => Promise<void>;
  readonly #log: (line: string) => void;
  readonly #targetsFile: string | undefined;
  readonly #graceMs: number;
  #counter = 0;

  constructor(options: PodRunnerOptions) {
    this.#host = options.host;
    this.#markReady = options.markReady;
    this.#log = options.log ?? ((line) => console.log(line));
    this.#targetsFile = options.targetsFile;
    this.#graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
  }

  /** Prometheus file_sd targets for the pods being served, written atomically (rename). */
  #writeTargets(): void {
    if (!this.#targetsFile) return;
    const groups = [...this.#pods.values()]
      .filter((s) => s.listening)
      .map((s) => ({ targets: [`${s.serving.ip}:${s.serving.port}`], labels: s.serving.labels }));
    const tmp = `${this.#targetsFile}.tmp`;
    writeFileSync(tmp, JSON.stringify(groups));
    renameSync(tmp, this.#targetsFile);
  }

  get running(): number {
    return this.#pods.size;
  }

  get draining(): number {
    return this.#draining.size;
  }

  async reconcile(pod: k8s.V1Pod, deleted = false): Promise<void> {
    const key = `${pod.metadata?.namespace}/${pod.metadata?.name}`;
    const want = deleted ? null : servingFor(pod);
    const have = this.#pods.get(key);
    if (have && (!want || want.ip !== have.serving.ip || want.port !== have.serving.port)) {
      this.#pods.delete(key);
      this.#writeTargets();
      if (deleted || pod.metadata?.deletionTimestamp) this.#drain(have);
      else await this.#stop(have, 'stopped');
    }
    if (!want) return;
    const current = this.#pods.get(key);
    if (current) {
      const relabelled = JSON.stringify(current.serving.labels) !== JSON.stringify(want.labels);
      current.serving = want;
      this.#host.behave(current.id, want.behaviour);
      if (relabelled) this.#writeTargets();
      if (current.listening && !isReady(pod) && Date.now() >= (current.readyAt ?? 0)) await this.#ready(pod);
      return;
    }
    // A new pod may get the address of one still draining: kwok frees a deleted pod's IP at once,
    // while a kubelet keeps it until the old pod's sandbox is gone, after its grace period. A
    // proxy may still send to that address (the old endpoint), so the listening socket passes
    // to the new pod as it is: stopping it and serving anew cut the requests in flight and
    // refused new ones for a moment, which Traefik answered with 502 (a promotion reuses the
    // addresses of the pods it just replaced).
    const address = `${want.ip}:${want.port}`;
    const previous = this.#draining.get(address);
    if (previous) {
      clearTimeout(previous.timer);
      this.#draining.delete(address);
    }
    const entry: Served = { id: `${key}#${++this.#counter}`, serving: want, listening: false };
    this.#pods.set(key, entry);
    const spec = { ip: want.ip, port: want.port, pod: pod.metadata?.name ?? key, behaviour: want.behaviour };
    try {
      if (previous) {
        await this.#host.handOver(previous.served.id, entry.id, spec);
        this.#log(`handed ${address} over from ${previous.served.serving.key} (draining) to ${key}`);
      } else {
        await this.#host.serve(entry.id, spec);
      }
    } catch (error) {
      this.#pods.delete(key);
      this.#log(`could not serve ${key} on ${address}: ${(error as Error).message}`);
      return;
    }
    entry.listening = true;
    entry.readyAt = Date.now() + want.readyAfterMs;
    this.#writeTargets();
    this.#log(`serving ${key} on ${address} version=${want.behaviour.version}`);
    if (isReady(pod)) return;
    if (want.readyAfterMs === 0) {
      await this.#ready(pod);
      return;
    }
    // Not awaited: reconciles run one after another, and other pods must not wait for this one.
    setTimeout(() => {
      if (this.#pods.get(key) === entry) this.#ready(pod).catch((e: Error) => this.#log(e.message));
    }, want.readyAfterMs).unref();
  }

  async #ready(pod: k8s.V1Pod): Promise<void> {
    try {
      await this.#markReady(pod);
    } catch (error) {
      // The pod may be gone already; if not, its next update event retries.
      this.#log(`could not mark ${pod.metadata?.namespace}/${pod.metadata?.name} Ready: ${(error as Error).message}`);
    }
  }

  #drain(served: Served): void {
    const address = `${served.serving.ip}:${served.serving.port}`;
    this.#log(`draining ${served.serving.key} on ${address} for ${this.#graceMs} ms`);
    const timer = setTimeout(() => {
      if (this.#draining.get(address)?.served !== served) return;
      this.#draining.delete(address);
      this.#stop(served, 'stopped after its grace period').catch((e: Error) => this.#log(e.message));
    }, this.#graceMs);
    this.#draining.set(address, { served, timer });
  }

  async #stop(served: Served, why: string): Promise<void> {
    await this.#host.stop(served.id);
    this.#log(`${why}: ${served.serving.key} on ${served.serving.ip}:${served.serving.port}`);
  }

  async stopAll(): Promise<void> {
    const all = [...this.#pods.values(), ...[...this.#draining.values()].map((d) => d.served)];
    for (const { timer } of this.#draining.values()) clearTimeout(timer);
    this.#pods.clear();
    this.#draining.clear();
    this.#writeTargets();
    await Promise.all(all.map((s) => this.#host.stop(s.id)));
  }
}

async function main(kubeconfigPath: string, targetsFile: string | undefined, netns: string | undefined): Promise<void> {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const host = new ChildPodHost(netns);
  let closing = false;
  host.exited.then((code) => {
    if (closing) return;
    console.error(`pod host exited (${code}); the pod runner cannot serve pods without it`);
    process.exit(1);
  });
  const markReady = async (pod: k8s.V1Pod) => {
    await core.patchNamespacedPodStatus(
      {
        name: pod.metadata?.name ?? '',
        namespace: pod.metadata?.namespace ?? '',
        body: readyStatusPatch(pod, new Date()),
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
    );
  };
  const graceMs = Number(process.env.CANARYD_POD_GRACE_MS ?? DEFAULT_GRACE_MS);
  // Timestamped, so a failed request seen through the proxy can be matched with what the pods did.
  const log = (line: string) => console.log(`${new Date().toISOString()} ${line}`);
  const runner = new PodRunner({ host, markReady, targetsFile, graceMs, log });
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
    closing = true;
    await informer.stop();
    await runner.stopAll();
    await host.close();
    process.exit(0);
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  await informer.start();
  console.log(`pod-runner watching pods (servers in ${netns ? `network namespace ${netns}` : 'this namespace'})`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const path = process.argv[2];
  if (!path) {
    console.error('usage: pod-runner.ts KUBECONFIG [PROMETHEUS_TARGETS_FILE] [NETNS]');
    process.exit(2);
  }
  main(path, process.argv[3], process.argv[4]).catch((error: Error) => {
    console.error(error.message);
    process.exit(1);
  });
}
