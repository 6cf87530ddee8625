// Operator journeys with the real `kubectl canary` binary, run as a subprocess with an operator's
// own kubeconfig (a ServiceAccount token, RBAC as `edit` grants it): promote advances one step,
// promote --full finishes, status --watch ends with the release and exits 0 on promotion and 1 on
// rollback, --timeout exits 4, an operation refused after (or racing with) the end of a release
// never prints "applied", and every command answers --help. Who is recorded as the actor:
// operator-actor.test.ts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './cluster/cluster.ts';
import { waitFor } from './cluster/wait.ts';
import { kubectlCanary } from './support/cli.ts';
import { APP, setTemplate } from './support/managed-app.ts';
import { givenManagedApp, whenStepHolds } from './support/operator-journey.ts';
import { readRelease, waitForPolicy, waitForSettled } from './support/release-status.ts';

const HOUR_STEPS = [
  { weight: 25, hold: '1h' },
  { weight: 50, hold: '1h' },
  { weight: 75, hold: '1h' },
];

describe('Given a release holding step 1 of 3 for an hour', () => {
  const world = givenManagedApp('cli-promote', { steps: HOUR_STEPS });

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

describe('Given a release whose only step holds for 3 seconds', () => {
  const world = givenManagedApp('cli-race', { steps: [{ weight: 50, hold: '3s' }] });

  it('When the operator promotes just as the hold ends, Then what the CLI prints is what canaryd recorded: applied, or refused with exit 1', async () => {
    const { env, operator } = world;
    await setTemplate(env, 'v2');
    await whenStepHolds(env, 1);
    const started = Date.parse((await readRelease(env))?.current?.stepStartedAt ?? '');
    // Sent at the end of the hold: canaryd reads it either in the last moment of the step
    // (applied: promote) or once promotion began (refused: nothing left to promote).
    await waitFor(async () => Date.now() >= started + 3000, {
      timeoutMs: 10_000,
      intervalMs: 20,
      description: 'the end of the hold',
    });
    const raced = await operator.run('promote', APP);
    const id = /\(id ([0-9a-f-]{36})\)/.exec(raced.stdout)?.[1];
    expect(id, raced.stdout + raced.stderr).toBeDefined();
    const recorded = (await readRelease(env))?.recentOperations?.find((op) => op.id === id);
    expect(recorded?.by).toBe(operator.username);
    if (recorded?.result === 'applied') {
      expect(raced.code).toBe(0);
      expect(raced.stdout).toContain(`promote on CanaryPolicy ${env.namespace}/${APP}: applied\n`);
    } else {
      expect(recorded?.result).toMatch(/^refused: nothing to promote in phase (promoting|succeeded)$/);
      expect(raced.code).toBe(1);
      expect(raced.stdout).not.toContain('applied');
      expect(raced.stderr).toContain(`promote on CanaryPolicy ${env.namespace}/${APP}: ${recorded?.result}`);
    }
    // Either way the release ends promoted.
    await waitForPolicy(env, 'v2 promoted', (s) => s.phase === 'succeeded', 120_000);
    await waitForSettled(env, 'canaryd-demo:v2');
  });
});

describe('kubectl canary --help and --version (no cluster needed)', () => {
  it.each([
    'validate',
    'plan',
    'list',
    'status',
    'history',
    'pause',
    'resume',
    'promote',
    'abort',
    'retry',
    'undo',
    'approve',
    'dashboard',
  ])('%s --help exits 0 with its usage on stdout', async (command) => {
    const result = await kubectlCanary(command, '--help');
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(new RegExp(`^usage: kubectl canary ${command}\\b`));
  });

  it('--version prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(await kubectlCanary('--version')).toEqual({ code: 0, stdout: `kubectl-canary ${version}\n`, stderr: '' });
  });
});
