// The local cluster's data plane carries real traffic: an Ingress (class nginx) is answered
// through Traefik by the demo pods, a hand-written ingress-nginx canary Ingress at weight 5
// sends its share of 4,000 requests through the proxy within the 95 % binomial interval, and
// the proxy reaches the pods on their real pod IPs, routed into the pods' network namespace.
import { execFileSync } from 'node:child_process';
import * as k8s from '@kubernetes/client-node';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { isLocalPodIp } from './cluster/pod-network.ts';
import { type ProxyLoadReport, sendThroughProxy } from './cluster/proxy-load.ts';
import { waitFor } from './cluster/wait.ts';
import { demoDeployment, demoService, useTestEnv } from './support/env.ts';
import { binomialInterval } from './support/routers.ts';
import { traefikBackends } from './support/traffic.ts';

const NGINX = 'nginx.ingress.kubernetes.io/';
const Z_95 = 1.959963984540054;
const REQUESTS = 4000;

function ingress(namespace: string, name: string, service: string, annotations: Record<string, string> = {}) {
  const body: k8s.V1Ingress = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, namespace, annotations },
    spec: {
      ingressClassName: 'nginx',
      rules: [
        {
          host: `web.${namespace}.test`,
          http: {
            paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: service, port: { name: 'http' } } } }],
          },
        },
      ],
    },
  };
  return body;
}

