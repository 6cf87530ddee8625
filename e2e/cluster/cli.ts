// `npm run cluster -- up|down|status`: the local cluster by hand.
import { parseArgs } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { clusterDown, clusterUp, defaultStateDir, readClusterInfo } from './cluster.ts';
import { routeOf } from './netns.ts';
import { traefikRouters } from './traefik.ts';

const usage = `usage: npm run cluster -- <up|down|status> [--nodes N] [--state-dir DIR]
  up      build (cached) and start etcd, kube-apiserver, controller-manager, scheduler, kwok,
          the pod runner (pods in a network namespace), Traefik and Prometheus on 127.0.0.1;
          prints how to use them (needs root for the network namespace)
  down    stop every process of the local cluster and remove its network namespace and routes
  status  show the components and nodes of a running local cluster`;

async function status(stateDir: string): Promise<number> {
  const info = readClusterInfo(stateDir);
  if (!info) {
    console.log(`no local cluster recorded in ${stateDir}`);
    return 1;
  }
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(info.kubeconfig);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const version = await kc.makeApiClient(k8s.VersionApi).getCode();
  const nodes = await core.listNode();
  console.log(`kube-apiserver  ${info.apiServerUrl}  (${version.gitVersion})`);
  console.log(`prometheus      ${info.prometheusUrl}`);
  console.log(`kubeconfig      ${info.kubeconfig}`);
  const net = info.podNetwork;
  console.log(
    `pod CIDR        ${info.podCidr} in network namespace ${net.namespace} (veth ${net.hostVeth}, ${net.linkCidr})`,
  );
  console.log(`pod route       ${routeOf(net.probeIp).split('\n')[0]}`);
  const routers = await traefikRouters(info.traefik.apiUrl).then(
    (list) => `${list.length} routers`,
    (error: Error) => `API not answering (${error.message})`,
  );
  console.log(
    `traefik         ${info.proxyUrl}  (v${info.traefik.version}, ${routers}; API and metrics ${info.traefik.apiUrl})`,
  );
  console.log(
    `gateway         ${info.gateway.namespace}/${info.gateway.name} (class ${info.gateway.className}), IngressClass nginx`,
  );
  for (const node of nodes.items) {
    const ready = node.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    console.log(`node            ${node.metadata?.name}  ${ready ? 'Ready' : 'NotReady'}`);
  }
  const targets = (await (await fetch(`${info.prometheusUrl}/api/v1/targets`)).json()) as {
    data: { activeTargets: Array<{ health: string; labels: Record<string, string> }> };
  };
  const up = targets.data.activeTargets.filter((t) => t.health === 'up').length;
  console.log(`prometheus      ${up}/${targets.data.activeTargets.length} targets up`);
  return 0;
}

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { nodes: { type: 'string' }, 'state-dir': { type: 'string' } },
  });
  const stateDir = values['state-dir'] ?? defaultStateDir();
  switch (positionals[0]) {
    case 'up': {
      const info = await clusterUp({ stateDir, nodes: values.nodes ? Number(values.nodes) : undefined });
      console.log(
        `\nexport KUBECONFIG=${info.kubeconfig}\nkubectl get nodes\nPrometheus: ${info.prometheusUrl}\n` +
          `Through the ingress: curl -H 'Host: <ingress host>' ${info.proxyUrl}/`,
      );
      return status(stateDir);
    }
    case 'down': {
      const stopped = await clusterDown(stateDir);
      console.log(stopped.length ? `stopped: ${stopped.join(', ')}` : 'nothing was running');
      return 0;
    }
    case 'status':
      return status(stateDir);
    default:
      console.error(usage);
      return 2;
  }
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    console.error(`error: ${error.message}`);
    process.exit(1);
  },
);
