import { describe, expect, it } from 'vitest';
import { templateHash } from '../../src/controller/template.ts';
import type { ManualOperation } from '../../src/engine/types.ts';
import type { KubeObject } from '../../src/kube/objects.ts';
import { OPERATION_ANNOTATION, OPERATION_BY_ANNOTATION, policyRef } from '../../src/server/operations.ts';
import { policyObject, runningRelease, runningStatus } from '../server/fixtures.ts';
import { ClusterKube, cluster } from './harness.ts';

const REF = policyRef('shop', 'checkout');

const world = () =>
  new ClusterKube(
    policyObject('checkout', 'shop', { status: runningStatus() }),
    policyObject('search', 'shop'),
    policyObject('billing', 'payments'),
  );

/** The operation as written: canaryd.dev/operation, with `by` from canaryd.dev/operation-by. */
const annotation = (kube: ClusterKube): ManualOperation | undefined => {
  const annotations = kube.peek(REF)?.metadata.annotations;
  const raw = annotations?.[OPERATION_ANNOTATION];
  if (raw === undefined) return undefined;
  return { ...(JSON.parse(raw) as ManualOperation), by: annotations?.[OPERATION_BY_ANNOTATION] ?? '' };
};

/**
 * What the controller does with the operation in the annotation: ack it and record `result`
 * (null: as a controller that recorded no result anywhere). `endRelease`: the release ends in the
 * same pass, so the record is only in recentOperations.
 */
const controllerProcesses = (
  kube: ClusterKube,
  result: string | null,
  options: { by?: string; endRelease?: boolean } = {},
) => {
  const operation = annotation(kube);
  if (operation === undefined) return;
  kube.mutate<KubeObject & { status: ReturnType<typeof runningStatus> }>(REF, (policy) => {
    const release = policy.status.release;
    release.lastOperationId = operation.id;
    release.recentOperationIds = [...(release.recentOperationIds ?? []), operation.id];
    if (options.endRelease) {
      policy.status.phase = release.phase = 'succeeded';
      delete release.current;
    }
    if (result === null) return;
    const record = { ...operation, by: options.by ?? operation.by, result };
    release.current?.operations.push(record);
    release.recentOperations = [...(release.recentOperations ?? []), record];
  });
};

describe('kubectl canary list', () => {
  it('lists the namespace of the context by default', async () => {
    const c = cluster(world());
    const result = await c.run('list');
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n').map((line) => line.split(/ +/)[0])).toEqual(['NAME', 'checkout', 'search', '']);
  });

  it('-A lists every namespace with a NAMESPACE column', async () => {
    const result = await cluster(world()).run('list', '-A');
    expect(result.stdout).toMatch(/^NAMESPACE +NAME/);
    expect(result.stdout).toContain('payments   billing');
  });

  it('says so when a namespace has none', async () => {
    const result = await cluster(world()).run('list', '-n', 'empty');
    expect(result).toEqual({ code: 0, stdout: '', stderr: 'No CanaryPolicies found in namespace empty.\n' });
  });

  it('-A with -n is a usage error, before connecting', async () => {
    const c = cluster(world());
    const result = await c.run('list', '-A', '-n', 'shop');
    expect(result.code).toBe(2);
    expect(c.connections).toEqual([]);
  });
});

