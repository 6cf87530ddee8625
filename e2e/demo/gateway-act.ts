// The demo's Gateway API act: app `shop` behind an HTTPRoute attached to the cluster's Gateway
// (Traefik's kubernetesGateway provider), released by the gateway-api router that `router: auto`
// picks. At each step the share measured through the Gateway is printed beside the weight
// canaryd wrote as backendRef weights; the route is the user's again at the end.
import * as k8s from '@kubernetes/client-node';
import type { ClusterInfo } from '../cluster/cluster.ts';
import { sendThroughProxy } from '../cluster/proxy-load.ts';
import { waitFor } from '../cluster/wait.ts';
import { createPolicy, readPolicy } from '../support/canaryd.ts';
import { demoDeployment, demoService } from '../support/env.ts';
import { binomialInterval, operate } from '../support/routers.ts';
import { pct, waitForTraefikWeight, Z_95 } from '../support/traffic.ts';
import { say, setVersion, waitAdopted } from './release.ts';

const ROUTE = { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes' };

/** Backend weights of the route's rules, e.g. "web:95 web-canary:5", for the printout. */
const backendWeights = (route: {
  spec?: { rules?: Array<{ backendRefs?: Array<{ name: string; weight?: number }> }> };
}) =>
  (route.spec?.rules ?? [])
    .map((rule) => (rule.backendRefs ?? []).map((ref) => `${ref.name}:${ref.weight ?? 1}`).join(' '))
    .join(' | ');

export async function gatewayAct(kc: k8s.KubeConfig, info: ClusterInfo, namespace: string): Promise<void> {
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const host = `shop.${namespace}.test`;
  const through = (requests: number) => sendThroughProxy({ proxyUrl: info.proxyUrl, host, requests, concurrency: 8 });
  const readRoute = async () =>
    (await custom.getNamespacedCustomObject({ ...ROUTE, namespace, name: 'shop' })) as {
      spec?: { rules?: Array<{ backendRefs?: Array<{ name: string; weight?: number }> }> };
    };

  const { gateway } = info;
  say(
    `Gateway API: app shop v1 (3 replicas) behind an HTTPRoute on Gateway ${gateway.namespace}/${gateway.name} (class ${gateway.className}, served by Traefik), host ${host}`,
  );
  await apps.createNamespacedDeployment({
    namespace,
    body: demoDeployment(namespace, { name: 'shop', replicas: 3, version: 'v1' }),
  });
  await core.createNamespacedService({ namespace, body: demoService(namespace, 'shop') });
  await custom.createNamespacedCustomObject({
    ...ROUTE,
    namespace,
    body: {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'shop', namespace },
      spec: {
        parentRefs: [{ name: gateway.name, namespace: gateway.namespace, sectionName: gateway.listener }],
        hostnames: [host],
        rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRefs: [{ name: 'shop', port: 80 }] }],
      },
    },
  });
  await waitFor(async () => (await through(5)).bySource.app === 5, {
    timeoutMs: 60_000,
    intervalMs: 250,
    description: `shop v1 answering ${host} through the Gateway`,
  });
  say(`shop v1 answers through the Gateway; route as written: ${backendWeights(await readRoute())}`);

  await createPolicy(kc, namespace, {
    apiVersion: 'canaryd.dev/v1alpha1',
    kind: 'CanaryPolicy',
    metadata: { name: 'shop', namespace },
    spec: {
      target: { deployment: 'shop', service: 'shop', router: 'auto' },
      strategy: {
        steps: [
          { weight: 5, hold: '1s', pause: true },
          { weight: 50, hold: '1s', pause: true },
        ],
      },
      timeouts: { canaryReady: '60s', promotion: '2m' },
    },
  });
  const adopted = await waitAdopted(kc, namespace, 'shop');
  say(`canaryd chose: ${adopted.router} (${(adopted as { routerReason?: string }).routerReason ?? ''})`);

  // Each step waits for a person (pause: true): the demo measures, then resumes. On a busy
  // machine a timed hold could end while the share is still being measured.
  const pairPrefix = `httproute-${namespace}-shop-`;
  const measure = async (weight: number) => {
    await waitForTraefikWeight(info.traefik.apiUrl, namespace, weight, 30_000, pairPrefix);
    const weights = backendWeights(await readRoute());
    const report = await through(2000);
    const canary = report.byVersion.v2 ?? 0;
    const { low, high } = binomialInterval(weight / 100, report.sent, Z_95);
    const inside = canary / report.sent >= low && canary / report.sent <= high;
    return (
      `route ${weights} | measured through the Gateway ${pct(canary, report.sent).padStart(8)} ` +
      `(${canary} of ${report.sent} answered by v2; 95 % interval ${(low * 100).toFixed(2)}–${(high * 100).toFixed(2)} %: ${inside ? 'inside' : 'OUTSIDE'})`
    );
  };
  say('releasing shop v2 through the Gateway: 5 % → 50 %, each step paused for a look, then resumed');
  await setVersion(apps, namespace, 'shop', 'v2', 0);
  for (const [index, weight] of [5, 50].entries()) {
    await waitFor(
      async () => {
        const status = (await readPolicy(kc, namespace, 'shop'))?.status;
        return status?.phase === 'paused' && status.weight === weight ? status : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 300, description: `shop step ${index + 1} at ${weight} %` },
    ).catch(async (error: Error) => {
      const status = (await readPolicy(kc, namespace, 'shop'))?.status;
      throw new Error(
        `${error.message}; shop's status: phase=${status?.phase} weight=${status?.weight} — ${status?.message}`,
      );
    });
    say(`  canaryd weight ${String(weight).padStart(4)} % | ${await measure(weight)}`);
    await operate(kc, namespace, 'shop', 'resume');
  }
  const ended = await waitFor(
    async () => {
      const status = (await readPolicy(kc, namespace, 'shop'))?.status;
      return status?.phase === 'succeeded' || status?.phase === 'failed' ? status : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 300, description: 'the release of shop to end' },
  );
  say(`  phase=${ended.phase} — ${ended.message}`);
  if (ended.phase !== 'succeeded')
    throw new Error(`shop v2 should have been promoted, but the release ended ${ended.phase}`);
  await waitFor(async () => ((await through(200)).byVersion.v2 ?? 0) === 200, {
    timeoutMs: 60_000,
    description: 'every request to shop answered by v2',
  });
  await waitFor(async () => backendWeights(await readRoute()) === 'shop:1', {
    timeoutMs: 30_000,
    description: 'the HTTPRoute back as the user wrote it',
  });
  say(
    `shop v2 promoted: 200 of 200 requests through the Gateway answered by v2; route back as written: ${backendWeights(await readRoute())}`,
  );
}
