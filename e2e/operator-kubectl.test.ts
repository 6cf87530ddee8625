// Operator journeys (issue 12, "Outside hands on the managed Deployment"): a person with the
// kubectl habits of the manual canary workflow reaches for plain `kubectl rollout …` and
// `kubectl scale` on the managed Deployment while a release runs. Every command below is the
// real kubectl binary run as a subprocess against the local cluster, without the admission
// policy of deploy/ (canaryd must hold on its own; e2e/install-deploy.test.ts shows the policy
// refusing the unpause). What is asserted is what the person notices: kubectl's answers, the
// Events on the Deployment (reason, and the field manager where Kubernetes records one),
// `kubectl canary status`, the Deployment's state, and the release going on.
import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { waitFor } from './cluster/wait.ts';
import { APP, CANARY, setTemplate } from './support/managed-app.ts';
import {
  givenManagedApp,
  kubectl,
  thenEvent,
  thenStatusShowsMeasuredShare,
  whenStepHolds,
} from './support/operator-journey.ts';
import { imageOf, readRelease, waitForPolicy, waitForSettled } from './support/release-status.ts';

/** The admission policy of deploy/admission-policy.yaml (e2e/install-deploy.test.ts installs and removes it). */
const KEEP_PAUSED_POLICY = 'canaryd-keep-managed-deployments-paused';

describe('Given a release holding step 1, and no admission policy keeping the Deployment paused', () => {
  const world = givenManagedApp('operator', {
    replicas: 4,
    steps: [
      { weight: 25, hold: '10m' },
      { weight: 50, hold: '2s' },
    ],
  });
  const readWeb = () => world.env.apps.readNamespacedDeployment({ name: APP, namespace: world.env.namespace });

  it('When they run resume, undo, restart and scale, Then each is refused, put back or kept, and said; the release goes on', async () => {
    const { env } = world;
    // canaryd holds on its own here: the API server would refuse the unpause otherwise.
    const admission = env.kc.makeApiClient(k8s.AdmissionregistrationV1Api);
    expect(await admission.readValidatingAdmissionPolicy({ name: KEEP_PAUSED_POLICY }).catch(() => null)).toBeNull();
    await setTemplate(env, 'v2');
    await whenStepHolds(env, 1);
    const revision = (await readRelease(env))?.current?.revision;
    expect(imageOf(await readWeb())).toBe('canaryd-demo:v2');
    await thenStatusShowsMeasuredShare(world);

    // When the person tries `kubectl rollout undo`, kubectl itself refuses: the Deployment is
    // paused (kubectl then suggests `rollout resume`), and while paused it never made a
    // ReplicaSet for the release, so here (a first release) it has no history to go back to either.
    const undo = await kubectl(env, 'rollout', 'undo', `deployment/${APP}`);
    expect(undo.code).not.toBe(0);
    expect(undo.stderr).toMatch(/paused|no rollout history/);

    // When they follow kubectl's advice and run `kubectl rollout resume`,
    const resume = await kubectl(env, 'rollout', 'resume', `deployment/${APP}`);
    expect(resume.code, resume.stderr).toBe(0);
    // then canaryd pauses the Deployment again and says so on it, naming what happened.
    await waitFor(async () => (await readWeb()).spec?.paused === true, {
      timeoutMs: 5_000,
      intervalMs: 50,
      description: 'web paused again after `kubectl rollout resume`',
    });
    const unpaused = await thenEvent(env, { kind: 'Deployment', name: APP, reason: 'DriftCorrected' });
    expect(unpaused?.type).toBe('Warning');
    expect(unpaused?.message).toContain('unpaused during the release');
    expect(unpaused?.message).toContain('kubectl rollout resume');
    expect(unpaused?.message).toContain('kubectl canary abort');
    // The Deployment keeps the release's template; the release is the same one, still at step 1.
    const web = await readWeb();
    expect(imageOf(web)).toBe('canaryd-demo:v2');
    const release = await readRelease(env);
    expect(release?.current?.revision).toBe(revision);
    expect(release?.current?.stepIndex).toBe(0);
    // Any pod of v2 the Deployment controller started meanwhile counts in the share shown.
    await thenStatusShowsMeasuredShare(world);

    // `kubectl rollout undo` and `kubectl rollout restart` are refused again: the Deployment is paused.
    expect((await kubectl(env, 'rollout', 'undo', `deployment/${APP}`)).code).not.toBe(0);
    const restart = await kubectl(env, 'rollout', 'restart', `deployment/${APP}`);
    expect(restart.code).not.toBe(0);
    expect(restart.stderr).toMatch(/paused/);
    expect((await readWeb()).spec?.template.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt']).toBe(
      undefined,
    );

    // When they scale the Deployment by hand, the size is theirs: kept, reported with the field
    // manager that wrote it, and the canary follows to keep the step's share.
    const scale = await kubectl(env, 'scale', `deployment/${APP}`, '--replicas=8');
    expect(scale.code, scale.stderr).toBe(0);
    const scaled = await thenEvent(env, { kind: 'Deployment', name: APP, reason: 'StableScaled' });
    const writer = (await readWeb()).metadata?.managedFields?.find((entry) =>
      Object.hasOwn((entry.fieldsV1 as { 'f:spec'?: object } | undefined)?.['f:spec'] ?? {}, 'f:replicas'),
    );
    expect(scaled?.message).toContain('from 4 to 8');
    expect(scaled?.message).toContain(`field manager ${writer?.manager}`);
    expect((await readWeb()).spec?.replicas).toBe(8);
    await waitFor(
      async () =>
        ((await env.apps.readNamespacedDeployment({ name: CANARY, namespace: env.namespace })).spec?.replicas ?? 0) > 1,
      { timeoutMs: 15_000, description: 'the canary resized for 8 stable pods' },
    );
    const screen = await thenStatusShowsMeasuredShare(world);
    expect(screen).toContain('Phase:         progressing');

    // And the release goes on as canaryd's own: promoted on request, every pod at v2, paused again.
    const promote = await world.operator.run('promote', APP, '--full');
    expect(promote.code, promote.stderr).toBe(0);
    await waitForPolicy(env, 'v2 promoted', (s) => s.phase === 'succeeded', 120_000);
    const settled = await waitForSettled(env, 'canaryd-demo:v2');
    expect(settled.spec?.replicas).toBe(8);
    expect(settled.spec?.paused).toBe(true);

    // Then `kubectl canary history` is the record to read (and the numbers undo takes): the
    // adoption, then this release promoted; it says how `kubectl rollout history` differs.
    const history = await world.operator.run('history', APP);
    expect(history.code, history.stderr).toBe(0);
    const rows = history.stdout.split('\n');
    expect(rows[1]).toMatch(/^1 +adopted /);
    expect(rows[2]).toMatch(/^2 +succeeded .*canaryd-demo:v1 → canaryd-demo:v2/);
    expect(history.stdout).toContain("`kubectl rollout history` numbers the Deployment's ReplicaSets and differs");
    const rollout = await kubectl(env, 'rollout', 'history', `deployment/${APP}`);
    expect(rollout.code, rollout.stderr).toBe(0);
  });
});