describe('kubectl canary status', () => {
  it('prints the release and exits 0 while it progresses', async () => {
    const result = await cluster(world()).run('status', 'checkout');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Step:          2/4  1% → [5%] → 25% → 50%');
    expect(result.stdout).toContain('Next step:     in 8m40s');
  });

  it('exits 1 for a release that was rolled back', async () => {
    const release = runningRelease({ phase: 'failed', reason: 'success-rate failed twice: rolled back' });
    delete release.current;
    const kube = new ClusterKube(policyObject('checkout', 'shop', { status: { ...runningStatus(release), step: '' } }));
    const result = await cluster(kube).run('status', 'checkout');
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('Phase:         failed — success-rate failed twice: rolled back');
  });

  it('names the object it did not find, in the namespace given', async () => {
    const c = cluster(world());
    const result = await c.run('status', 'nope', '-n', 'payments', '--context', 'prod');
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: 'kubectl canary status: CanaryPolicy payments/nope not found\n',
    });
    expect(c.connections).toEqual([{ namespace: 'payments', context: 'prod' }]);
  });

  it('Kubernetes errors name the object and exit 1', async () => {
    const kube = world();
    kube.failNext('get', 'Forbidden');
    const result = await cluster(kube).run('status', 'checkout');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^kubectl canary status: injected Forbidden on get CanaryPolicy shop\/checkout/);
  });

  it('usage errors exit 2', async () => {
    expect((await cluster(world()).run('status')).code).toBe(2);
    expect((await cluster(world()).run('status', 'checkout', '--bogus')).code).toBe(2);
  });

  it('--watch prints again only when the release changes, until Ctrl-C; the exit code is the last status', async () => {
    const kube = world();
    const c = cluster(kube, {
      onSleep(tick, abort) {
        if (tick === 2) {
          kube.mutate<KubeObject & { status: ReturnType<typeof runningStatus> }>(REF, (policy) => {
            policy.status.phase = 'rollingBack';
            policy.status.message = 'success-rate failed: rolling back';
          });
        }
        if (tick === 4) abort();
      },
    });
    const result = await c.run('status', 'checkout', '--watch');
    expect(result.code).toBe(1);
    const screens = result.stdout.split('\n\n');
    expect(screens).toHaveLength(2);
    expect(screens[0]).toContain('Phase:         progressing');
    expect(screens[1]).toContain('Phase:         rollingBack — success-rate failed: rolling back');
  });

  it('--watch on a terminal redraws every interval', async () => {
    const c = cluster(world(), { isTTY: true, onSleep: (tick, abort) => tick === 3 && abort() });
    const result = await c.run('status', 'checkout', '-w', '--interval', '5s');
    expect(result.code).toBe(0);
    expect(result.stdout.split('\x1b[H\x1b[2J')).toHaveLength(4);
    expect(result.stdout).toContain('in 8m30s');
  });
});

