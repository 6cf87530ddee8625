// Operator journeys measured through the proxy (issue 12): a person drives an ingress-nginx
// release with the real `kubectl-canary` binary (a ServiceAccount's own kubeconfig) and plain
// kubectl, while every request below crosses Traefik (serving the nginx canary annotations) and
// is answered by a demo pod on its pod IP. At each point the share `kubectl canary status` prints
// is the share measured through the proxy, inside the 95 % binomial interval:
// - pause holds the share, resume keeps the step, promote moves one step;
// - a landed `kubectl rollout restart` / `undo` (the requests kubectl sends, which it only refuses
//   client-side on a paused Deployment) is written back, and the share holds;
// - a plain `kubectl set image` mid-release supersedes the release: status and traffic both say
//   the new version is the canary, back at step 1;
// - promote --full sends everything to the new version and abort everything back to stable, with
//   no request failed by the switch; afterwards status, `kubectl canary status` and the CR all say
//   no canary carries anything.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type ProxyLoadReport, sendThroughProxy } from './cluster/proxy-load.ts';
import { waitFor } from './cluster/wait.ts';
import { type CanarydProcess, createPolicy, installCrd, readPolicy, startCanaryd } from './support/canaryd.ts';
import { createOperator, type Operator } from './support/cli.ts';
import { useTestEnv } from './support/env.ts';
import { APP, CANARY, canarydEvents, kubectl } from './support/journeys.ts';
import { binomialInterval } from './support/routers.ts';
import {
  deployBehindIngress,
  pct,
  type StreamReport,
  streamThroughProxy,
  waitForTraefikWeight,
  Z_95,
} from './support/traffic.ts';

interface Current {
  revision: number;
  templateHash: string;
  stepIndex: number;
  stepStartedAt?: string;
  weight: number;
}

interface StatusView {
  phase?: string;
  weight?: number;
  intendedWeight?: number;
  step?: string;
  message?: string;
  release?: { current?: Current; history: Array<{ revision: number; outcome: string; reason: string }> };
}

// Each journey step measures up to 12,000 requests through the proxy and waits for the data plane
// to follow: the default 180 s was exceeded on a machine shared by eight jobs (load ~30).
const JOURNEY_TIMEOUT_MS = 300_000;

