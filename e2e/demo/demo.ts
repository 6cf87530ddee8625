// The main job: a full canaryd demo on the local cluster (real control plane + Prometheus).
//   1. the cluster comes up, the CanaryPolicy CRD is installed, canaryd starts;
//   2. the demo app `web` runs v1 behind its Service, with steady traffic;
//   3. v2 is released: canaryd moves it through its steps (live status below) and promotes it;
//   4. a bad v3 (30 % errors) is released: the SLO check fails and canaryd rolls it back.
// `--keep` leaves the cluster and canaryd running (stop with `npm run cluster -- down`).
import { parseArgs } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { clusterDown, clusterUp } from '../cluster/cluster.ts';
import { sendLoad } from '../cluster/loadgen.ts';
import { waitFor } from '../cluster/wait.ts';
import { type CanarydProcess, createPolicy, installCrd, readPolicy, startCanaryd } from '../support/canaryd.ts';
import { demoDeployment, demoService } from '../support/env.ts';

const NAMESPACE = 'demo';
const started = Date.now();
const say = (line: string) => console.log(`[demo +${((Date.now() - started) / 1000).toFixed(0).padStart(3)}s] ${line}`);

/** Keeps bounded traffic flowing through the Service (as users would) until stopped. */
function backgroundTraffic(kc: k8s.KubeConfig) {
  let running = true;
  let total = 0;
  const loop = (async () => {
    while (running) {
      const report = await sendLoad(kc, {
        namespace: NAMESPACE,
        service: 'web',
        requests: 200,
        maxDurationMs: 2000,
        concurrency: 4,
      });
      total += report.sent;
      // Pace the load: about 100 requests per second at most.
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return total;
    },
  };
}

async function setVersion(apps: k8s.AppsV1Api, version: string, errorRate: number): Promise<void> {
  await apps.patchNamespacedDeployment(
    {
      name: 'web',
      namespace: NAMESPACE,
      body: {
        spec: {
          template: {
            spec: {
              containers: [
                {
                  name: 'app',
                  image: `canaryd-demo:${version}`,
                  env: [
                    { name: 'VERSION', value: version },
                    { name: 'ERROR_RATE', value: String(errorRate) },
                  ],
                },
              ],
            },
          },
        },
      },
    },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
  );
}

/** Prints every change of the policy's status until `done` says the release has ended. */
async function followRelease(kc: k8s.KubeConfig, done: (phase: string) => boolean, timeoutMs: number): Promise<string> {
  let last = '';
  return waitFor(
    async () => {
      const policy = await readPolicy(kc, NAMESPACE, 'web');
      const status = policy?.status;
      if (!status) return undefined;
      const line = `phase=${status.phase} step=${status.step || '-'} canary weight=${status.weight}% — ${status.message}`;
      if (line !== last) say(`  ${line}`);
      last = line;
      return status.phase && done(status.phase) ? status.phase : undefined;
    },
    { timeoutMs, intervalMs: 500, description: 'the release to end' },
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { keep: { type: 'boolean', default: false } } });
  say('bringing up the local cluster (etcd, kube-apiserver, controller-manager, scheduler, kwok, Prometheus)');
  const info = await clusterUp({ log: (line) => say(line) });
  let canaryd: CanarydProcess | undefined;
  let traffic: ReturnType<typeof backgroundTraffic> | undefined;
  const finish = async () => {
    await traffic?.stop();
    if (!values.keep) {
      await canaryd?.stop();
      await clusterDown(info.stateDir);
    }
  };
  try {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(info.kubeconfig);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    await installCrd(kc);
    say('CanaryPolicy CRD installed');
    await core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
    await waitFor(
      async () => (await core.readNamespacedServiceAccount({ name: 'default', namespace: NAMESPACE })) !== null,
      {
        timeoutMs: 30_000,
        description: 'namespace demo ready',
      },
    );

    say('deploying web v1 (4 replicas) and its Service');
    await apps.createNamespacedDeployment({
      namespace: NAMESPACE,
      body: demoDeployment(NAMESPACE, { name: 'web', replicas: 4, version: 'v1' }),
    });
    await core.createNamespacedService({ namespace: NAMESPACE, body: demoService(NAMESPACE, 'web') });
    await waitFor(
      async () =>
        (await apps.readNamespacedDeployment({ name: 'web', namespace: NAMESPACE })).status?.availableReplicas === 4,
      {
        timeoutMs: 60_000,
        description: 'web v1 Available',
      },
    );
    traffic = backgroundTraffic(kc);

    canaryd = startCanaryd(info.kubeconfig, ['--namespace', NAMESPACE], 'canaryd-demo');
    say(`canaryd started (log: ${canaryd.logFile})`);
    await createPolicy(kc, NAMESPACE, {
      apiVersion: 'canaryd.dev/v1alpha1',
      kind: 'CanaryPolicy',
      metadata: { name: 'web', namespace: NAMESPACE },
      spec: {
        target: { deployment: 'web', service: 'web', router: 'replica-ratio' },
        strategy: {
          steps: [
            { weight: 20, hold: '10s' },
            { weight: 50, hold: '10s' },
          ],
          allowLargeFirstStep: true,
        },
        analysis: {
          prometheus: { address: info.prometheusUrl },
          interval: '5s',
          window: '15s',
          failureLimit: 0,
          checks: [
            {
              name: 'error-rate',
              type: 'custom',
              query:
                'sum(rate(http_requests_total{namespace="{{namespace}}",track="canary",code=~"5.."}[{{interval}}])) / sum(rate(http_requests_total{namespace="{{namespace}}",track="canary"}[{{interval}}]))',
              sampleQuery: 'sum(increase(http_requests_total{namespace="{{namespace}}",track="canary"}[{{interval}}]))',
              minSample: 20,
              max: 0.05,
            },
          ],
        },
        timeouts: { canaryReady: '60s', promotion: '2m' },
      },
    });
    say('CanaryPolicy web: replica-ratio steps 20 % → 50 %, each held 10 s, gated by a canary error rate ≤ 5 %');
    await waitFor(async () => (await readPolicy(kc, NAMESPACE, 'web'))?.status?.phase === 'idle', {
      timeoutMs: 30_000,
      description: 'canaryd to adopt web',
    });
    say('canaryd adopted web (the Deployment is paused; no pod restarted)');

    say('releasing v2 (healthy): kubectl set image deploy/web app=canaryd-demo:v2');
    await setVersion(apps, 'v2', 0);
    const v2 = await followRelease(kc, (phase) => phase === 'succeeded' || phase === 'failed', 180_000);
    if (v2 !== 'succeeded') throw new Error(`v2 should have been promoted, but the release ended ${v2}`);
    const afterV2 = await sendLoad(kc, { namespace: NAMESPACE, service: 'web', requests: 200, concurrency: 4 });
    say(`v2 promoted: 200 requests now answered by ${JSON.stringify(afterV2.byVersion)}`);

    say('releasing v3 (bad: 30 % of requests fail)');
    await setVersion(apps, 'v3', 0.3);
    await waitFor(async () => (await readPolicy(kc, NAMESPACE, 'web'))?.status?.phase !== 'succeeded', {
      timeoutMs: 30_000,
      description: 'canaryd to notice v3',
    });
    const v3 = await followRelease(kc, (phase) => phase === 'failed' || phase === 'succeeded', 180_000);
    if (v3 !== 'failed') throw new Error(`v3 should have been rolled back, but the release ended ${v3}`);
    const policy = await readPolicy(kc, NAMESPACE, 'web');
    const last = policy?.status?.release?.history.at(-1);
    say(`v3 rolled back: ${last?.reason ?? policy?.status?.message}`);
    const afterV3 = await sendLoad(kc, { namespace: NAMESPACE, service: 'web', requests: 200, concurrency: 4 });
    say(`traffic after the rollback: ${JSON.stringify(afterV3.byVersion)}, codes ${JSON.stringify(afterV3.byCode)}`);
    say('history:');
    for (const entry of policy?.status?.release?.history ?? []) {
      say(
        `  revision ${entry.revision}: ${entry.changeCause} — ${entry.outcome}${entry.reason ? ` (${entry.reason})` : ''}`,
      );
    }
    if (values.keep) say(`left running: export KUBECONFIG=${info.kubeconfig}; kubectl -n demo get canarypolicies`);
    await finish();
    say('demo complete');
  } catch (error) {
    await finish();
    throw error;
  }
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    console.error(`demo failed: ${error.message}`);
    process.exit(1);
  },
);
