// The main job: a canaryd demo on the local cluster (real control plane, pods on a real network
// namespace, Traefik as the ingress data plane, Prometheus).
//   1. the cluster comes up, the CanaryPolicy CRD is installed, canaryd starts;
//   2. the demo app `web` v1 runs behind its Service and an Ingress (class nginx, served by
//      Traefik), with steady traffic through the proxy;
//   3. v2 is released through the ingress, starting at 1 %: at each step the share measured
//      through the proxy is printed beside the weight canaryd wrote; analysis on Traefik's metrics;
//   4. a bad v3 (30 % errors) is rolled back by the SLO check, and no request fails because of the
//      switch (the proxy never answers for a missing backend);
//   5. a Gateway API act (gateway-act.ts): app shop behind an HTTPRoute on the cluster's Gateway
//      (Traefik), released by the gateway-api router at 5 % and 50 %, measured through the Gateway;
//   6. briefly, the replica-ratio fallback: an app without an Ingress, split by ready pods.
// `--keep` leaves the cluster and canaryd running (stop with `npm run cluster -- down`).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { clusterDown, clusterUp } from '../cluster/cluster.ts';
import { sendLoad } from '../cluster/loadgen.ts';
import { sendThroughProxy } from '../cluster/proxy-load.ts';
import { waitFor } from '../cluster/wait.ts';
import { type CanarydProcess, createPolicy, installCrd, readPolicy, startCanaryd } from '../support/canaryd.ts';
import { demoDeployment, demoService } from '../support/env.ts';
import { pct, type Stream, streamThroughProxy, waitForTraefikWeight } from '../support/traffic.ts';
import { gatewayAct } from './gateway-act.ts';
import { followRelease, say, setVersion, waitAdopted } from './release.ts';

