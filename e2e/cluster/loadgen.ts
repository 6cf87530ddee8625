// Sends bounded traffic to a Service the way kube-proxy would: each request goes to a ready
// endpoint of the Service's EndpointSlices chosen uniformly at random. Pod IPs of the local pod
// network only (routed into the pods' network namespace, see netns.ts).
import { request } from 'node:http';
import * as k8s from '@kubernetes/client-node';
import { isLocalPodIp, podTarget } from './pod-network.ts';

export interface Endpoint {
  /** The pod IP as the EndpointSlice lists it. */
  ip: string;
  port: number;
}

export interface LoadReport {
  sent: number;
  byCode: Record<string, number>;
  byVersion: Record<string, number>;
  byPod: Record<string, number>;
  /** Requests that got no HTTP answer (connection refused, timeout). */
  failures: number;
  durationMs: number;
}

export interface LoadOptions {
  namespace: string;
  service: string;
  /** Upper bound on requests sent. */
  requests: number;
  /** Upper bound on time spent. */
  maxDurationMs?: number;
  concurrency?: number;
  /** Re-read the EndpointSlices this often, as kube-proxy follows endpoint changes. */
  refreshMs?: number;
  random?: () => number;
}

/** Pure: the ready endpoints of a Service, deduplicated, local pod network only. */
export function readyEndpoints(slices: k8s.V1EndpointSlice[], portName?: string): Endpoint[] {
  const seen = new Map<string, Endpoint>();
  for (const slice of slices) {
    const port = (portName ? slice.ports?.find((p) => p.name === portName) : slice.ports?.[0])?.port;
    if (port === undefined) continue;
    for (const endpoint of slice.endpoints ?? []) {
      if (endpoint.conditions?.ready === false) continue;
      for (const ip of endpoint.addresses) {
        // Only the local pod network may ever be a target here.
        if (isLocalPodIp(ip)) seen.set(`${ip}:${port}`, { ip, port });
      }
    }
  }
  return [...seen.values()];
}

export async function serviceEndpoints(kc: k8s.KubeConfig, namespace: string, service: string): Promise<Endpoint[]> {
  const discovery = kc.makeApiClient(k8s.DiscoveryV1Api);
  const slices = await discovery.listNamespacedEndpointSlice({
    namespace,
    labelSelector: `kubernetes.io/service-name=${service}`,
  });
  return readyEndpoints(slices.items);
}

export async function sendLoad(kc: k8s.KubeConfig, options: LoadOptions): Promise<LoadReport> {
  const random = options.random ?? Math.random;
  const maxDurationMs = options.maxDurationMs ?? 30_000;
  const refreshMs = options.refreshMs ?? 1000;
  const started = Date.now();
  const report: LoadReport = { sent: 0, byCode: {}, byVersion: {}, byPod: {}, failures: 0, durationMs: 0 };
  let endpoints = await serviceEndpoints(kc, options.namespace, options.service);
  let refreshedAt = Date.now();
  const agent = new (await import('node:http')).Agent({ keepAlive: true, maxSockets: 64 });
  const worker = async () => {
    while (report.sent < options.requests && Date.now() - started < maxDurationMs) {
      if (Date.now() - refreshedAt > refreshMs) {
        refreshedAt = Date.now();
        endpoints = await serviceEndpoints(kc, options.namespace, options.service);
      }
      if (endpoints.length === 0) {
        report.sent++;
        report.failures++;
        continue;
      }
      const target = endpoints[Math.floor(random() * endpoints.length)] as Endpoint;
      report.sent++;
      const answer = await get(target, agent);
      if (!answer) {
        report.failures++;
        continue;
      }
      bump(report.byCode, String(answer.code));
      bump(report.byVersion, answer.version);
      bump(report.byPod, answer.pod);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 8 }, worker));
  agent.destroy();
  report.durationMs = Date.now() - started;
  return report;
}

const bump = (counts: Record<string, number>, key: string) => {
  counts[key] = (counts[key] ?? 0) + 1;
};

function get(
  target: Endpoint,
  agent: import('node:http').Agent,
): Promise<{ code: number; version: string; pod: string } | null> {
  return new Promise((resolve) => {
    const req = request({ host: podTarget(target.ip), port: target.port, path: '/', agent, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () =>
        resolve({
          code: res.statusCode ?? 0,
          version: String(res.headers['x-demo-version'] ?? 'unknown'),
          pod: String(res.headers['x-demo-pod'] ?? `${target.ip}:${target.port}`),
        }),
      );
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
    req.end();
  });
}
