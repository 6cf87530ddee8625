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
//   no canary carries anything;
// - the image set back to the stable version by hand mid-release cancels the release, the same way.
import { describe, expect, it } from 'vitest';
import { waitFor } from './cluster/wait.ts';
import { APP } from './support/managed-app.ts';
import { canarydEvents, kubectl } from './support/operator-journey.ts';
import { expectNoFailedSwitch, givenIngressAppBehindTraefik } from './support/operator-traffic.ts';
import { streamThroughProxy } from './support/traffic.ts';

// Each journey step measures up to 12,000 requests through the proxy and waits for the data plane
// to follow: the default 180 s was exceeded on a machine shared by eight jobs (load ~30).
const JOURNEY_TIMEOUT_MS = 300_000;

describe('Given an ingress-nginx release driven by an operator, measured through Traefik', {
  timeout: JOURNEY_TIMEOUT_MS,
}, () => {
  const world = givenIngressAppBehindTraefik('optraffic', [
    { weight: 5, hold: '1h' },
    { weight: 20, hold: '1h' },
    { weight: 50, hold: '1h' },
  ]);
  const { env, setImage, stepHolds, dataPlaneCarries, statusAgreesWithProxy, waitForStatus, through } = world;
  const operator = () => world.operator();
  const steadyStream = () =>
    streamThroughProxy({ proxyUrl: world.proxyUrl, host: world.host(), maxDurationMs: 5 * 60_000 });

  it('When a new image is set with plain kubectl, Then step 1 carries 5 % as status prints it', async () => {
    await setImage('v2');
    await stepHolds(0, 5);
    await dataPlaneCarries(5);
    const shown = await statusAgreesWithProxy('v2', 4000);
    expect(shown.share).toBe(5);
    expect(shown.stdout).toContain('Step:          1/3  [5%] → 20% → 50%');
  });

  it('When the operator pauses, Then the share holds; When they resume, Then the step goes on at the same share', async () => {
    const paused = await operator().run('pause', APP);
    expect(paused.code, paused.stderr).toBe(0);
    await waitForStatus('paused by the operator', (s) => s.phase === 'paused');
    const whilePaused = await statusAgreesWithProxy('v2', 4000, 3);
    expect(whilePaused.share).toBe(5);
    expect(whilePaused.stdout).toMatch(/^Phase: +paused/m);

    const resumed = await operator().run('resume', APP);
    expect(resumed.code, resumed.stderr).toBe(0);
    await stepHolds(0, 5);
    const afterResume = await statusAgreesWithProxy('v2', 4000);
    expect(afterResume.share).toBe(5);
    expect(afterResume.stdout).toMatch(/^Phase: +progressing/m);
  });

  it('When the operator promotes (one step), Then the measured share moves to step 2’s 20 %', async () => {
    const promoted = await operator().run('promote', APP);
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
    const before = (await world.status())?.release?.current;
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
    const steady = steadyStream();
    try {
      const promoted = await operator().run('promote', APP, '--full');
      expect(promoted.code, promoted.stderr).toBe(0);
      await waitForStatus('v3 promoted', (s) => s.phase === 'succeeded', 120_000);
      await world.canaryRemoved();
    } finally {
      expectNoFailedSwitch(await steady.stop(), 'promote --full of v3');
    }
    await world.noCanaryCarriesAnything('v3', 0);
  });

  it('When the operator aborts a release, Then all traffic goes back to stable, no request failed, and status says the canary carries 0', async () => {
    await setImage('v4');
    await stepHolds(0, 5);
    await dataPlaneCarries(5);
    expect((await statusAgreesWithProxy('v4', 4000)).share).toBe(5);
    const steady = steadyStream();
    try {
      const aborted = await operator().run('abort', APP);
      expect(aborted.code, aborted.stderr).toBe(0);
      await waitForStatus('v4 aborted', (s) => s.phase === 'failed' || s.phase === 'cancelled');
      await world.canaryRemoved();
    } finally {
      expectNoFailedSwitch(await steady.stop(), 'abort of v4');
    }
    await world.noCanaryCarriesAnything('v3', 1);
  });

  it('When someone sets the image back to the stable version mid-release, Then the release is cancelled: all traffic to stable, no request failed, and canaryd says so', async () => {
    await setImage('v5');
    await stepHolds(0, 5);
    await dataPlaneCarries(5);
    expect((await statusAgreesWithProxy('v5', 4000)).share).toBe(5);
    const steady = steadyStream();
    try {
      // v3 is the stable version (the abort above put it back): its template, not a new release.
      await setImage('v3');
      await waitForStatus(
        'the release of v5 cancelled',
        (s) => s.phase === 'idle' && s.release?.history.at(-1)?.outcome === 'cancelled',
      );
      await world.canaryRemoved();
    } finally {
      expectNoFailedSwitch(await steady.stop(), 'v5 set back to v3 by hand');
    }
    const said = await canarydEvents(env, 'CanaryPolicy', APP, 'Cancelling');
    expect(said.at(-1)?.message).toMatch(/revision \d+: /);
    await world.noCanaryCarriesAnything('v3', 1);
  });
});