describe('kubectl canary status --watch ends with the release', () => {
  const v2 = { metadata: { labels: { app: 'checkout' } }, spec: { containers: [{ name: 'web', image: 'web:2' }] } };
  const v2Hash = templateHash(v2);
  const withDeployment = () => {
    const kube = world();
    kube.seed({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'checkout', namespace: 'shop' },
      spec: { template: v2 },
    } as KubeObject);
    return kube;
  };
  type Status = ReturnType<typeof runningStatus>;
  const at = (tick: number, kube: ClusterKube, change: (status: Status) => void) => (now: number) => {
    if (now === tick) kube.mutate<KubeObject & { status: Status }>(REF, (policy) => change(policy.status));
  };
  const promote = (status: Status) => {
    status.phase = 'succeeded';
    status.message = 'promoted';
    status.release.phase = 'succeeded';
    status.release.stable = { revision: 2, templateHash: v2Hash, changeCause: 'image web:1 -> web:2', template: {} };
    delete status.release.current;
  };
  const rollBack = (status: Status) => {
    status.phase = 'failed';
    status.message = 'rolled back: success-rate failed';
    status.release.phase = 'failed';
    status.release.failedRevisions = [v2Hash];
    delete status.release.current;
  };

  it('exits 0 once the release is promoted, with a last line saying so', async () => {
    const kube = withDeployment();
    const result = await cluster(kube, { onSleep: at(3, kube, promote) }).run('status', 'checkout', '--watch');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Phase:         progressing');
    expect(result.stdout.trimEnd().split('\n').at(-1)).toBe('Result:        promoted: revision 2 (exit 0)');
  });

  it('exits 1 once the release is rolled back', async () => {
    const kube = withDeployment();
    const result = await cluster(kube, { onSleep: at(2, kube, rollBack) }).run('status', 'checkout', '-w');
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('Phase:         failed — rolled back: success-rate failed');
  });

  it('exits 3 when the release waits for a person', async () => {
    const kube = withDeployment();
    const pause = (status: Status) => {
      status.phase = 'paused';
      status.release.phase = 'paused';
      status.release.current!.pausedBy = {
        cause: 'manual',
        by: 'bob',
        at: '2026-03-01T10:06:31.000Z',
        reason: 'paused by bob',
      };
    };
    const result = await cluster(kube, { onSleep: at(1, kube, pause) }).run('status', 'checkout', '-w');
    expect(result.code).toBe(3);
    expect(result.stdout).toContain('paused by bob: run kubectl canary resume|promote|abort checkout -n shop (exit 3)');
  });

  it('exits 4 when --timeout elapses first, saying where the release is', async () => {
    const c = cluster(withDeployment());
    const result = await c.run('status', 'checkout', '--watch', '--timeout', '10s', '--interval', '3s');
    expect(result.code).toBe(4);
    expect(result.stderr).toBe('kubectl canary status: shop/checkout did not end within 10s (progressing; exit 4)\n');
    expect(c.now().toISOString()).toBe('2026-03-01T10:06:40.000Z'); // the last wait is cut to the deadline
  });

  it('a promoted policy whose Deployment has a new template is not ended: it watches that release', async () => {
    const kube = withDeployment();
    kube.mutate<KubeObject & { status: Status }>(REF, (policy) => {
      promote(policy.status);
      policy.status.release.stable!.templateHash = 'old111'; // canaryd has not seen v2 yet
    });
    const start = (status: Status) => Object.assign(status, runningStatus());
    const onSleep = (tick: number) => {
      at(2, kube, start)(tick);
      at(4, kube, promote)(tick);
    };
    const result = await cluster(kube, { onSleep }).run('status', 'checkout', '--watch');
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n\n')).toHaveLength(3); // succeeded (old), progressing, succeeded (v2)
  });

  it('without --watch the exit code follows the same table: 3 while paused for a person', async () => {
    const release = runningRelease({ phase: 'paused' });
    release.current!.pausedBy = { cause: 'step', by: 'policy', at: '2026-03-01T10:06:00.000Z', reason: 'step 3 waits' };
    const kube = new ClusterKube(policyObject('checkout', 'shop', { status: runningStatus(release) }));
    const result = await cluster(kube).run('status', 'checkout');
    expect(result.code).toBe(3);
    expect(result.stdout).toContain('Next step:     when a person resumes it (kubectl canary resume checkout -n shop)');
  });
});

describe('kubectl canary history', () => {
  it('prints the revisions', async () => {
    const result = await cluster(world()).run('history', 'checkout');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^REVISION/);
    expect(result.stdout).toContain('adopted');
  });

  it('says when there is nothing yet', async () => {
    const result = await cluster(world()).run('history', 'search');
    expect(result.stdout).toBe('no releases recorded for shop/search\n');
  });
});

