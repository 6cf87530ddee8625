// `npm run cluster -- up|down|status`: the local cluster by hand.
import { parseArgs } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { clusterDown, clusterUp, defaultStateDir, readClusterInfo } from './cluster.ts';

const usage = `usage: npm run cluster -- <up|down|status> [--nodes N] [--state-dir DIR]
  up      build (cached) and start etcd, kube-apiserver, controller-manager, scheduler, kwok,
          the pod runner and Prometheus on 127.0.0.1; prints how to use them
  down    stop every process of the local cluster
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
  console.log(`pod CIDR        ${info.podCidr} (loopback)`);
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
      console.log(`\nexport KUBECONFIG=${info.kubeconfig}\nkubectl get nodes\nPrometheus: ${info.prometheusUrl}`);
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
