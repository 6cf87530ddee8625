// The demo app a "pod" runs: an HTTP server whose behaviour comes from the pod spec
// (env ERROR_RATE, LATENCY_MS, VERSION; pod annotations override them at run time so a test
// can inject a fault without replacing the pod). It exposes Prometheus metrics like a real app.
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface DemoBehaviour {
  version: string;
  /** Share of requests answered with 500, 0..1. */
  errorRate: number;
  /** Added latency per request in milliseconds. */
  latencyMs: number;
}

export interface DemoServer {
  readonly address: string;
  readonly port: number;
  setBehaviour(behaviour: DemoBehaviour): void;
  /**
   * From now on this server is pod `pod` with `behaviour`, its metrics started afresh: a new pod
   * given the address of one still in its grace period (pod-runner.ts). Requests in flight
   * finish as the old pod's.
   */
  handOver(pod: string, behaviour: DemoBehaviour): void;
  close(): Promise<void>;
}

export async function startDemoServer(
  address: string,
  port: number,
  initialPod: string,
  initial: DemoBehaviour,
  random: () => number = Math.random,
): Promise<DemoServer> {
  let behaviour = initial;
  let pod = initialPod;
  const registry = new Registry();
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests served, by status code.',
    labelNames: ['code'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency.',
    labelNames: ['code'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const versionInfo = new Gauge({
    name: 'demo_app_version_info',
    help: 'The version this pod serves (value is always 1).',
    labelNames: ['version'],
    registers: [registry],
  });
  versionInfo.set({ version: behaviour.version }, 1);
  // Both codes exist from the start (at 0), as instrumented apps usually do, so an error-ratio
  // query has a numerator before the first error instead of returning no data.
  const zeroCodes = () => {
    for (const code of ['200', '500']) requests.inc({ code }, 0);
  };
  zeroCodes();

  const server: Server = createServer((req, res) => {
    if (req.url === '/metrics') {
      registry.metrics().then((text) => {
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(text);
      });
      return;
    }
    if (req.url === '/healthz') {
      res.writeHead(200).end('ok');
      return;
    }
    const started = performance.now();
    const { version, errorRate, latencyMs } = behaviour;
    const answeringPod = pod;
    const answer = () => {
      const code = random() < errorRate ? 500 : 200;
      res.writeHead(code, {
        'content-type': 'application/json',
        'x-demo-version': version,
        'x-demo-pod': answeringPod,
      });
      res.end(JSON.stringify({ version, pod: answeringPod, code }));
      requests.inc({ code: String(code) });
      duration.observe({ code: String(code) }, (performance.now() - started) / 1000);
    };
    if (latencyMs > 0) setTimeout(answer, latencyMs);
    else answer();
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => resolve());
  });
  const bound = server.address();
  const setBehaviour = (next: DemoBehaviour) => {
    if (next.version !== behaviour.version) {
      versionInfo.reset();
      versionInfo.set({ version: next.version }, 1);
    }
    behaviour = next;
  };
  return {
    address,
    port: typeof bound === 'object' && bound !== null ? bound.port : port,
    setBehaviour,
    handOver(nextPod, next) {
      pod = nextPod;
      requests.reset();
      duration.reset();
      zeroCodes();
      setBehaviour(next);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