describe('kubectl canary operations', () => {
  it('pause: writes the operation as the caller, waits for canaryd, prints applied', async () => {
    const kube = world();
    const c = cluster(kube, { user: 'alice@example.com', onSleep: () => controllerProcesses(kube, 'applied') });
    const result = await c.run('pause', 'checkout');
    expect(result.code).toBe(0);
    const operation = annotation(kube);
    expect(operation).toMatchObject({ op: 'pause', by: 'alice@example.com', at: '2026-03-01T10:06:30.000Z' });
    expect(operation?.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(result.stdout).toBe(
      `pause on CanaryPolicy shop/checkout: requested by alice@example.com (id ${operation?.id})\n` +
        'pause on CanaryPolicy shop/checkout: applied\n',
    );
  });

  it('a refused operation exits 1 with the reason', async () => {
    const kube = world();
    const c = cluster(kube, {
      onSleep: () => controllerProcesses(kube, 'refused: nothing to resume in phase progressing'),
    });
    const result = await c.run('resume', 'checkout');
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'resume on CanaryPolicy shop/checkout: refused: nothing to resume in phase progressing\n',
    );
  });

  it('a promote racing with the end of the release prints the refusal, not success, and exits 1', async () => {
    const kube = world();
    const onSleep = () =>
      controllerProcesses(kube, 'refused: nothing to promote in phase succeeded', { endRelease: true });
    const result = await cluster(kube, { onSleep }).run('promote', 'checkout');
    expect(result.code).toBe(1);
    expect(result.stdout).not.toContain('applied');
    expect(result.stderr).toBe(
      'promote on CanaryPolicy shop/checkout: refused: nothing to promote in phase succeeded\n',
    );
  });

  it('an actor canaryd could not verify is shown as recorded', async () => {
    const kube = world();
    const onSleep = () => controllerProcesses(kube, 'applied', { by: 'unverified: alice' });
    const result = await cluster(kube, { onSleep }).run('pause', 'checkout');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      'pause on CanaryPolicy shop/checkout: applied (recorded as by unverified: alice)\n',
    );
  });

  it('acknowledged without a recorded result (an older controller): exit 1, pointing at the Events', async () => {
    const kube = world();
    const result = await cluster(kube, { onSleep: () => controllerProcesses(kube, null) }).run('abort', 'checkout');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('kubectl describe canarypolicy -n shop checkout');
  });

  it('exits 1 when canaryd does not process it within --timeout', async () => {
    const kube = world();
    const c = cluster(kube);
    const result = await c.run('promote', 'checkout', '--full', '--timeout', '5s');
    expect(result.code).toBe(1);
    expect(annotation(kube)?.op).toBe('promoteFull');
    expect(result.stderr).toContain('promote --full on CanaryPolicy shop/checkout: not processed by canaryd within 5s');
  });

  it('--timeout 0 returns once requested', async () => {
    const kube = world();
    const result = await cluster(kube).run('undo', 'checkout', '--to-revision=1', '--skip-canary', '--timeout', '0');
    expect(result.code).toBe(0);
    expect(annotation(kube)).toMatchObject({ op: 'undo', toRevision: 1, skipCanary: true });
    expect(kube.writes()).toHaveLength(1);
  });

  it('refuses while an earlier operation is unprocessed, naming it', async () => {
    const kube = world();
    const c = cluster(kube);
    await c.run('pause', 'checkout', '--timeout', '0');
    const result = await c.run('abort', 'checkout');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^kubectl canary abort: CanaryPolicy shop\/checkout: operation pause \(id [0-9a-f-]+\) by alice/,
    );
    expect(annotation(kube)?.op).toBe('pause');
  });

  it('retries when the controller wrote the policy between read and patch', async () => {
    const kube = world();
    kube.failNext('mergePatch', 'Conflict');
    const result = await cluster(kube).run('retry', 'checkout', '--to-revision', '2', '--timeout=0');
    expect(result.code).toBe(0);
    expect(annotation(kube)).toMatchObject({ op: 'retry', toRevision: 2 });
  });

  it('a missing policy exits 1 naming it', async () => {
    const result = await cluster(world()).run('pause', 'ghost', '-n', 'shop');
    expect(result).toMatchObject({ code: 1, stderr: 'kubectl canary pause: CanaryPolicy shop/ghost not found\n' });
  });

  it('RBAC denial of the write exits 1 naming the object', async () => {
    const kube = world();
    kube.failNext('mergePatch', 'Forbidden');
    const result = await cluster(kube).run('pause', 'checkout');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('CanaryPolicy shop/checkout');
  });

  it('undo without --to-revision is a usage error that writes nothing', async () => {
    const kube = world();
    const result = await cluster(kube).run('undo', 'checkout');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--to-revision is required');
    expect(kube.writes()).toEqual([]);
  });

  it('the commands are registered in kubectl canary', async () => {
    const result = await cluster(world()).run('--help');
    for (const name of ['list', 'status', 'history', 'pause', 'resume', 'promote', 'abort', 'retry', 'undo']) {
      expect(result.stdout).toMatch(new RegExp(`^ {2}${name} `, 'm'));
    }
  });
});
