// The local cluster's pure pieces: which addresses traffic may go to, what a pod serves, which
// endpoints the load generator picks, and the demo app's behaviour and metrics.
import { afterEach, describe, expect, it } from 'vitest';
import { type DemoServer, startDemoServer } from '../../e2e/cluster/demo-app.ts';
import { readyEndpoints } from '../../e2e/cluster/loadgen.ts';
import { podTarget } from '../../e2e/cluster/pod-network.ts';
import { servingFor } from '../../e2e/cluster/pod-runner.ts';
import { prometheusConfig } from '../../e2e/cluster/prometheus.ts';

describe('pod network', () => {
  it('sends to pod IPs as they are and refuses any address outside the pod network', () => {
    expect(podTarget('198.18.0.7')).toBe('198.18.0.7');
    expect(podTarget('198.18.3.250')).toBe('198.18.3.250');
    expect(() => podTarget('127.18.0.7')).toThrow(/outside the local pod network/);
    expect(() => podTarget('10.0.0.5')).toThrow(/outside the local pod network/);
    expect(() => podTarget('192.168.1.1')).toThrow(/refusing to send traffic/);
  });
});

const pod = (
  overrides: {
    ready?: boolean;
    phase?: string;
    ip?: string;
    image?: string;
    env?: Record<string, string>;
    annotations?: Record<string, string>;
    deleting?: boolean;
    labels?: Record<string, string>;
  } = {},
) => ({
  metadata: {
    name: 'web-abc',
    namespace: 'shop',
    labels: overrides.labels ?? { app: 'web', 'pod-template-hash': 'abc' },
    annotations: overrides.annotations,
    deletionTimestamp: overrides.deleting ? new Date() : undefined,
  },
  spec: {
    containers: [
      {
        name: 'app',
        image: overrides.image ?? 'canaryd-demo:v2',
        ports: [{ containerPort: 9000 }],
        env: Object.entries(overrides.env ?? {}).map(([name, value]) => ({ name, value })),
      },
    ],
  },
  status: {
    phase: overrides.phase ?? 'Running',
    podIP: overrides.ip ?? '198.18.0.9',
    conditions: [{ type: 'Ready', status: overrides.ready === false ? 'False' : 'True' }],
  },
});

describe('pod runner', () => {
  it('serves a running demo pod on its pod IP with the behaviour from its env', () => {
    const serving = servingFor(pod({ env: { ERROR_RATE: '0.2', LATENCY_MS: '50', VERSION: 'v2-rc' } }));
    expect(serving).toMatchObject({
      key: 'shop/web-abc',
      ip: '198.18.0.9',
      port: 9000,
      behaviour: { version: 'v2-rc', errorRate: 0.2, latencyMs: 50 },
      labels: { namespace: 'shop', pod: 'web-abc', app: 'web', track: 'stable', pod_template_hash: 'abc' },
    });
  });

  it('lets pod annotations override the env, so a fault can be injected without a new pod', () => {
    const serving = servingFor(
      pod({ env: { ERROR_RATE: '0' }, annotations: { 'demo.canaryd.dev/error-rate': '0.5' } }),
    );
    expect(serving?.behaviour.errorRate).toBe(0.5);
  });

  it('takes the version from the image tag when VERSION is not set, and labels canary pods', () => {
    const serving = servingFor(pod({ labels: { app: 'web', 'canaryd.dev/track': 'canary' } }));
    expect(serving?.behaviour.version).toBe('v2');
    expect(serving?.labels.track).toBe('canary');
  });

  it('serves a pod before it is Ready (readiness is what the runner reports once it listens)', () => {
    expect(servingFor(pod({ ready: false }))?.ip).toBe('198.18.0.9');
  });

  it('serves nothing for pods not running yet, terminating, not the demo image, or off the pod network', () => {
    expect(servingFor(pod({ phase: 'Pending' }))).toBeNull();
    expect(servingFor(pod({ deleting: true }))).toBeNull();
    expect(servingFor(pod({ image: 'nginx:1.27' }))).toBeNull();
    expect(servingFor(pod({ ip: '10.1.2.3' }))).toBeNull();
  });

  it('clamps nonsense settings instead of crashing', () => {
    const serving = servingFor(pod({ env: { ERROR_RATE: '7', LATENCY_MS: 'soon' } }));
    expect(serving?.behaviour).toMatchObject({ errorRate: 1, latencyMs: 0 });
  });
});

describe('load generator endpoint choice', () => {
  it('uses ready endpoints only, deduplicated across slices, and only on the local pod network', () => {
    const endpoints = readyEndpoints([
      {
        addressType: 'IPv4',
        ports: [{ name: 'http', port: 8080 }],
        endpoints: [
          { addresses: ['198.18.0.1'], conditions: { ready: true } },
          { addresses: ['198.18.0.2'], conditions: { ready: false } },
          { addresses: ['10.0.0.3'], conditions: { ready: true } },
        ],
      },
      { addressType: 'IPv4', ports: [{ name: 'http', port: 8080 }], endpoints: [{ addresses: ['198.18.0.1'] }] },
    ]);
    expect(endpoints).toEqual([{ ip: '198.18.0.1', port: 8080 }]);
  });
});

describe('demo app', () => {
  let server: DemoServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('answers with its version, fails the configured share of requests, and counts them by code', async () => {
    const draws = [0.1, 0.9, 0.1, 0.9];
    let i = 0;
    server = await startDemoServer(
      '127.0.0.1',
      0,
      'web-1',
      { version: 'v1', errorRate: 0.5, latencyMs: 0 },
      () => draws[i++ % 4]!,
    );
    const port = server.port;
    const codes: number[] = [];
    for (let n = 0; n < 4; n++) {
      const res = await fetch(`http://127.0.0.1:${port}/`);
      codes.push(res.status);
      expect(res.headers.get('x-demo-version')).toBe('v1');
    }
    expect(codes).toEqual([500, 200, 500, 200]);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toContain('http_requests_total{code="500"} 2');
    expect(metrics).toContain('http_requests_total{code="200"} 2');
    expect(metrics).toContain('demo_app_version_info{version="v1"} 1');
    expect(metrics).toContain('http_request_duration_seconds_bucket');
  });
});

describe('prometheus config', () => {
  it('discovers demo pods through the pod runner file and scrapes the apiserver with the admin token', () => {
    const config = prometheusConfig('https://127.0.0.1:6443', '/s/ca.crt', '/s/token', '/s/targets', 1);
    expect(config).toContain("files: ['/s/targets/*.json']");
    expect(config).toContain("targets: ['127.0.0.1:6443']");
    expect(config).toContain('credentials_file: /s/token');
    expect(config).toContain('scrape_interval: 1s');
  });
});