const NAMESPACE = 'demo';
const HOST = 'web.demo.test';
async function main(): Promise<void> {
  const { values } = parseArgs({ options: { keep: { type: 'boolean', default: false } } });
  say('bringing up the local cluster (control plane, kwok nodes, pod network namespace, Traefik, Prometheus)');
  const info = await clusterUp({ log: (line) => say(line) });
  let canaryd: CanarydProcess | undefined;
  let steady: Stream | undefined;
  const finish = async () => {
    await steady?.stop();
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
    const through = (requests: number) =>
      sendThroughProxy({ proxyUrl: info.proxyUrl, host: HOST, requests, concurrency: 8 });
    await installCrd(kc);
    say('CanaryPolicy CRD installed');
    await core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
    await waitFor(
      async () => (await core.readNamespacedServiceAccount({ name: 'default', namespace: NAMESPACE })) !== null,
      { timeoutMs: 30_000, description: 'namespace demo ready' },
    );

    say(`deploying web v1 (4 replicas), its Service and an Ingress (class nginx, host ${HOST}) served by Traefik`);
    await apps.createNamespacedDeployment({
      namespace: NAMESPACE,
      body: demoDeployment(NAMESPACE, { name: 'web', replicas: 4, version: 'v1' }),
    });
    await core.createNamespacedService({ namespace: NAMESPACE, body: demoService(NAMESPACE, 'web') });
    await kc.makeApiClient(k8s.NetworkingV1Api).createNamespacedIngress({
      namespace: NAMESPACE,
      body: {
        metadata: { name: 'web', namespace: NAMESPACE },
        spec: {
          ingressClassName: 'nginx',
          rules: [
            {
              host: HOST,
              http: {
                paths: [
                  { path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { name: 'http' } } } },
                ],
              },
            },
          ],
        },
      },
    });
    await waitFor(async () => (await through(5)).bySource.app === 5, {
      timeoutMs: 60_000,
      intervalMs: 250,
      description: `web v1 answering ${HOST} through Traefik`,
    });
    steady = streamThroughProxy({ proxyUrl: info.proxyUrl, host: HOST, maxDurationMs: 15 * 60_000 });
    say(`web v1 answers through Traefik (${info.proxyUrl}, Host: ${HOST}); steady traffic of ~100 requests/s`);

    canaryd = startCanaryd(info.kubeconfig, ['--namespace', NAMESPACE], 'canaryd-demo');
    // Left running by --keep, it outlives this process: recorded with the cluster's processes so
    // `npm run cluster -- down` stops it too.
    if (values.keep && canaryd.child.pid !== undefined)
      writeFileSync(join(info.stateDir, 'pids', 'canaryd.pid'), String(canaryd.child.pid));
    say(`canaryd started (log: ${canaryd.logFile})`);
    await createPolicy(kc, NAMESPACE, {
      apiVersion: 'canaryd.dev/v1alpha1',
      kind: 'CanaryPolicy',
      metadata: { name: 'web', namespace: NAMESPACE },
      spec: {
        target: { deployment: 'web', service: 'web', router: 'ingress-nginx' },
        strategy: {
          steps: [
            { weight: 1, hold: '10s', pause: true },
            { weight: 5, hold: '10s', pause: true },
            { weight: 25, hold: '10s', pause: true },
          ],
        },
        analysis: {
          prometheus: { address: info.prometheusUrl },
          metrics: 'traefik',
          interval: '2s',
          window: '10s',
          failureLimit: 0,
          checks: [{ name: 'success-rate', type: 'successRate', min: 95, minSample: 10 }],
        },
        timeouts: { canaryReady: '60s', promotion: '2m' },
      },
    });
    say(
      'CanaryPolicy web: ingress-nginx steps 1 % → 5 % → 25 %, each held 10 s under a success rate ≥ 95 %, then paused',
    );
    say('  for the demo to measure the share through Traefik; the demo then resumes (kubectl canary resume)');
    say('  measured on Traefik’s own metrics (traefik_service_requests_total of the canary backend)');
    await waitAdopted(kc, NAMESPACE, 'web');
    say('canaryd adopted web (the Deployment is paused; no pod restarted)');

    const measure = (version: string) => async (weight: number) => {
      // Traefik applies a weight moments after canaryd writes it: measure once its API says so.
      const since = Date.now();
      const carried = await waitForTraefikWeight(info.traefik.apiUrl, NAMESPACE, weight, 10_000).then(
        () => true,
        () => false,
      );
      if (!carried) return 'Traefik did not carry it within 10 s (the release moved on)';
      const appliedMs = Date.now() - since;
      // In batches, and only while canaryd still holds this weight: a bad canary is rolled back
      // by analysis while it is measured, and requests sent after that are not its share.
      const requests = weight < 5 ? 4000 : 2000;
      const still = async () => {
        const status = (await readPolicy(kc, NAMESPACE, 'web'))?.status;
        return status?.phase === 'paused' && status.weight === weight;
      };
      let sent = 0;
      let canary = 0;
      while (sent < requests && (await still())) {
        const batch = await through(Math.min(500, requests - sent));
        sent += batch.sent;
        canary += batch.byVersion[version] ?? 0;
      }
      const cut = sent < requests ? `; canaryd left ${weight} % after ${sent} requests` : '';
      return `measured through Traefik ${pct(canary, sent).padStart(8)} (${canary} of ${sent} answered by ${version}; applied by Traefik ${appliedMs} ms after canaryd's status${cut})`;
    };

    say('releasing v2 (healthy): kubectl set image deploy/web app=canaryd-demo:v2');
    await setVersion(apps, NAMESPACE, 'web', 'v2', 0);
    const v2 = await followRelease(kc, NAMESPACE, 'web', measure('v2'), 180_000);
    if (v2 !== 'succeeded') throw new Error(`v2 should have been promoted, but the release ended ${v2}`);
    await waitFor(async () => ((await through(200)).byVersion.v2 ?? 0) === 200, {
      timeoutMs: 60_000,
      description: 'every request answered by v2',
    });
    say('v2 promoted: 200 of 200 requests through Traefik answered by v2');

    say('releasing v3 (bad: 30 % of its requests fail)');
    const before = {
      ...steady.seen,
      proxyAnswers: steady.seen.proxyAnswers.length,
      failed: steady.seen.failedAt.length,
    };
    await setVersion(apps, NAMESPACE, 'web', 'v3', 0.3);
    await waitFor(async () => (await readPolicy(kc, NAMESPACE, 'web'))?.status?.phase !== 'succeeded', {
      timeoutMs: 30_000,
      description: 'canaryd to notice v3',
    });
    const v3 = await followRelease(kc, NAMESPACE, 'web', measure('v3'), 180_000);
    if (v3 !== 'failed') throw new Error(`v3 should have been rolled back, but the release ended ${v3}`);
    const policy = await readPolicy(kc, NAMESPACE, 'web');
    say(`v3 rolled back: ${policy?.status?.release?.history.at(-1)?.reason ?? policy?.status?.message}`);
    await waitFor(async () => ((await through(200)).byVersion.v2 ?? 0) === 200, {
      timeoutMs: 60_000,
      description: 'every request answered by v2 again',
    });
    const seen = steady.seen;
    const failedSwitches = seen.proxyAnswers.length - before.proxyAnswers + (seen.failedAt.length - before.failed);
    say(
      `during v3: ${seen.sent - before.sent} steady requests, ${(seen.byVersion.v3 ?? 0) - (before.byVersion.v3 ?? 0)} answered by v3, ` +
        `${failedSwitches} failed by the switch (answers from the proxy itself or resets)`,
    );
    if (failedSwitches > 0)
      throw new Error(`${failedSwitches} requests failed by the switch: ${JSON.stringify(seen.proxyAnswers)}`);
    say('history:');
    for (const entry of policy?.status?.release?.history ?? []) {
      say(
        `  revision ${entry.revision}: ${entry.changeCause} — ${entry.outcome}${entry.reason ? ` (${entry.reason})` : ''}`,
      );
    }

    await gatewayAct(kc, info, NAMESPACE);

    say(
      'the fallback without an Ingress: app api (4 replicas) behind its Service, split by ready pods (replica-ratio)',
    );
    await apps.createNamespacedDeployment({
      namespace: NAMESPACE,
      body: demoDeployment(NAMESPACE, { name: 'api', replicas: 4, version: 'v1' }),
    });
    await core.createNamespacedService({ namespace: NAMESPACE, body: demoService(NAMESPACE, 'api') });
    await waitFor(
      async () =>
        (await apps.readNamespacedDeployment({ name: 'api', namespace: NAMESPACE })).status?.availableReplicas === 4,
      { timeoutMs: 60_000, description: 'api v1 Available' },
    );
    await createPolicy(kc, NAMESPACE, {
      apiVersion: 'canaryd.dev/v1alpha1',
      kind: 'CanaryPolicy',
      metadata: { name: 'api', namespace: NAMESPACE },
      spec: {
        target: { deployment: 'api', service: 'api', router: 'auto' },
        strategy: { steps: [{ weight: 20, hold: '5s', pause: true }], allowLargeFirstStep: true },
        timeouts: { canaryReady: '60s', promotion: '2m' },
      },
    });
    await waitAdopted(kc, NAMESPACE, 'api');
    say(`canaryd chose: ${(await readPolicy(kc, NAMESPACE, 'api'))?.status?.router} (no Ingress routes to api)`);
    await setVersion(apps, NAMESPACE, 'api', 'v2', 0);
    const measureReplicas = async () => {
      const report = await sendLoad(kc, { namespace: NAMESPACE, service: 'api', requests: 2000, concurrency: 8 });
      const canary = report.byVersion.v2 ?? 0;
      return `measured behind the Service ${pct(canary, report.sent).padStart(8)} (${canary} of ${report.sent}; ready pods decide)`;
    };
    const api = await followRelease(kc, NAMESPACE, 'api', measureReplicas, 180_000);
    if (api !== 'succeeded') throw new Error(`api v2 should have been promoted, but the release ended ${api}`);
    say('api v2 promoted by replica ratio');

    if (values.keep) {
      say(`left running: export KUBECONFIG=${info.kubeconfig}; kubectl -n demo get canarypolicies`);
      say('stop the cluster and canaryd with: npm run cluster -- down');
    }
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
