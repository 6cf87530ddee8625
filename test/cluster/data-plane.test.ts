// The ingress data plane's pure pieces: Traefik's configuration, the objects an ingress-nginx or
// Gateway API installation brings, Prometheus scraping Traefik, and the load generator that
// sends through the proxy and tells the app's answers from the proxy's own.
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { prometheusConfig } from '../../e2e/cluster/prometheus.ts';
import {
  classifyAnswer,
  cookieHeader,
  emptyProxyReport,
  percentiles,
  record,
  sendThroughProxy,
} from '../../e2e/cluster/proxy-load.ts';
import { dataPlaneObjects, LATENCY_BUCKETS, traefikConfig } from '../../e2e/cluster/traefik.ts';

describe('traefik configuration', () => {
  const config = JSON.parse(
    traefikConfig({
      webPort: 8081,
      apiPort: 9091,
      apiServerUrl: 'https://127.0.0.1:6443',
      tokenFile: '/s/token',
      caFile: '/s/ca.crt',
    }),
  );

  it('listens on loopback only, never calls home, and applies changes without delay', () => {
    expect(config.entryPoints.web.address).toBe('127.0.0.1:8081');
    expect(config.entryPoints.traefik.address).toBe('127.0.0.1:9091');
    expect(config.global).toEqual({ checkNewVersion: false, sendAnonymousUsage: false });
    expect(config.providers.kubernetesIngressNGINX.throttleDuration).toBe('0s');
    expect(config.providers.kubernetesGateway.throttleDuration).toBe('0s');
  });

  it('points both providers at the apiserver with the token file and CA', () => {
    for (const provider of [config.providers.kubernetesIngressNGINX, config.providers.kubernetesGateway]) {
      expect(provider).toMatchObject({
        endpoint: 'https://127.0.0.1:6443',
        token: '/s/token',
        certAuthFilePath: '/s/ca.crt',
      });
    }
    expect(config.providers.kubernetesIngressNGINX).toMatchObject({
      ingressClass: 'nginx',
      controllerClass: 'k8s.io/ingress-nginx',
      httpEntryPoint: 'web',
    });
  });

  it('exports per-service metrics with buckets fine enough for latency checks', () => {
    expect(config.metrics.prometheus).toMatchObject({ addServicesLabels: true, entryPoint: 'traefik' });
    expect(config.metrics.prometheus.buckets).toEqual(LATENCY_BUCKETS);
    expect(LATENCY_BUCKETS[0]).toBeLessThanOrEqual(0.005);
  });

  it('brings an IngressClass nginx and a Gateway whose listener is the web entry point', () => {
    const { ingressClass, gatewayClass, gateway } = dataPlaneObjects(8081);
    expect(ingressClass.spec?.controller).toBe('k8s.io/ingress-nginx');
    expect(ingressClass.metadata?.name).toBe('nginx');
    expect(gatewayClass.spec.controllerName).toBe('traefik.io/gateway-controller');
    expect(gateway.spec.gatewayClassName).toBe(gatewayClass.metadata.name);
    expect(gateway.spec.listeners).toEqual([
      { name: 'http', protocol: 'HTTP', port: 8081, allowedRoutes: { namespaces: { from: 'All' } } },
    ]);
  });

  it('has Prometheus scrape Traefik as job traefik', () => {
    const prom = prometheusConfig('https://127.0.0.1:6443', '/s/ca.crt', '/s/token', '/s/targets', 1, '127.0.0.1:9091');
    expect(prom).toContain("job_name: traefik\n    static_configs:\n      - targets: ['127.0.0.1:9091']");
  });
});

describe('load through the proxy', () => {
  it("tells the app's answers (x-demo-version) from the proxy's own", () => {
    expect(classifyAnswer(200, { 'x-demo-version': 'v2', 'x-demo-pod': 'web-1' })).toEqual({
      source: 'app',
      code: 200,
      version: 'v2',
      pod: 'web-1',
    });
    // The demo app's injected errors are the app's, not the proxy's.
    expect(classifyAnswer(500, { 'x-demo-version': 'v2' }).source).toBe('app');
    expect(classifyAnswer(502, {})).toEqual({ source: 'proxy', code: 502 });
    expect(classifyAnswer(404, { 'content-type': 'text/plain' }).source).toBe('proxy');
  });

  it('counts by version, code and source', () => {
    const report = emptyProxyReport();
    record(report, { source: 'app', code: 200, version: 'v1', pod: 'a' });
    record(report, { source: 'app', code: 500, version: 'v2', pod: 'b' });
    record(report, { source: 'proxy', code: 503 });
    expect(report.byVersion).toEqual({ v1: 1, v2: 1 });
    expect(report.byCode).toEqual({ '200': 1, '500': 1, '503': 1 });
    expect(report.bySource).toEqual({ app: 2, proxy: 1 });
    expect(report.proxyCodes).toEqual({ '503': 1 });
  });

  it('computes nearest-rank percentiles', () => {
    const samples = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentiles(samples)).toEqual({ p50: 50, p90: 90, p99: 99, max: 100 });
    expect(percentiles([])).toEqual({ p50: 0, p90: 0, p99: 0, max: 0 });
  });

  it('builds a Cookie header and refuses values that would break it', () => {
    expect(cookieHeader({ canary: 'always', session: 'abc' })).toBe('canary=always; session=abc');
    expect(() => cookieHeader({ 'a b': 'x' })).toThrow(/not a token/);
    expect(() => cookieHeader({ a: 'x;y' })).toThrow(/needs no spaces/);
  });

  describe('against a stand-in proxy', () => {
    let server: Server | undefined;
    afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

    it('sends Host, path, headers and cookies, and stays within its request bound', async () => {
      const seen: Array<{ host?: string; url?: string; cookie?: string; tester?: string }> = [];
      server = createServer((req, res) => {
        seen.push({
          host: req.headers.host,
          url: req.url,
          cookie: req.headers.cookie,
          tester: req.headers['x-tester'] as string,
        });
        if (seen.length % 4 === 0) res.writeHead(503).end('no backend');
        else res.writeHead(200, { 'x-demo-version': 'v1', 'x-demo-pod': 'web-1' }).end('{}');
      });
      await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', () => resolve()));
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      const report = await sendThroughProxy({
        proxyUrl: `http://127.0.0.1:${port}`,
        host: 'shop.example',
        path: '/cart',
        headers: { 'x-tester': 'always' },
        cookies: { canary: 'never' },
        requests: 40,
        concurrency: 4,
      });
      expect(report.sent).toBe(40);
      expect(seen).toHaveLength(40);
      expect(seen[0]).toEqual({ host: 'shop.example', url: '/cart', cookie: 'canary=never', tester: 'always' });
      expect(report.bySource).toEqual({ app: 30, proxy: 10 });
      expect(report.proxyCodes).toEqual({ '503': 10 });
      expect(report.latencyMs.max).toBeGreaterThan(0);
    });

    it('refuses a proxy that is not on loopback', async () => {
      await expect(sendThroughProxy({ proxyUrl: 'http://10.0.0.1:80', host: 'x', requests: 1 })).rejects.toThrow(
        /traffic stays on this machine/,
      );
    });
  });
});
