// Two releases back to back, measured through the proxy (issue 11). v2 is promoted and v3 is
// released at once, while v2's canary is still draining (spec.traffic.drainDelay): v3 takes the
// canary Deployment over and its template replaces v2's in place. In the demo, v3's 1 % then
// reached v3 for 8 of 4,000 requests: canaryd started the step while the v2 canary pods were
// still the ready endpoints behind the canary Service, so the canary route sent v3's share to v2.
// v3's pods warm up for a few seconds before they are ready (READY_AFTER_MS), as a real app's
// readiness probe would, so the v2 canary pods are still the ready ones for a while.
// Here, once canaryd says v3 carries 1 %:
// - the share answered by v3 through Traefik is inside the 95 % interval of 1 %;
// - every answer from a canary pod is v3's (none from a v2 pod still behind the canary Service);
// - when canaryd starts the step, the canary Deployment has no v2 pod left.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type ProxyLoadReport, sendThroughProxy } from './cluster/proxy-load.ts';
import { waitFor } from './cluster/wait.ts';
import {
  adopted,
  type CanarydProcess,
  createPolicy,
  installCrd,
  type PolicyStatusView,
  readPolicy,
  startCanaryd,
} from './support/canaryd.ts';
import { useTestEnv } from './support/env.ts';
import { binomialInterval, operate } from './support/routers.ts';
import { deployBehindIngress, pct, setVersion, waitForTraefikWeight, Z_95 } from './support/traffic.ts';

const CANARY = 'web-canary';
/** How long v3's pods listen before they are ready. */
const WARM_UP_MS = 6000;

describe('a release started while the previous canary drains, measured through the proxy', () => {
  const env = useTestEnv('back2back');
  const cluster = inject('cluster');
  const proxyUrl = cluster.proxyUrl ?? '';
  const host = () => `web.${env.namespace}.test`;
  let canaryd: CanarydProcess;

  const waitForStatus = (description: string, test: (status: PolicyStatusView) => boolean, timeoutMs = 90_000) =>
    waitFor(
      async () => {
        const status = (await readPolicy(env.kc, env.namespace, 'web'))?.status;
        return status !== undefined && test(status) ? status : undefined;
      },
      { timeoutMs, intervalMs: 100, description },
    );
  const through = (requests: number) =>
    sendThroughProxy({ proxyUrl, host: host(), requests, concurrency: 8, maxDurationMs: 120_000 });
  const revisionOf = (status: PolicyStatusView, outcome: string) =>
    Math.max(0, ...(status.release?.history ?? []).filter((h) => h.outcome === outcome).map((h) => h.revision));
  /** Answers by the canary Deployment's pods (named web-canary-<hash>-<id>), by version. */
  const canaryPodAnswers = (report: ProxyLoadReport) =>
    Object.entries(report.byPod)
      .filter(([pod]) => pod.startsWith(`${CANARY}-`))
      .reduce((sum, [, count]) => sum + count, 0);

  beforeAll(async () => {
    expect(proxyUrl, 'the cluster reports no proxy URL').not.toBe('');
    await installCrd(env.kc);
    await deployBehindIngress(env, { name: 'web', host: host(), replicas: 4, version: 'v1' });
    await waitFor(async () => (await through(5)).bySource.app === 5, {
      timeoutMs: 60_000,
      intervalMs: 250,
      description: `web v1 answering ${host()} through the proxy`,
    });
    canaryd = startCanaryd(env.kubeconfig, ['--namespace', env.namespace, '--resync', '1s']);
    await createPolicy(env.kc, env.namespace, {
      apiVersion: 'canaryd.dev/v1alpha1',
      kind: 'CanaryPolicy',
      metadata: { name: 'web', namespace: env.namespace },
      spec: {
        target: { deployment: 'web', service: 'web', router: 'ingress-nginx' },
        strategy: {
          steps: [
            { weight: 1, hold: '1s', pause: true },
            { weight: 50, hold: '1s', pause: true },
          ],
        },
        // Long enough that v3 surely starts while v2's canary (2 pods at 50 %) is still there.
        traffic: { drainDelay: '60s' },
        timeouts: { canaryReady: '60s', promotion: '90s' },
      },
    });
    await waitForStatus('policy adopted web', adopted);
  });

  afterAll(async () => {
    await canaryd?.stop();
  });

  it('gives v3’s 1 % to v3 pods only, although v2’s canary pods were still ready when v3 began', async () => {
    await setVersion(env.apps, env.namespace, 'web', 'v2', 0);
    await waitForStatus('v2 at 1 %', (status) => status.phase === 'paused' && status.weight === 1);
    await operate(env.kc, env.namespace, 'web', 'promote');
    await waitForStatus('v2 at 50 %', (status) => status.phase === 'paused' && status.weight === 50);
    await operate(env.kc, env.namespace, 'web', 'promote');
    const promoted = await waitForStatus('v2 promoted', (status) => status.phase === 'succeeded', 120_000);
    const v2Revision = revisionOf(promoted, 'succeeded');

    // v2's canary drains: its pods are still ready behind the canary Service when v3 is released.
    const draining = await env.apps.readNamespacedDeployment({ name: CANARY, namespace: env.namespace });
    expect(draining.status?.readyReplicas ?? 0, 'v2 canary pods still ready when v3 is released').toBeGreaterThan(0);
    expect(draining.spec?.template.spec?.containers[0]?.image).toBe('canaryd-demo:v2');
    await setVersion(env.apps, env.namespace, 'web', 'v3', 0, { READY_AFTER_MS: String(WARM_UP_MS) });

    const atOnePercent = await waitForStatus(
      'v3 at 1 %',
      (status) =>
        status.phase === 'paused' &&
        status.weight === 1 &&
        (status.release?.history ?? []).every((h) => h.revision <= v2Revision),
    );
    expect(atOnePercent.message).toMatch(/step 1 waits for resume/);
    // Read at once (asserted after the measurement, which a user would notice first).
    const canary = await env.apps.readNamespacedDeployment({ name: CANARY, namespace: env.namespace });

    await waitForTraefikWeight(cluster.traefikApiUrl ?? '', env.namespace, 1, 30_000);
    const report = await through(4000);
    const v3 = report.byVersion.v3 ?? 0;
    const fromCanaryPods = canaryPodAnswers(report);
    const { low, high } = binomialInterval(0.01, report.sent, Z_95);
    const why = `v3 answered ${v3}/${report.sent} = ${pct(v3, report.sent)} (95 % interval of 1 %: ${(low * 100).toFixed(2)}–${(high * 100).toFixed(2)} %); canary pods answered ${fromCanaryPods}; by pod ${JSON.stringify(report.byPod)}`;
    expect(report.bySource.proxy, `${why}; proxy answers ${JSON.stringify(report.proxyCodes)}`).toBe(0);
    expect(report.failures, why).toBe(0);
    // Every answer from a canary pod is v3's: none came from a v2 pod left behind the canary Service.
    expect(fromCanaryPods, why).toBe(v3);
    expect(v3 / report.sent >= low && v3 / report.sent <= high, why).toBe(true);
    // When canaryd started the step, the canary Deployment ran v3 only: no v2 pod left.
    expect(canary.spec?.template.spec?.containers[0]?.image).toBe('canaryd-demo:v3');
    expect(canary.status?.replicas, 'pods of the canary Deployment when the step began').toBe(
      canary.status?.updatedReplicas,
    );
  });
});
