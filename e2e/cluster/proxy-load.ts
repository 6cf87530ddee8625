// Sends bounded traffic through the ingress data plane (Traefik's web entry point locally), as a
// user's clients would: a Host header picks the Ingress or HTTPRoute, plus a path, extra headers
// and cookies (for header and cookie canary routing). Reports what answered: the demo app (with
// its version and pod) or the proxy itself (a 404 for no route, a 502/503 for no backend), and
// how long it took.
import { type Agent, request } from 'node:http';
import type { LoadReport } from './loadgen.ts';

export interface ProxyLoadOptions {
  /** Base URL of the proxy, e.g. http://127.0.0.1:PORT (loopback only). */
  proxyUrl: string;
  /** The Host header: which Ingress rule or HTTPRoute hostname is meant. */
  host: string;
  path?: string;
  headers?: Record<string, string>;
  cookies?: Record<string, string>;
  /** Upper bound on requests sent. */
  requests: number;
  /** Upper bound on time spent (default 60 s). */
  maxDurationMs?: number;
  concurrency?: number;
}

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface ProxyLoadReport extends LoadReport {
  /** Answers by who gave them: the demo app (it sets x-demo-version) or the proxy itself. */
  bySource: { app: number; proxy: number };
  /** Status codes of the proxy's own answers. */
  proxyCodes: Record<string, number>;
  /** Latency of answered requests in milliseconds. */
  latencyMs: Percentiles;
}

export interface Answer {
  source: 'app' | 'proxy';
  code: number;
  version?: string;
  pod?: string;
}

/** Pure: who answered. The demo app always sets x-demo-version; an answer without it is the proxy's own. */
export function classifyAnswer(code: number, headers: Record<string, string | string[] | undefined>): Answer {
  const version = headers['x-demo-version'];
  if (typeof version !== 'string') return { source: 'proxy', code };
  const pod = headers['x-demo-pod'];
  return { source: 'app', code, version, pod: typeof pod === 'string' ? pod : undefined };
}

/** Pure: nearest-rank percentiles of latency samples (all 0 when there are none). */
export function percentiles(samples: number[]): Percentiles {
  if (samples.length === 0) return { p50: 0, p90: 0, p99: 0, max: 0 };
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted.at(-1) as number };
}

/** Pure: a Cookie header value; refuses names or values that would break the header. */
export function cookieHeader(cookies: Record<string, string>): string {
  return Object.entries(cookies)
    .map(([name, value]) => {
      if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name))
        throw new Error(`cookie name ${JSON.stringify(name)} is not a token`);
      if (/[\s;,"\\]/.test(value))
        throw new Error(`cookie ${name}: value ${JSON.stringify(value)} needs no spaces, ; , " or \\`);
      return `${name}=${value}`;
    })
    .join('; ');
}

/** Pure: adds one answer to a report. */
export function record(report: ProxyLoadReport, answer: Answer): void {
  bump(report.byCode, String(answer.code));
  if (answer.source === 'proxy') {
    report.bySource.proxy++;
    bump(report.proxyCodes, String(answer.code));
    return;
  }
  report.bySource.app++;
  bump(report.byVersion, answer.version ?? 'unknown');
  if (answer.pod) bump(report.byPod, answer.pod);
}

const bump = (counts: Record<string, number>, key: string) => {
  counts[key] = (counts[key] ?? 0) + 1;
};

export const emptyProxyReport = (): ProxyLoadReport => ({
  sent: 0,
  byCode: {},
  byVersion: {},
  byPod: {},
  failures: 0,
  durationMs: 0,
  bySource: { app: 0, proxy: 0 },
  proxyCodes: {},
  latencyMs: percentiles([]),
});

/** Only loopback: the proxy of the local cluster, or a port-forward to the kind cluster's. */
function loopbackUrl(proxyUrl: string): URL {
  const url = new URL(proxyUrl);
  if (url.protocol !== 'http:' || !(url.hostname.startsWith('127.') || url.hostname === 'localhost')) {
    throw new Error(`proxy URL ${proxyUrl}: expected http://127.x.x.x:PORT (traffic stays on this machine)`);
  }
  return url;
}

export async function sendThroughProxy(options: ProxyLoadOptions): Promise<ProxyLoadReport> {
  const base = loopbackUrl(options.proxyUrl);
  const headers: Record<string, string> = { ...options.headers, host: options.host };
  if (options.cookies && Object.keys(options.cookies).length > 0) headers.cookie = cookieHeader(options.cookies);
  const maxDurationMs = options.maxDurationMs ?? 60_000;
  const started = Date.now();
  const report = emptyProxyReport();
  const latencies: number[] = [];
  const { Agent: HttpAgent } = await import('node:http');
  const agent = new HttpAgent({ keepAlive: true, maxSockets: 64 });
  const worker = async () => {
    while (report.sent < options.requests && Date.now() - started < maxDurationMs) {
      report.sent++;
      const sentAt = performance.now();
      const answer = await get(base, options.path ?? '/', headers, agent);
      if (!answer) {
        report.failures++;
        continue;
      }
      latencies.push(performance.now() - sentAt);
      record(report, answer);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 8 }, worker));
  agent.destroy();
  report.durationMs = Date.now() - started;
  report.latencyMs = percentiles(latencies);
  return report;
}

function get(base: URL, path: string, headers: Record<string, string>, agent: Agent): Promise<Answer | null> {
  return new Promise((resolve) => {
    const req = request({ host: base.hostname, port: base.port, path, headers, agent, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(classifyAnswer(res.statusCode ?? 0, res.headers)));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
    req.end();
  });
}
