// The main job: bring up the local cluster, deploy the demo app and show the cluster healthy:
// nodes Ready, the app Available behind its Service, traffic answered, Prometheus scraping it.
// `--keep` leaves the cluster running (stop it with `npm run cluster -- down`).
import { parseArgs } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { clusterDown, clusterUp } from '../cluster/cluster.ts';
import { sendLoad } from '../cluster/loadgen.ts';
import { waitFor } from '../cluster/wait.ts';
import { demoDeployment, demoService, promQuery } from '../support/env.ts';

const say = (line: string) => console.log(`[demo ${new Date().toISOString().slice(11, 19)}] ${line}`);

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { keep: { type: 'boolean', default: false } } });
  const info = await clusterUp({ log: say });
  try {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(info.kubeconfig);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    const version = await kc.makeApiClient(k8s.VersionApi).getCode();
    say(`kube-apiserver ${version.gitVersion} at ${info.apiServerUrl}`);
    const nodes = await core.listNode();
    for (const node of nodes.items) {
      const ready = node.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
      say(`node ${node.metadata?.name}: ${ready ? 'Ready' : 'NotReady'}`);
    }
    const namespace = 'demo';
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    await waitFor(async () => (await core.readNamespacedServiceAccount({ name: 'default', namespace })) !== null, {
      timeoutMs: 30_000,
      description: 'namespace demo ready',
    });
    say('deploying web v1 (3 replicas) and its Service');
    await apps.createNamespacedDeployment({
      namespace,
      body: demoDeployment(namespace, { name: 'web', replicas: 3, version: 'v1' }),
    });
    await core.createNamespacedService({ namespace, body: demoService(namespace, 'web') });
    await waitFor(
      async () => (await apps.readNamespacedDeployment({ name: 'web', namespace })).status?.availableReplicas === 3,
      {
        timeoutMs: 60_000,
        description: 'web Available',
      },
    );
    say('web is Available: 3/3 replicas ready');
    const report = await sendLoad(kc, { namespace, service: 'web', requests: 500, concurrency: 8 });
    say(
      `500 requests through the Service: codes ${JSON.stringify(report.byCode)}, versions ${JSON.stringify(report.byVersion)}`,
    );
    say(`per pod: ${JSON.stringify(report.byPod)}`);
    const series = await waitFor(
      async () => {
        const result = await promQuery(info.prometheusUrl, `sum(http_requests_total{namespace="demo",app="web"})`);
        return result[0] && result[0].value >= 500 ? result : undefined;
      },
      { timeoutMs: 30_000, description: 'Prometheus to have scraped the requests' },
    );
    say(`Prometheus (${info.prometheusUrl}) counts ${series[0]?.value} requests for web`);
    say('the local cluster is healthy');
    if (values.keep) {
      say(`cluster left running: export KUBECONFIG=${info.kubeconfig}; stop with: npm run cluster -- down`);
      return;
    }
  } catch (error) {
    await clusterDown(info.stateDir);
    throw error;
  }
  await clusterDown(info.stateDir);
  say('cluster stopped');
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    console.error(`demo failed: ${error.message}`);
    process.exit(1);
  },
);
