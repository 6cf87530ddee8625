// Traefik as the local cluster's ingress data plane: one process on 127.0.0.1 that reads Ingress
// objects through its kubernetesIngressNGINX provider (the nginx.ingress.kubernetes.io/canary*
// annotations included) and Gateway API objects through its kubernetesGateway provider, and
// proxies to pod IPs through the pods' network namespace (netns.ts). Built by build-traefik.sh.
//
// Before it starts, the cluster gets what an ingress-nginx or Gateway API installation brings:
// the standard Gateway API CRDs, an IngressClass `nginx` (controller k8s.io/ingress-nginx), a
// GatewayClass `traefik` and a Gateway `canaryd` in namespace `canaryd-gateway` whose `http`
// listener is the web entry point's port (Traefik matches listeners to entry points by port).
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { freePort } from './ports.ts';
import { startProcess, tail } from './processes.ts';
import { WaitAborted, waitFor } from './wait.ts';

export const INGRESS_CLASS = 'nginx';
export const INGRESS_NGINX_CONTROLLER = 'k8s.io/ingress-nginx';
export const GATEWAY_CLASS = 'traefik';
export const GATEWAY_CONTROLLER = 'traefik.io/gateway-controller';
export const GATEWAY = { name: 'canaryd', namespace: 'canaryd-gateway', listener: 'http' } as const;
/** Request duration buckets fine enough for latency checks (Traefik's default is 0.1, 0.3, 1.2, 5 s). */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export interface TraefikInfo {
  /** The web entry point: where clients send requests (with a Host header). */
  proxyUrl: string;
  /** The `traefik` entry point: its API (/api/...), /ping and /metrics. */
  apiUrl: string;
  metricsUrl: string;
  version: string;
  gateway: { name: string; namespace: string; className: string; listener: string };
}

export interface TraefikConfigInput {
  webPort: number;
  apiPort: number;
  apiServerUrl: string;
  tokenFile: string;
  caFile: string;
}

