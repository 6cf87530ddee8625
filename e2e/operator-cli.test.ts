// Operator journeys with the real `kubectl canary` binary, run as a subprocess with an operator's
// own kubeconfig (a ServiceAccount token, RBAC as `edit` grants it): promote advances one step,
// promote --full finishes, status --watch ends with the release and exits 0 on promotion and 1 on
// rollback, --timeout exits 4, every command answers --help, and an operation's actor is the
// identity Kubernetes authenticated: a forged one is refused by the API server.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './cluster/cluster.ts';
import { waitFor } from './cluster/wait.ts';
import { type CanarydProcess, installCrd, startCanaryd } from './support/canaryd.ts';
import { createOperator, kubectlCanary, type Operator } from './support/cli.ts';
import { apiMessage, GROUP, PLURAL, statusOf, VERSION } from './support/crd.ts';
import { type TestEnv, useTestEnv } from './support/env.ts';
import { APP, deployManaged, readRelease, setTemplate, waitForPolicy, waitForSettled } from './support/journeys.ts';

/** Given a managed app with a policy and canaryd running, and an operator with `edit`-like RBAC. */
function givenManagedApp(prefix: string, steps: Array<{ weight: number; hold: string }>) {
  const env = useTestEnv(prefix);
  const world = { env, operator: undefined as unknown as Operator, canaryd: undefined as CanarydProcess | undefined };
  beforeAll(async () => {
    await installCrd(env.kc);
    world.canaryd = startCanaryd(env.kubeconfig, ['--namespace', env.namespace], `canaryd-${prefix}`);
    world.operator = await createOperator(env, 'alice');
    await deployManaged(env, { replicas: 4, steps });
  });
  afterAll(async () => {
    await world.canaryd?.stop();
  });
  return world;
}

/** When a new template is released: wait until step `step` (1-based) holds its weight. */
async function whenStepHolds(env: TestEnv, step: number): Promise<void> {
  await waitForPolicy(
    env,
    `step ${step} started`,
    (s) => s.phase === 'progressing' && s.release?.current?.stepIndex === step - 1 && !!s.release.current.stepStartedAt,
    90_000,
  );
}

const HOUR_STEPS = [
  { weight: 25, hold: '1h' },
  { weight: 50, hold: '1h' },
  { weight: 75, hold: '1h' },
];

