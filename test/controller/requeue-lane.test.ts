// When a reconcile asks to come back, and in which lane (controller/queue.ts): the engine's own
// wake-up (a hold's end) has a timer of its own and may take a worker reserved for wake-ups; a
// look after writes, or the in-flight resync, follows the cluster. Under a slow API server a due
// step used to wait behind other policies' writes, or ride with a look that sat in line.
import { describe, expect, it } from 'vitest';
import type { PolicyObject } from '../../src/controller/deps.ts';
import { reconcile } from '../../src/controller/reconciler.ts';
import type { Deployment } from '../../src/kube/objects.ts';
import { IngressNginxRouter } from '../../src/traffic/ingress-nginx.ts';
import { NS, World } from '../traffic/world.ts';
import { keepingStatusWrites, quietDeps, rollAll } from './reconcile-fixtures.ts';

const policy = (hold: string): PolicyObject => ({
  apiVersion: 'canaryd.dev/v1alpha1',
  kind: 'CanaryPolicy',
  metadata: { name: 'web', namespace: NS },
  spec: {
    target: { deployment: 'web', service: 'web', router: 'ingress-nginx' },
    strategy: {
      steps: [
        { weight: 5, hold },
        { weight: 25, hold: '1h' },
      ],
    },
  },
});

/** A release of `hold`'s first step, its weight just written; returns each pass's result. */
async function stepStarted(hold: string) {
  const world = new World();
  const { kube } = keepingStatusWrites(world.kube);
  kube.seed(policy(hold));
  let now = Date.parse('2026-12-06T08:00:00Z');
  const deps = quietDeps(
    kube,
    () => new IngressNginxRouter(kube),
    () => new Date(now),
  );
  rollAll(world);
  await reconcile(deps, NS, 'web'); // adopted
  kube.mutate<Deployment>({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: 'web' }, (d) => {
    d.spec.template.spec.containers[0]!.image = 'shop/web:2.1.0';
  });
  await reconcile(deps, NS, 'web'); // the canary created
  rollAll(world);
  const written = await reconcile(deps, NS, 'web'); // step 1's weight written
  return {
    written,
    passAfter: async (ms: number) => {
      now += ms;
      return reconcile(deps, NS, 'web');
    },
  };
}

describe('the lane a reconcile comes back in', () => {
  it('asks for its wake-up at the hold’s end beside a look soon after writes', async () => {
    const { written, passAfter } = await stepStarted('3s');
    // the look after writes follows the cluster; the hold's end keeps a timer of its own
    expect(written).toEqual({ requeueAfterMs: 250, wakeAfterMs: 3000 });
    // the resync would come after the hold's end: the wake-up alone
    expect(await passAfter(1000)).toEqual({ requeueAfterMs: null, wakeAfterMs: 2000 });
  });

  it('a long hold keeps the resync until its end is the nearer', async () => {
    const { passAfter } = await stepStarted('1m');
    expect(await passAfter(1000)).toEqual({ requeueAfterMs: 5000, wakeAfterMs: 59_000 });
    expect(await passAfter(55_000)).toEqual({ requeueAfterMs: null, wakeAfterMs: 4000 });
  });
});