describe('ingress data plane (Traefik)', () => {
  const env = useTestEnv('dataplane');
  const cluster = inject('cluster');
  const proxyUrl = cluster.proxyUrl ?? '';
  const host = () => `web.${env.namespace}.test`;
  const through = (requests: number, maxDurationMs = 60_000): Promise<ProxyLoadReport> =>
    sendThroughProxy({ proxyUrl, host: host(), requests, concurrency: 8, maxDurationMs });

  beforeAll(async () => {
    expect(proxyUrl, 'the cluster reports no proxy URL (CANARYD_E2E_PROXY_URL for an external cluster)').not.toBe('');
    const { apps, core, namespace } = env;
    for (const [name, version, replicas] of [
      ['web', 'v1', 2],
      ['web-canary', 'v2', 1],
    ] as const) {
      await apps.createNamespacedDeployment({
        namespace,
        body: demoDeployment(namespace, { name, replicas, version }),
      });
      await core.createNamespacedService({ namespace, body: demoService(namespace, name) });
    }
    await waitFor(
      async () => {
        const list = await apps.listNamespacedDeployment({ namespace });
        return list.items.every((d) => d.status?.availableReplicas === d.spec?.replicas);
      },
      { timeoutMs: 60_000, description: 'web (2 pods) and web-canary (1 pod) Available' },
    );
  });

  it('answers an Ingress of class nginx from the demo pods, through the proxy', async () => {
    const networking = env.kc.makeApiClient(k8s.NetworkingV1Api);
    await networking.createNamespacedIngress({ namespace: env.namespace, body: ingress(env.namespace, 'web', 'web') });
    // Traefik applies the Ingress within moments (throttleDuration 0s); until then it answers 404 itself.
    await waitFor(async () => (await through(5, 5000)).bySource.app === 5, {
      timeoutMs: 30_000,
      intervalMs: 250,
      description: `Traefik answering host ${host()} from the demo app`,
    });
    // One pod can answer those first requests while Traefik has not seen the other's endpoint yet
    // (its API says which pod IPs it balances over): wait for both before counting who answers.
    const pods = await env.core.listNamespacedPod({ namespace: env.namespace, labelSelector: 'app=web' });
    const podIps = pods.items.map((p) => p.status?.podIP ?? '');
    await waitFor(
      async () => {
        const { ips } = await traefikBackends(cluster.traefikApiUrl ?? '', env.namespace);
        return podIps.every((ip) => ips.includes(ip)) ? true : undefined;
      },
      {
        timeoutMs: 30_000,
        intervalMs: 250,
        description: `Traefik balancing over both web pods (${podIps.join(', ')})`,
      },
    );
    const report = await through(200);
    expect(report.failures).toBe(0);
    expect(report.bySource).toEqual({ app: 200, proxy: 0 });
    expect(report.byVersion).toEqual({ v1: 200 });
    expect(Object.keys(report.byPod).sort()).toEqual(pods.items.map((p) => p.metadata?.name).sort());
  });

  it('sends a canary Ingress at weight 5 its share of 4,000 requests, within the 95 % interval', async () => {
    const networking = env.kc.makeApiClient(k8s.NetworkingV1Api);
    await networking.createNamespacedIngress({
      namespace: env.namespace,
      body: ingress(env.namespace, 'web-canary', 'web-canary', {
        [`${NGINX}canary`]: 'true',
        [`${NGINX}canary-weight`]: '5',
      }),
    });
    // The canary is live once a few rotations of the weighted split have reached it.
    await waitFor(async () => ((await through(100, 10_000)).byVersion.v2 ?? 0) > 0, {
      timeoutMs: 30_000,
      intervalMs: 250,
      description: 'Traefik sending part of the traffic to the canary Ingress',
    });
    const report = await through(REQUESTS, 120_000);
    expect(report.sent).toBe(REQUESTS);
    expect(report.failures).toBe(0);
    expect(report.bySource.proxy, `the proxy answered itself: ${JSON.stringify(report.proxyCodes)}`).toBe(0);
    const canary = report.byVersion.v2 ?? 0;
    const { low, high } = binomialInterval(0.05, REQUESTS, Z_95);
    const why = `measured ${canary}/${REQUESTS} = ${((canary / REQUESTS) * 100).toFixed(2)} % on the canary; 95 % interval [${(low * 100).toFixed(2)}, ${(high * 100).toFixed(2)}] %; latency p50 ${report.latencyMs.p50.toFixed(1)} ms, p99 ${report.latencyMs.p99.toFixed(1)} ms`;
    expect(canary / REQUESTS >= low && canary / REQUESTS <= high, why).toBe(true);
    expect(report.byVersion.v1).toBe(REQUESTS - canary);
  });

  it('reaches the pods on their real pod IPs, routed into the pods network namespace', async () => {
    const pods = (await env.core.listNamespacedPod({ namespace: env.namespace })).items;
    const ips = pods.map((p) => p.status?.podIP ?? '');
    for (const ip of ips) expect(isLocalPodIp(ip), `pod IP ${ip}`).toBe(true);
    // Traefik's own view (where its API is reachable): its load balancers point at exactly these pod IPs.
    if (cluster.traefikApiUrl) {
      const services = (await (await fetch(`${cluster.traefikApiUrl}/api/http/services`)).json()) as Array<{
        name: string;
        loadBalancer?: { servers?: Array<{ url: string }> };
      }>;
      const servers = services
        .filter((s) => s.name.startsWith(`${env.namespace}-`))
        .flatMap((s) => s.loadBalancer?.servers ?? [])
        .map((s) => new URL(s.url).hostname);
      expect(new Set(servers)).toEqual(new Set(ips));
    }
    // A pod answers on its own IP, as itself.
    for (const pod of pods) {
      const res = await fetch(`http://${pod.status?.podIP}:8080/`, { signal: AbortSignal.timeout(5000) });
      expect(res.headers.get('x-demo-pod')).toBe(pod.metadata?.name);
    }
    if (cluster.podNetwork) {
      const { hostVeth, podCidr } = cluster.podNetwork;
      for (const ip of ips) {
        const route = execFileSync('ip', ['route', 'get', ip], { encoding: 'utf8' });
        expect(route, `ip route get ${ip} (pod CIDR ${podCidr})`).toMatch(new RegExp(`\\bdev ${hostVeth}\\b`));
      }
    }
  });
});