describe('Given a release holding step 1 of 3 for an hour', () => {
  const world = givenManagedApp('cli-promote', HOUR_STEPS);

  it('When the operator runs promote, Then exactly one step is skipped, and status --watch --timeout exits 4', async () => {
    const { env, operator } = world;
    await setTemplate(env, 'v2');
    await whenStepHolds(env, 1);

    const promoted = await operator.run('promote', APP);
    expect(promoted.stderr).toBe('');
    expect(promoted.code).toBe(0);
    expect(promoted.stdout).toMatch(
      new RegExp(
        `promote on CanaryPolicy ${env.namespace}/${APP}: requested by ${operator.username} \\(id [0-9a-f-]{36}\\)\n`,
      ),
    );
    expect(promoted.stdout).toContain(`promote on CanaryPolicy ${env.namespace}/${APP}: applied\n`);

    // Then: step 2 holds (an hour again), it does not go on to promotion.
    await whenStepHolds(env, 2);
    const watched = await operator.run('status', APP, '--watch', '--timeout', '3s', '--interval', '1s');
    expect(watched.code).toBe(4);
    expect(watched.stdout).toContain('Step:          2/3  25% → [50%] → 75%');
    expect(watched.stdout).toMatch(/Next step: {5}in (59m\d+s|1h) \(/);
    expect(watched.stderr).toContain(`${env.namespace}/${APP} did not end within 3s (progressing; exit 4)`);
    const release = await readRelease(env);
    expect(release?.phase).toBe('progressing');
    expect(release?.current?.operations).toEqual([
      expect.objectContaining({ op: 'promote', by: operator.username, result: 'applied' }),
    ]);
  });

  it('When the operator runs promote --full while status --watch runs, Then the watch ends with exit 0 on promotion', async () => {
    const { env, operator } = world;
    const watch = operator.start(['status', APP, '--watch', '--interval', '1s', '--timeout', '2m']);
    await waitFor(async () => watch.output().stdout.includes('Phase:'), {
      timeoutMs: 20_000,
      description: 'the first screen of status --watch',
    });

    const full = await operator.run('promote', APP, '--full');
    expect(full.code).toBe(0);
    expect(full.stdout).toContain(`promote --full on CanaryPolicy ${env.namespace}/${APP}: applied\n`);

    const watched = await watch.done;
    expect(watched.stderr).toBe('');
    expect(watched.code).toBe(0);
    expect(watched.stdout.trimEnd().split('\n').at(-1)).toMatch(/^Result: {8}promoted: revision 2 \(exit 0\)$/);
    await waitForSettled(env, 'canaryd-demo:v2');
  });

  it('When a new template is aborted while status --watch runs, Then the watch ends with exit 1', async () => {
    const { env, operator } = world;
    await setTemplate(env, 'v3');
    // The watch starts right after the template changed: it waits for this release, not the last.
    const watch = operator.start(['status', APP, '--watch', '--interval', '1s', '--timeout', '2m']);
    await whenStepHolds(env, 1);
    const aborted = await operator.run('abort', APP);
    expect(aborted.code).toBe(0);

    const watched = await watch.done;
    expect(watched.code).toBe(1);
    expect(watched.stdout).toMatch(
      /Result: {8}not promoted: revision 3 rolledBack: aborted by system:serviceaccount:.*:alice \(exit 1\)/,
    );
    // A second abort arrives after the end: it is refused, and the CLI says so (no "applied").
    const late = await operator.run('abort', APP);
    expect(late.code).toBe(1);
    expect(late.stdout).not.toContain('applied');
    expect(late.stderr).toContain(
      `abort on CanaryPolicy ${env.namespace}/${APP}: refused: no release in progress (phase failed)`,
    );
  });
});

describe('Given an operator who may patch CanaryPolicies', () => {
  const world = givenManagedApp('cli-actor', HOUR_STEPS);

  it('When they write an operation naming someone else, Then the API server refuses it; kubectl canary records their own name', async () => {
    const { env, operator } = world;
    const mallory = await createOperator(env, 'mallory');
    await setTemplate(env, 'v2');
    await whenStepHolds(env, 1);

    // Forged: mallory writes a pause "by alice" with plain API calls (what kubectl annotate does).
    const custom = mallory.kc.makeApiClient(k8s.CustomObjectsApi);
    const forged = {
      metadata: {
        annotations: {
          'canaryd.dev/operation': JSON.stringify({ id: 'forged-1', op: 'pause', at: new Date().toISOString() }),
          'canaryd.dev/operation-by': operator.username,
        },
      },
    };
    const target = { group: GROUP, version: VERSION, namespace: env.namespace, plural: PLURAL, name: APP };
    const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
    const forgedWrite = (dryRun: boolean) =>
      custom
        .patchNamespacedCustomObject({ ...target, body: forged, ...(dryRun ? { dryRun: 'All' } : {}) }, mergePatch)
        .then(
          () => null,
          (error: unknown) => error,
        );
    // The admission policy was created moments ago (installCrd); admission also runs for a
    // dry run, so wait with those until the API server enforces it, without writing anything.
    await waitFor(async () => (await forgedWrite(true)) !== null, {
      timeoutMs: 20_000,
      description: 'the operation-actor admission policy in force',
    });
    const refusal = await forgedWrite(false);
    expect(statusOf(refusal)).toBe(403);
    expect(apiMessage(refusal)).toContain(
      `canaryd.dev/operation-by must be your own username "${mallory.username}", not "${operator.username}"`,
    );
    const unchanged = await readRelease(env);
    expect(unchanged?.phase).toBe('progressing');
    expect(unchanged?.recentOperations ?? []).toEqual([]);

    // The same operation through kubectl canary: recorded as mallory, and she sees it.
    const paused = await mallory.run('pause', APP);
    expect(paused.code).toBe(0);
    expect(paused.stdout).toContain(`requested by ${mallory.username}`);
    expect(paused.stdout).toContain(': applied\n');
    const release = await readRelease(env);
    expect(release?.current?.pausedBy).toMatchObject({ cause: 'manual', by: mallory.username });
    expect(release?.recentOperations?.at(-1)).toMatchObject({ op: 'pause', by: mallory.username, result: 'applied' });

    // A paused release waits for a person: status exits 3 (and so does --watch, at once).
    const status = await operator.run('status', APP, '--watch', '--timeout', '30s');
    expect(status.code).toBe(3);
    expect(status.stdout).toContain(`paused by ${mallory.username}`);
  });
});

describe('kubectl canary --help and --version (no cluster needed)', () => {
  it.each(['validate', 'plan', 'list', 'status', 'history', 'pause', 'resume', 'promote', 'abort', 'retry', 'undo'])(
    '%s --help exits 0 with its usage on stdout',
    async (command) => {
      const result = await kubectlCanary(command, '--help');
      expect(result).toMatchObject({ code: 0, stderr: '' });
      expect(result.stdout).toMatch(new RegExp(`^usage: kubectl canary ${command}\\b`));
    },
  );

  it('--version prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(await kubectlCanary('--version')).toEqual({ code: 0, stdout: `kubectl-canary ${version}\n`, stderr: '' });
  });
});
