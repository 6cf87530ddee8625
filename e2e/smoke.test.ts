// The local cluster does what the rest of the suite relies on: Deployments become Available,
// Services list their ready pods, pods answer HTTP, Prometheus scrapes them, scaling down stops them.
import { connect } from 'node:net';
import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { sendLoad, serviceEndpoints } from './cluster/loadgen.ts';
import { isLocalPodIp, podTarget } from './cluster/pod-network.ts';
import { waitFor } from './cluster/wait.ts';
import { demoDeployment, demoService, promQuery, useTestEnv } from './support/env.ts';

const canConnect = (ip: string, port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect({ host: ip, port, timeout: 1000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });

describe('local cluster smoke test', () => {
  const env = useTestEnv('smoke');

  it('runs a demo Deployment end to end: endpoints, traffic, metrics, scale down', async () => {
    const { apps, core, kc, namespace } = env;
    await apps.createNamespacedDeployment({
      namespace,
      body: demoDeployment(namespace, { name: 'web', replicas: 3, version: 'v1' }),
    });
    await core.createNamespacedService({ namespace, body: demoService(namespace, 'web') });

    await waitFor(
      async () => (await apps.readNamespacedDeployment({ name: 'web', namespace })).status?.availableReplicas === 3,
      { timeoutMs: 60_000, description: 'Deployment web Available with 3 replicas' },
    );
    const pods = await core.listNamespacedPod({ namespace, labelSelector: 'app=web' });
    const podIps = pods.items.map((p) => p.status?.podIP ?? '').sort();
    expect(podIps).toHaveLength(3);
    for (const ip of podIps) expect(isLocalPodIp(ip)).toBe(true);

    const endpoints = await waitFor(
      async () => {
        const found = await serviceEndpoints(kc, namespace, 'web');
        return found.length === 3 ? found : undefined;
      },
      { timeoutMs: 30_000, description: 'EndpointSlices of web listing 3 ready endpoints' },
    );
    expect(endpoints.map((e) => e.ip).sort()).toEqual(podIps);
    expect(new Set(endpoints.map((e) => e.port))).toEqual(new Set([8080]));

    // Every pod process is up before traffic is judged.
    await waitFor(
      async () => (await Promise.all(endpoints.map((e) => canConnect(podTarget(e.ip), e.port)))).every(Boolean),
      {
        timeoutMs: 30_000,
        description: 'the pod runner serving all 3 pods',
      },
    );
    const report = await sendLoad(kc, { namespace, service: 'web', requests: 300, concurrency: 6 });
    expect(report.failures).toBe(0);
    expect(report.byCode).toEqual({ '200': 300 });
    expect(report.byVersion).toEqual({ v1: 300 });
    expect(Object.keys(report.byPod).sort()).toEqual(pods.items.map((p) => p.metadata?.name).sort());

    const series = await waitFor(
      async () => {
        const result = await promQuery(
          env.prometheusUrl,
          `sum by (pod) (http_requests_total{namespace="${namespace}",app="web"})`,
        );
        const total = result.reduce((sum, r) => sum + r.value, 0);
        return result.length === 3 && total === 300 ? result : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500, description: 'Prometheus reporting 300 requests over 3 pods' },
    );
    expect(series.every((s) => s.value > 0)).toBe(true);

    await apps.patchNamespacedDeploymentScale(
      { name: 'web', namespace, body: { spec: { replicas: 1 } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    const remaining = await waitFor(
      async () => {
        const found = await serviceEndpoints(kc, namespace, 'web');
        return found.length === 1 ? found : undefined;
      },
      { timeoutMs: 30_000, description: 'EndpointSlices of web down to 1 endpoint' },
    );
    const removed = endpoints.filter((e) => e.ip !== remaining[0]?.ip);
    expect(removed).toHaveLength(2);
    await waitFor(
      async () => (await Promise.all(removed.map((e) => canConnect(podTarget(e.ip), e.port)))).every((up) => !up),
      {
        timeoutMs: 30_000,
        description: 'the processes of the two removed pods to stop',
      },
    );
    expect(await canConnect(podTarget(remaining[0]!.ip), remaining[0]!.port)).toBe(true);
  });

  it('every node has a Lease that kwok renews (else nodes go NotReady every node-monitor-grace-period)', async () => {
    const nodes = (await env.core.listNode()).items.map((n) => n.metadata?.name ?? '');
    expect(nodes.length).toBeGreaterThan(0);
    const coordination = env.kc.makeApiClient(k8s.CoordinationV1Api);
    const renewals = async () =>
      new Map(
        (await coordination.listNamespacedLease({ namespace: 'kube-node-lease' })).items.map((l) => [
          l.metadata?.name ?? '',
          String(l.spec?.renewTime),
        ]),
      );
    const first = await renewals();
    expect([...first.keys()].sort()).toEqual([...nodes].sort());
    await waitFor(
      async () => {
        const now = await renewals();
        return nodes.every((node) => now.get(node) !== first.get(node));
      },
      { timeoutMs: 60_000, description: 'every node Lease renewed' },
    );
  });
});