describe('Given an ingress-nginx release driven by an operator, measured through Traefik', {
  timeout: JOURNEY_TIMEOUT_MS,
}, () => {
  const env = useTestEnv('optraffic');
  const cluster = inject('cluster');
  const proxyUrl = cluster.proxyUrl ?? '';
  const host = () => `web.${env.namespace}.test`;
  let canaryd: CanarydProcess | undefined;
  let operator: Operator;

  const status = async () => (await readPolicy(env.kc, env.namespace, APP))?.status as StatusView | undefined;
  const waitForStatus = (description: string, test: (s: StatusView) => boolean, timeoutMs = 90_000) =>
    waitFor(
      async () => {
        const s = await status();
        return s !== undefined && test(s) ? s : undefined;
      },
      { timeoutMs, intervalMs: 200, description },
    );
  /** Step `index` (0-based) of the release of `image` holds its weight. */
  const stepHolds = (index: number, weight: number, phase = 'progressing') =>
    waitForStatus(
      `step ${index + 1} at ${weight} % (${phase})`,
      (s) =>
        s.phase === phase &&
        s.release?.current?.stepIndex === index &&
        s.release.current.stepStartedAt !== undefined &&
        s.weight === weight,
    );
  const through = (requests: number) =>
    sendThroughProxy({ proxyUrl, host: host(), requests, concurrency: 8, maxDurationMs: 120_000 });
  const dataPlaneCarries = (weight: number) =>
    waitForTraefikWeight(cluster.traefikApiUrl ?? '', env.namespace, weight, 30_000);
  /** Plain `kubectl set image`: the demo app reports its image tag as its version. */
  const setImage = async (version: string) => {
    const set = await kubectl(env, 'set', 'image', `deployment/${APP}`, `app=canaryd-demo:${version}`);
    expect(set.code, set.stderr).toBe(0);
  };
  const canaryRemoved = () =>
    waitFor(
      async () =>
        (await env.apps.readNamespacedDeployment({ name: CANARY, namespace: env.namespace }).catch(() => null)) ===
        null,
      { timeoutMs: 60_000, description: 'the canary Deployment removed after the drain delay' },
    );

  /**
   * What `kubectl canary status` prints (the share on its Weight line), and its exit code as
   * docs/operations.md gives it: 0 running or promoted, 3 paused for a person, 1 rolled back.
   */
  async function printed(exitCode = 0): Promise<{ stdout: string; share: number }> {
    const run = await operator.run('status', APP);
    expect(run.code, `${run.stdout}${run.stderr}`).toBe(exitCode);
    const share = /^Weight: +([\d.]+)% of traffic to the canary/m.exec(run.stdout)?.[1];
    expect(share, run.stdout).toBeDefined();
    return { stdout: run.stdout, share: Number(share) };
  }

  /**
   * Then the share `kubectl canary status` prints agrees with the share of `requests` measured
   * through Traefik (answers from `canaryVersion`), inside the 95 % interval; no proxy answer.
   */
  async function statusAgreesWithProxy(canaryVersion: string, requests: number, exitCode = 0) {
    const shown = await printed(exitCode);
    const report: ProxyLoadReport = await through(requests);
    const canary = report.byVersion[canaryVersion] ?? 0;
    const { low, high } = binomialInterval(shown.share / 100, report.sent, Z_95);
    const why = `kubectl canary status prints ${shown.share} %; measured ${canary}/${report.sent} = ${pct(canary, report.sent)} on ${canaryVersion} (${JSON.stringify(report.byVersion)}); 95 % interval [${(low * 100).toFixed(3)}, ${(high * 100).toFixed(3)}] %`;
    expect(report.bySource.proxy, `${why}; proxy answers ${JSON.stringify(report.proxyCodes)}`).toBe(0);
    expect(report.failures, why).toBe(0);
    expect(canary / report.sent >= low - 1e-12 && canary / report.sent <= high + 1e-12, why).toBe(true);
    // Double check after measuring: the share did not move while we counted.
    expect((await printed(exitCode)).share, why).toBe(shown.share);
    return { ...shown, report };
  }

  /** No request of the stream failed because of a switch: no proxy answer, no reset. */
  const expectNoFailedSwitch = (seen: StreamReport, what: string) => {
    expect(seen.sent, `${what}: the stream sent requests`).toBeGreaterThan(100);
    expect(seen.proxyAnswers, `${what}: answers from the proxy itself`).toEqual([]);
    expect(seen.failedAt, `${what}: requests without an answer`).toEqual([]);
  };

  /** Then nothing is left to the canary: the CR, `kubectl canary status` and the proxy agree. */
  async function noCanaryCarriesAnything(stableVersion: string, exitCode: number) {
    const s = await status();
    expect({ weight: s?.weight, intendedWeight: s?.intendedWeight, step: s?.step }).toEqual({
      weight: 0,
      intendedWeight: 0,
      step: '',
    });
    const shown = await printed(exitCode);
    expect(shown.stdout).toMatch(/^Weight: +0% of traffic to the canary \(no release running\)$/m);
    expect((await through(1000)).byVersion).toEqual({ [stableVersion]: 1000 });
  }

  beforeAll(async () => {
    expect(proxyUrl, 'the cluster reports no proxy URL').not.toBe('');
    const { kc, namespace } = env;
    await installCrd(kc);
    // The version each pod reports is its image tag, so plain `kubectl set image` releases it.
    await deployBehindIngress(env, { name: APP, host: host(), replicas: 3, version: 'v1', versionFromImage: true });
    await waitFor(async () => (await through(5)).byVersion.v1 === 5, {
      timeoutMs: 60_000,
      intervalMs: 250,
      description: `web v1 answering ${host()} through the proxy`,
    });
    canaryd = startCanaryd(env.kubeconfig, ['--namespace', namespace, '--resync', '1s'], 'canaryd-optraffic');
    operator = await createOperator(env, 'alice');
    await createPolicy(kc, namespace, {
      apiVersion: 'canaryd.dev/v1alpha1',
      kind: 'CanaryPolicy',
      metadata: { name: APP, namespace },
      spec: {
        target: { deployment: APP, service: APP, router: 'ingress-nginx' },
        strategy: {
          steps: [
            { weight: 5, hold: '1h' },
            { weight: 20, hold: '1h' },
            { weight: 50, hold: '1h' },
          ],
        },
        timeouts: { canaryReady: '60s', promotion: '90s' },
      },
    });
    await waitForStatus('policy adopted web', (s) => s.phase === 'idle');
  });

  afterAll(async () => {
    await canaryd?.stop();
  });

  it('When a new image is set with plain kubectl, Then step 1 carries 5 % as status prints it', async () => {
    await setImage('v2');
    await stepHolds(0, 5);
    await dataPlaneCarries(5);
    const shown = await statusAgreesWithProxy('v2', 4000);
    expect(shown.share).toBe(5);
    expect(shown.stdout).toContain('Step:          1/3  [5%] → 20% → 50%');
  });

  it('When the operator pauses, Then the share holds; When they resume, Then the step goes on at the same share', async () => {
    const paused = await operator.run('pause', APP);
    expect(paused.code, paused.stderr).toBe(0);
    await waitForStatus('paused by the operator', (s) => s.phase === 'paused');
    const whilePaused = await statusAgreesWithProxy('v2', 4000, 3);
    expect(whilePaused.share).toBe(5);
    expect(whilePaused.stdout).toMatch(/^Phase: +paused/m);

    const resumed = await operator.run('resume', APP);
    expect(resumed.code, resumed.stderr).toBe(0);
    await stepHolds(0, 5);
    const afterResume = await statusAgreesWithProxy('v2', 4000);
    expect(afterResume.share).toBe(5);
    expect(afterResume.stdout).toMatch(/^Phase: +progressing/m);
  });

  it('When the operator promotes (one step), Then the measured share moves to step 2’s 20 %', async () => {
    const promoted = await operator.run('promote', APP);
    expect(promoted.code, promoted.stderr).toBe(0);
    await stepHolds(1, 20);
    await dataPlaneCarries(20);
    const shown = await statusAgreesWithProxy('v2', 4000);
    expect(shown.share).toBe(20);
    expect(shown.stdout).toContain('Step:          2/3  5% → [20%] → 50%');
  });

  it('When a `kubectl rollout restart` or `undo` lands on the paused Deployment, Then canaryd writes the release back and the share holds', async () => {
    const before = await env.apps.readNamespacedDeployment({ name: APP, namespace: env.namespace });
    const releaseImage = before.spec?.template.spec?.containers[0]?.image;
    // kubectl refuses both on a paused Deployment before sending anything; the requests it would
    // send land all the same from any client: `rollout restart` patches the restartedAt
    // annotation as field manager kubectl-rollout, `rollout undo` writes an older template with
    // no field manager, which the apiserver records as `kubectl` (src/engine/stable-drift.ts).
    const restartedAt = new Date().toISOString();
    const restart = await kubectl(
      env,
      'patch',
      `deployment/${APP}`,
      '--field-manager=kubectl-rollout',
      '--type=strategic',
      '-p',
      JSON.stringify({
        spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': restartedAt } } } },
      }),
    );
    expect(restart.code, restart.stderr).toBe(0);
    const restartPutBack = await waitFor(
      async () => {
        const events = await canarydEvents(env, 'Deployment', APP, 'DriftCorrected');
        const named = events.find((e) => e.message?.includes('kubectl-rollout'));
        const now = await env.apps.readNamespacedDeployment({ name: APP, namespace: env.namespace });
        const annotation = now.spec?.template.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt'];
        return named !== undefined && annotation === undefined && now.spec?.paused === true ? named : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250, description: 'the landed restart written back, with an Event' },
    );
    expect(restartPutBack.message).toContain('kubectl-rollout');

    const undo = await kubectl(
      env,
      'patch',
      `deployment/${APP}`,
      '--field-manager=kubectl',
      '--type=strategic',
      '-p',
      JSON.stringify({ spec: { template: { spec: { containers: [{ name: 'app', image: 'canaryd-demo:v0' }] } } } }),
    );
    expect(undo.code, undo.stderr).toBe(0);
    await waitFor(
      async () => {
        const events = await canarydEvents(env, 'Deployment', APP, 'DriftCorrected');
        const now = await env.apps.readNamespacedDeployment({ name: APP, namespace: env.namespace });
        return (
          events.some((e) => e.message?.includes('field manager kubectl ')) &&
          now.spec?.template.spec?.containers[0]?.image === releaseImage &&
          now.spec?.paused === true
        );
      },
      { timeoutMs: 30_000, intervalMs: 250, description: 'the landed undo written back, with an Event' },
    );

    // The release is the same one, at the same step, and the proxy still measures its share.
    const s = await stepHolds(1, 20);
    expect(s.release?.history.at(-1)?.outcome).not.toBe('superseded');
    const shown = await statusAgreesWithProxy('v2', 4000);
    expect(shown.share).toBe(20);
    expect(shown.report.byVersion.v0 ?? 0).toBe(0);
  });

  it('When someone runs plain `kubectl set image` mid-release, Then the new image is the canary from step 1, as status says', async () => {
    const before = (await status())?.release?.current;
    await setImage('v3');
    const restarted = await waitForStatus(
      'the release of v3 holding step 1',
      (s) =>
        s.release?.current !== undefined &&
        s.release.current.templateHash !== before?.templateHash &&
        s.release.current.stepIndex === 0 &&
        s.release.current.stepStartedAt !== undefined &&
        s.weight === 5,
    );
    expect(restarted.release?.history.at(-1)?.outcome).toBe('superseded');
    await dataPlaneCarries(5);
    // The v2 canary pods are replaced by v3 ones; measure once none answers any more.
    await waitFor(async () => (await through(400)).byVersion.v2 === undefined, {
      timeoutMs: 60_000,
      intervalMs: 250,
      description: 'no v2 canary pod answering any more',
    });
    const shown = await statusAgreesWithProxy('v3', 4000);
    expect(shown.share).toBe(5);
    expect(shown.stdout).toContain('Step:          1/3  [5%] → 20% → 50%');
    expect(Object.keys(shown.report.byVersion).sort()).toEqual(['v1', 'v3']);
  });

  it('When the operator promotes with --full, Then all traffic goes to the new version, no request failed, and status says the canary carries 0', async () => {
    const steady = streamThroughProxy({ proxyUrl, host: host(), maxDurationMs: 5 * 60_000 });
    try {
      const promoted = await operator.run('promote', APP, '--full');
      expect(promoted.code, promoted.stderr).toBe(0);
      await waitForStatus('v3 promoted', (s) => s.phase === 'succeeded', 120_000);
      await canaryRemoved();
    } finally {
      expectNoFailedSwitch(await steady.stop(), 'promote --full of v3');
    }
    await noCanaryCarriesAnything('v3', 0);
  });

  it('When the operator aborts a release, Then all traffic goes back to stable, no request failed, and status says the canary carries 0', async () => {
    await setImage('v4');
    await stepHolds(0, 5);
    await dataPlaneCarries(5);
    expect((await statusAgreesWithProxy('v4', 4000)).share).toBe(5);
    const steady = streamThroughProxy({ proxyUrl, host: host(), maxDurationMs: 5 * 60_000 });
    try {
      const aborted = await operator.run('abort', APP);
      expect(aborted.code, aborted.stderr).toBe(0);
      await waitForStatus('v4 aborted', (s) => s.phase === 'failed' || s.phase === 'cancelled');
      await canaryRemoved();
    } finally {
      expectNoFailedSwitch(await steady.stop(), 'abort of v4');
    }
    await noCanaryCarriesAnything('v3', 1);
  });
});
