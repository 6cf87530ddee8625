// The replica-ratio router on a real control plane: the share canaryd reports is the share of
// ready endpoints, and traffic spread over those endpoints the way kube-proxy does (the load
// generator) lands on the canary at that share, within a 99.9 % binomial interval. A surge
// budget makes the solver grow the stable side for a small share; the surge is undone after
// the release.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendLoad } from './cluster/loadgen.ts';
import { waitFor } from './cluster/wait.ts';
import {
  type CanarydProcess,
  createPolicy,
  installCrd,
  type PolicyStatusView,
  readPolicy,
  startCanaryd,
} from './support/canaryd.ts';
import { demoDeployment, demoService, useTestEnv } from './support/env.ts';
import { binomialInterval, endpointsOf, operate, podIps, wilsonInterval } from './support/routers.ts';

const REQUESTS = 2000;

describe('replica-ratio router', () => {
  const env = useTestEnv('ratio');
  let canaryd: CanarydProcess;

  const waitForStatus = (
    name: string,
    description: string,
    test: (status: PolicyStatusView) => boolean,
    timeoutMs = 60_000,
  ) =>
    waitFor(
      async () => {
        const status = (await readPolicy(env.kc, env.namespace, name))?.status;
        return status !== undefined && test(status) ? status : undefined;
      },
      { timeoutMs, description: `${name}: ${description}` },
    );

  /**
   * Adopted: the status says idle and the Deployment is paused. The status is written before the
   * pause (the decision is persisted first), so a release started on "idle" alone can race the
   * pause and have the stable Deployment roll the new template itself.
   */
  const waitAdopted = (name: string) =>
    waitFor(
      async () =>
        (await readPolicy(env.kc, env.namespace, name))?.status?.phase === 'idle' &&
        (await env.apps.readNamespacedDeployment({ name, namespace: env.namespace })).spec?.paused === true,
      { timeoutMs: 60_000, description: `${name}: adopted (phase idle, Deployment paused)` },
    );

  /** A Deployment of `replicas` v1 pods behind a Service, both named `name`, Available. */
  async function deployV1(name: string, replicas: number) {
    const { apps, core, namespace } = env;
    await apps.createNamespacedDeployment({
      namespace,
      body: demoDeployment(namespace, { name, replicas, version: 'v1' }),
    });
    await core.createNamespacedService({ namespace, body: demoService(namespace, name) });
    await waitFor(
      async () => (await apps.readNamespacedDeployment({ name, namespace })).status?.availableReplicas === replicas,
      { timeoutMs: 60_000, description: `${name} v1 Available` },
    );
  }

  async function releaseV2(name: string) {
    await env.apps.patchNamespacedDeployment(
      {
        name,
        namespace: env.namespace,
        body: {
          spec: {
            template: {
              spec: {
                containers: [{ name: 'app', image: 'canaryd-demo:v2', env: [{ name: 'VERSION', value: 'v2' }] }],
              },
            },
          },
        },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
    );
  }

  /** The Service's ready endpoints once they are exactly its canary and stable pods, split by track. */
  async function readySplit(name: string, canary: number, stable: number) {
    const { namespace } = env;
    return waitFor(
      async () => {
        const ready = (await endpointsOf(env.discovery, namespace, name)).filter((e) => e.ready).map((e) => e.ip);
        const canaryIps = await podIps(env.core, namespace, `app=${name},canaryd.dev/track=canary`);
        const canaryReady = ready.filter((ip) => canaryIps.includes(ip));
        return canaryReady.length === canary && ready.length === canary + stable
          ? { canary: canaryReady.length, total: ready.length }
          : undefined;
      },
      { timeoutMs: 30_000, description: `${name}: ${canary} canary and ${stable} stable ready endpoints` },
    );
  }

  /** Sends REQUESTS through the load generator; the canary's measured share must fit the reported one. */
  async function expectMeasuredShare(name: string, reportedPercent: number) {
    const report = await sendLoad(env.kc, {
      namespace: env.namespace,
      service: name,
      requests: REQUESTS,
      concurrency: 8,
      maxDurationMs: 90_000,
    });
    expect(report.failures).toBe(0);
    expect(report.byCode).toEqual({ 200: REQUESTS });
    const canaryRequests = report.byVersion.v2 ?? 0;
    expect(canaryRequests + (report.byVersion.v1 ?? 0)).toBe(REQUESTS);
    const p = reportedPercent / 100;
    const measured = canaryRequests / REQUESTS;
    const interval = binomialInterval(p, REQUESTS);
    const wilson = wilsonInterval(canaryRequests, REQUESTS);
    const why = `measured ${canaryRequests}/${REQUESTS} = ${(measured * 100).toFixed(2)} % canary; reported ${reportedPercent} %; 99.9 % interval [${(interval.low * 100).toFixed(2)}, ${(interval.high * 100).toFixed(2)}] %, Wilson [${(wilson.low * 100).toFixed(2)}, ${(wilson.high * 100).toFixed(2)}] %`;
    expect(measured >= interval.low && measured <= interval.high, why).toBe(true);
    expect(wilson.low <= p && p <= wilson.high, why).toBe(true);
  }

  beforeAll(async () => {
    await installCrd(env.kc);
    canaryd = startCanaryd(env.kubeconfig, ['--namespace', env.namespace, '--log-level', 'debug']);
  });
  afterAll(async () => {
    await canaryd?.stop();
  });

  it('reports the share of ready endpoints (1 canary of 5 = 20 %) and the traffic matches it', async () => {
    const { apps, kc, namespace } = env;
    await deployV1('web', 4);
    await createPolicy(kc, namespace, {
      apiVersion: 'canaryd.dev/v1alpha1',
      kind: 'CanaryPolicy',
      metadata: { name: 'web', namespace },
      spec: {
        target: { deployment: 'web', service: 'web', router: 'replica-ratio' },
        strategy: { steps: [{ weight: 20, hold: '1s', pause: true }], allowLargeFirstStep: true },
        timeouts: { canaryReady: '60s', promotion: '90s' },
      },
    });
    await waitAdopted('web');
    await releaseV2('web');

    const status = await waitForStatus('web', 'step 1 (20 %) paused at its start', (s) => s.phase === 'paused');
    expect(status.router).toBe('replica-ratio');
    expect((await apps.readNamespacedDeployment({ name: 'web-canary', namespace })).spec?.replicas).toBe(1);
    expect((await apps.readNamespacedDeployment({ name: 'web', namespace })).spec?.replicas).toBe(4);
    const split = await readySplit('web', 1, 4);
    const endpointShare = (split.canary * 100) / split.total;
    expect(endpointShare).toBe(20);
    const reported = await waitForStatus(
      'web',
      'status.weight = the endpoint share',
      (s) => s.weight === endpointShare,
    );
    expect(reported.weight).toBe(20);

    await expectMeasuredShare('web', reported.weight!);

    await operate(kc, namespace, 'web', 'resume');
    await waitForStatus('web', 'promoted (phase succeeded)', (s) => s.phase === 'succeeded', 120_000);
    const stable = await apps.readNamespacedDeployment({ name: 'web', namespace });
    expect(stable.spec?.replicas).toBe(4);
    expect(stable.status).toMatchObject({ replicas: 4, updatedReplicas: 4 });
  });

  it('surges the stable side within the budget for 5 % (19 stable + 1 canary) and undoes it after the release', async () => {
    const { apps, kc, namespace } = env;
    await deployV1('api', 4);
    const annotationsBefore = (await apps.readNamespacedDeployment({ name: 'api', namespace })).metadata?.annotations;
    await createPolicy(kc, namespace, {
      apiVersion: 'canaryd.dev/v1alpha1',
      kind: 'CanaryPolicy',
      metadata: { name: 'api', namespace },
      spec: {
        target: { deployment: 'api', service: 'api', router: 'replica-ratio' },
        strategy: { steps: [{ weight: 5, hold: '1s', pause: true }] },
        replicaRatio: { surgeBudget: 15 },
        timeouts: { canaryReady: '60s', promotion: '120s' },
      },
    });
    await waitAdopted('api');
    await releaseV2('api');

    await waitForStatus('api', 'step 1 (5 %) paused at its start', (s) => s.phase === 'paused');
    const surged = await waitFor(
      async () => {
        const deployment = await apps.readNamespacedDeployment({ name: 'api', namespace });
        return deployment.spec?.replicas === 19 ? deployment : undefined;
      },
      { timeoutMs: 30_000, description: 'api surged to 19 replicas' },
    );
    expect(surged.metadata?.annotations?.['canaryd.dev/original-replicas']).toBe('4');
    expect((await apps.readNamespacedDeployment({ name: 'api-canary', namespace })).spec?.replicas).toBe(1);
    const split = await readySplit('api', 1, 19);
    expect((split.canary * 100) / split.total).toBe(5);
    const reported = await waitForStatus('api', 'status.weight = 5 (1 of 20 ready endpoints)', (s) => s.weight === 5);
    await expectMeasuredShare('api', reported.weight!);

    await operate(kc, namespace, 'api', 'resume');
    await waitForStatus('api', 'promoted (phase succeeded)', (s) => s.phase === 'succeeded', 180_000);
    const after = await waitFor(
      async () => {
        const deployment = await apps.readNamespacedDeployment({ name: 'api', namespace });
        return deployment.spec?.replicas === 4 ? deployment : undefined;
      },
      { timeoutMs: 30_000, description: 'api back to its 4 replicas' },
    );
    expect(after.metadata?.annotations?.['canaryd.dev/original-replicas']).toBeUndefined();
    // While the policy manages it, the Deployment carries canaryd's mark (removed when the policy
    // is deleted: docs/operations.md); everything else is as the user left it.
    expect(after.metadata?.annotations?.['canaryd.dev/policy']).toBe(`${namespace}/api`);
    expect(after.metadata?.annotations?.['canaryd.dev/policy-uid']).toBe(
      (await readPolicy(kc, namespace, 'api'))?.metadata.uid,
    );
    expect(after.metadata?.annotations?.['canaryd.dev/adopted-template']).toMatch(/^[0-9a-f]{12}$/);
    const {
      'deployment.kubernetes.io/revision': _revision,
      'canaryd.dev/policy': _mark,
      'canaryd.dev/policy-uid': _markUid,
      'canaryd.dev/adopted-template': _adopted,
      ...userAnnotations
    } = after.metadata?.annotations ?? {};
    const { 'deployment.kubernetes.io/revision': _before, ...userAnnotationsBefore } = annotationsBefore ?? {};
    expect(userAnnotations).toEqual(userAnnotationsBefore);
    expect(after.spec?.template.spec?.containers[0]?.image).toBe('canaryd-demo:v2');
    await waitFor(
      async () => (await endpointsOf(env.discovery, namespace, 'api')).filter((e) => e.ready).length === 4,
      { timeoutMs: 30_000, description: 'api back to 4 ready endpoints' },
    );
    expect(await podIps(env.core, namespace, 'app=api,canaryd.dev/track=canary')).toEqual([]);
  });
  it('a later step sizes from the baseline: 5 % (19 + 1) then 20 % shrinks back to 4 + 1; an abort leaves 4', async () => {
    const { apps, kc, namespace } = env;
    await deployV1('ops', 4);
    await createPolicy(kc, namespace, {
      apiVersion: 'canaryd.dev/v1alpha1',
      kind: 'CanaryPolicy',
      metadata: { name: 'ops', namespace },
      spec: {
        target: { deployment: 'ops', service: 'ops', router: 'replica-ratio' },
        strategy: {
          steps: [
            { weight: 5, hold: '1s', pause: true },
            { weight: 20, hold: '1s', pause: true },
          ],
        },
        replicaRatio: { surgeBudget: 15 },
        timeouts: { canaryReady: '60s', promotion: '120s' },
      },
    });
    await waitAdopted('ops');
    await releaseV2('ops');
    await waitForStatus('ops', 'step 1 (5 %) at 1 of 20', (s) => s.phase === 'paused' && s.weight === 5, 90_000);
    expect((await apps.readNamespacedDeployment({ name: 'ops', namespace })).spec?.replicas).toBe(19);

    await operate(kc, namespace, 'ops', 'resume');
    await waitForStatus(
      'ops',
      'step 2 (20 %) at 1 of 5',
      (s) => s.phase === 'paused' && s.release?.current?.stepIndex === 1 && s.weight === 20,
      90_000,
    );
    const stable = await apps.readNamespacedDeployment({ name: 'ops', namespace });
    expect(stable.spec?.replicas).toBe(4);
    expect(stable.metadata?.annotations?.['canaryd.dev/original-replicas']).toBeUndefined();
    expect((await apps.readNamespacedDeployment({ name: 'ops-canary', namespace })).spec?.replicas).toBe(1);
    await readySplit('ops', 1, 4);

    await operate(kc, namespace, 'ops', 'abort');
    await waitForStatus('ops', 'rolled back (phase failed)', (s) => s.phase === 'failed');
    const after = await apps.readNamespacedDeployment({ name: 'ops', namespace });
    expect(after.spec?.replicas).toBe(4);
    expect(after.spec?.template.spec?.containers[0]?.image).toBe('canaryd-demo:v1');
    await waitFor(async () => (await podIps(env.core, namespace, 'app=ops,canaryd.dev/track=canary')).length === 0, {
      timeoutMs: 30_000,
      description: 'the ops canary pods gone',
    });
  });
});