/** Pure: Traefik's static configuration (YAML is a superset of JSON). */
export function traefikConfig(input: TraefikConfigInput): string {
  const kubernetes = {
    endpoint: input.apiServerUrl,
    token: input.tokenFile,
    certAuthFilePath: input.caFile,
    // Apply every change at once, so a weight written is a weight served.
    throttleDuration: '0s',
  };
  const config = {
    global: { checkNewVersion: false, sendAnonymousUsage: false },
    entryPoints: {
      web: { address: `127.0.0.1:${input.webPort}` },
      traefik: { address: `127.0.0.1:${input.apiPort}` },
    },
    api: { insecure: true, dashboard: false },
    ping: { entryPoint: 'traefik' },
    log: { level: 'INFO', noColor: true },
    metrics: {
      prometheus: {
        entryPoint: 'traefik',
        addEntryPointsLabels: true,
        addRoutersLabels: true,
        addServicesLabels: true,
        buckets: LATENCY_BUCKETS,
      },
    },
    providers: {
      kubernetesIngressNGINX: {
        ...kubernetes,
        ingressClass: INGRESS_CLASS,
        controllerClass: INGRESS_NGINX_CONTROLLER,
        httpEntryPoint: 'web',
      },
      kubernetesGateway: kubernetes,
    },
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

/** Pure: the IngressClass, GatewayClass and Gateway the cluster gets before Traefik starts. */
export function dataPlaneObjects(webPort: number) {
  const ingressClass: k8s.V1IngressClass = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'IngressClass',
    metadata: { name: INGRESS_CLASS },
    spec: { controller: INGRESS_NGINX_CONTROLLER },
  };
  const gatewayClass = {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'GatewayClass',
    metadata: { name: GATEWAY_CLASS },
    spec: { controllerName: GATEWAY_CONTROLLER },
  };
  const gateway = {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: { name: GATEWAY.name, namespace: GATEWAY.namespace },
    spec: {
      gatewayClassName: GATEWAY_CLASS,
      listeners: [
        {
          name: GATEWAY.listener,
          protocol: 'HTTP',
          port: webPort,
          allowedRoutes: { namespaces: { from: 'All' } },
        },
      ],
    },
  };
  return { ingressClass, gatewayClass, gateway };
}

export function traefikBinary(binDir: string): string {
  const binary = join(binDir, 'traefik');
  if (!existsSync(binary)) {
    throw new Error(
      `Traefik, the local cluster's ingress data plane, is not built (no ${binary}): run ` +
        'e2e/cluster/build-traefik.sh (a cold build takes 10-25 min; then it is cached)',
    );
  }
  return binary;
}

/** Creates the standard Gateway API CRDs (from build-traefik.sh's cache) and waits until they are Established. */
async function installGatewayCrds(kc: k8s.KubeConfig, crdDir: string): Promise<string[]> {
  if (!existsSync(crdDir)) throw new Error(`no Gateway API CRDs in ${crdDir}: run e2e/cluster/build-traefik.sh`);
  const api = kc.makeApiClient(k8s.ApiextensionsV1Api);
  const names: string[] = [];
  for (const file of readdirSync(crdDir).filter((f) => f.endsWith('.yaml'))) {
    for (const doc of k8s.loadAllYaml(readFileSync(join(crdDir, file), 'utf8'))) {
      // The directory also holds a ValidatingAdmissionPolicy guarding upgrades: CRDs only here.
      if ((doc as k8s.KubernetesObject | null)?.kind !== 'CustomResourceDefinition') continue;
      const crd = doc as k8s.V1CustomResourceDefinition;
      await api.createCustomResourceDefinition({ body: crd });
      names.push(crd.metadata?.name ?? file);
    }
  }
  await waitFor(
    async () => {
      const list = await api.listCustomResourceDefinition();
      const established = new Set(
        list.items
          .filter((c) => c.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True'))
          .map((c) => c.metadata?.name),
      );
      return names.every((n) => established.has(n));
    },
    { timeoutMs: 60_000, intervalMs: 250, description: `the Gateway API CRDs Established (${names.join(', ')})` },
  );
  return names;
}

async function createDataPlaneObjects(kc: k8s.KubeConfig, webPort: number): Promise<void> {
  const { ingressClass, gatewayClass, gateway } = dataPlaneObjects(webPort);
  await kc.makeApiClient(k8s.NetworkingV1Api).createIngressClass({ body: ingressClass });
  await kc.makeApiClient(k8s.CoreV1Api).createNamespace({ body: { metadata: { name: GATEWAY.namespace } } });
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const group = { group: 'gateway.networking.k8s.io', version: 'v1' };
  await custom.createClusterCustomObject({ ...group, plural: 'gatewayclasses', body: gatewayClass });
  await custom.createNamespacedCustomObject({
    ...group,
    namespace: GATEWAY.namespace,
    plural: 'gateways',
    body: gateway,
  });
}

export interface StartTraefikOptions {
  stateDir: string;
  binDir: string;
  kubeconfig: string;
  apiServerUrl: string;
  adminToken: string;
  caCert: string;
  log: (line: string) => void;
}

export async function startTraefik(options: StartTraefikOptions): Promise<TraefikInfo> {
  const binary = traefikBinary(options.binDir);
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(options.kubeconfig);
  const crds = await installGatewayCrds(kc, join(options.binDir, 'gateway-api-crds'));
  options.log(`gateway API CRDs: ${crds.length} (standard channel)`);
  const [webPort, apiPort] = [await freePort(), await freePort()];
  await createDataPlaneObjects(kc, webPort);

  const dir = join(options.stateDir, 'traefik');
  mkdirSync(dir, { recursive: true });
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, options.adminToken, { mode: 0o600 });
  const configFile = join(dir, 'traefik.yml');
  writeFileSync(
    configFile,
    traefikConfig({ webPort, apiPort, apiServerUrl: options.apiServerUrl, tokenFile, caFile: options.caCert }),
  );
  // A KUBECONFIG in the environment would win over the configured endpoint.
  const { KUBECONFIG: _ignored, ...env } = process.env;
  const proc = startProcess(options.stateDir, 'traefik', binary, [`--configFile=${configFile}`], env);
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  let exited: number | null | undefined;
  proc.exited.then((code) => {
    exited = code;
  });
  // For a moment after start the API answers 404: wait until it lists routers.
  await waitFor(
    async () => {
      if (exited !== undefined) throw new WaitAborted(`traefik exited (${exited}):\n${tail(proc.logFile)}`);
      const res = await fetch(`${apiUrl}/api/http/routers`, { signal: AbortSignal.timeout(2000) }).catch(() => null);
      return res?.status === 200;
    },
    { timeoutMs: 60_000, intervalMs: 200, description: 'traefik /api/http/routers answering 200' },
  ).catch((error: Error) => {
    throw new Error(`${error.message}\nlast lines of ${proc.logFile}:\n${tail(proc.logFile)}`);
  });
  const version = ((await (await fetch(`${apiUrl}/api/version`)).json()) as { Version?: string }).Version ?? '?';
  return {
    proxyUrl: `http://127.0.0.1:${webPort}`,
    apiUrl,
    metricsUrl: `${apiUrl}/metrics`,
    version,
    gateway: { ...GATEWAY, className: GATEWAY_CLASS },
  };
}

/** The routers Traefik serves (its API), e.g. for `cluster status` and readiness checks. */
export async function traefikRouters(
  apiUrl: string,
): Promise<Array<{ name: string; rule?: string; service?: string }>> {
  const res = await fetch(`${apiUrl}/api/http/routers`, { signal: AbortSignal.timeout(5000) });
  if (res.status !== 200) throw new Error(`traefik API ${apiUrl}/api/http/routers answered ${res.status}`);
  return (await res.json()) as Array<{ name: string; rule?: string; service?: string }>;
}

/**
 * The canary's share of each weighted pair Traefik built for a namespace, as Traefik itself
 * applies it (its API), keyed by the pair's name: what the data plane really carries, which lags
 * the weight canaryd wrote by the moments Traefik takes to see the object and the canary's
 * endpoints. Both providers are read:
 * - ingress-nginx: `<ns>-<ingress>-...` pairs whose canary member ends in `-canary`;
 * - Gateway API: `httproute-<ns>-<route>-gw-...-wrr` services, one per rule, whose members are
 *   `...-svc-<ns>-<service>-<index>` (the canary's is `...-<service>-canary-<index>`).
 * Only pairs with a stable and a canary member count: a tester rule that sends to the canary
 * alone is not a weighted split.
 */
export async function traefikCanaryShares(apiUrl: string, namespace: string): Promise<Record<string, number>> {
  const res = await fetch(`${apiUrl}/api/http/services`, { signal: AbortSignal.timeout(5000) });
  if (res.status !== 200) throw new Error(`traefik API ${apiUrl}/api/http/services answered ${res.status}`);
  const services = (await res.json()) as Array<{
    name: string;
    weighted?: { services?: Array<{ name: string; weight?: number }> };
  }>;
  const isCanary = (name: string) => /-canary(-\d+)?$/.test(name);
  const shares: Record<string, number> = {};
  for (const service of services) {
    const pair = service.weighted?.services;
    const ours = service.name.startsWith(`${namespace}-`) || service.name.startsWith(`httproute-${namespace}-`);
    if (!ours || !pair) continue;
    const canaryMembers = pair.filter((s) => isCanary(s.name));
    if (canaryMembers.length === 0 || canaryMembers.length === pair.length) continue;
    const total = pair.reduce((sum, s) => sum + (s.weight ?? 1), 0);
    const canary = canaryMembers.reduce((sum, s) => sum + (s.weight ?? 1), 0);
    shares[service.name] = total === 0 ? 0 : canary / total;
  }
  return shares;
}
