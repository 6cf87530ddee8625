import { describe, expect, it } from 'vitest';
import type { Deployment, Service } from '../../src/kube/objects.ts';
import { isTrafficError } from '../../src/traffic/errors.ts';
import { ReplicaRatioRouter } from '../../src/traffic/replica-ratio.ts';
import { stableBaseline } from '../../src/traffic/replica-ratio-records.ts';
import { NS, userView, World } from './world.ts';

const deployment = (name: string) => ({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name });
const replicasOf = (world: World, name: string) => world.kube.peek<Deployment>(deployment(name))?.spec.replicas;

const started = async (stableReplicas: number, surgeBudget: number) => {
  const world = new World({ stableReplicas, surgeBudget, ingresses: [] });
  const router = new ReplicaRatioRouter(world.kube);
  await router.prepare(world.target);
  world.addCanaryDeployment();
  return { world, router };
};

describe('replica-ratio router', () => {
  it('surges the stable side within the budget to reach 5 % with 10 stable pods, and reports the share of ready endpoints', async () => {
    const { world, router } = await started(10, 9);
    world.canaryPodsReady = false;
    const asked = await router.setWeight(world.target, 5);
    expect(replicasOf(world, 'web')).toBe(19);
    expect(replicasOf(world, 'web-canary')).toBe(1);
    // Nothing is ready yet on the canary side: the share shown is the cluster's, 0 %.
    expect(asked).toMatchObject({ requestedWeight: 5, achievedWeight: 0, canaryReplicas: 0, stableReplicas: 10 });
    world.settle();
    expect(await router.observe(world.target)).toMatchObject({ achievedWeight: 0, stableReplicas: 19 });
    world.canaryPodsReady = true;
    world.settle();
    const status = await router.observe(world.target);
    expect(status).toMatchObject({ requestedWeight: 5, achievedWeight: 5, canaryReplicas: 1, stableReplicas: 19 });
    expect(status.detail).toBe('1 canary of 20 ready endpoints: 5 % (requested 5 %)');
    expect(status.drift).toBeUndefined();
  });

  it('does not count the previous canary’s pods as the canary while a new template replaces them', async () => {
    // Issue 11: the next release takes the canary Deployment over; its old pods still answer.
    const { world, router } = await started(10, 0);
    await router.setWeight(world.target, 5);
    world.settle();
    expect(await router.observe(world.target)).toMatchObject({ canaryReplicas: 1 });
    world.replaceCanaryTemplate('shop/web:2.2.0');
    expect(await router.observe(world.target)).toMatchObject({ achievedWeight: 0, canaryReplicas: 0 });
  });

  it('records the weight as a label of the canary Deployment, not an annotation (which bumps its generation)', async () => {
    const { world, router } = await started(1, 0);
    // A canary made by an older canaryd carries the weight as an annotation.
    world.kube.mutate<Deployment>(deployment('web-canary'), (canary) => {
      canary.metadata.annotations = { ...canary.metadata.annotations, 'canaryd.dev/weight': '10' };
    });
    world.settle();
    expect(await router.observe(world.target)).toMatchObject({ requestedWeight: 10 });
    await router.setWeight(world.target, 30);
    const canary = world.kube.peek<Deployment>(deployment('web-canary'));
    expect(canary?.metadata.labels?.['canaryd.dev/weight']).toBe('30');
    expect(canary?.metadata.annotations?.['canaryd.dev/weight']).toBeUndefined();
    world.settle();
    expect(await router.observe(world.target)).toMatchObject({ requestedWeight: 30 });
  });

  it('sizes a later step from the baseline, not the surged replicas, so the controller and setWeight agree', async () => {
    const { world, router } = await started(4, 15);
    await router.setWeight(world.target, 5);
    world.settle();
    const surged = world.kube.peek<Deployment>(deployment('web'))!;
    expect(surged.spec.replicas).toBe(19);
    // What the controller passes as RouteTarget.stableReplicas while the surge is in force.
    expect(stableBaseline(surged)).toBe(4);
    const target = { ...world.target, stableReplicas: stableBaseline(surged) };
    const wanted = router.desiredCanaryReplicas(target, 20);
    await router.setWeight(target, 20);
    expect(replicasOf(world, 'web-canary')).toBe(wanted);
    expect(wanted).toBe(1);
    world.settle();
    await router.setWeight(target, 20);
    expect(replicasOf(world, 'web')).toBe(4);
  });

  it('without a surge budget shows the coarse share it really gets (1 of 11 = 9.09 %)', async () => {
    const { world, router } = await started(10, 0);
    await router.setWeight(world.target, 5);
    world.settle();
    const status = await router.observe(world.target);
    expect(status.achievedWeight).toBeCloseTo(9.0909, 3);
    expect(replicasOf(world, 'web')).toBe(10);
  });

  it('shrinks the surged stable side only once the canary pods of the next step are ready', async () => {
    const { world, router } = await started(10, 9);
    await router.setWeight(world.target, 5); // 1 canary + 19 stable
    world.settle();
    world.canaryPodsReady = false;
    const waiting = await router.setWeight(world.target, 25); // 4 canary + 12 stable
    expect(replicasOf(world, 'web-canary')).toBe(4);
    expect(replicasOf(world, 'web')).toBe(19);
    expect(waiting.detail).toMatch(/waiting for 4 ready canary pods before scaling stable from 19 to 12/);
    world.settle();
    await router.setWeight(world.target, 25);
    expect(replicasOf(world, 'web')).toBe(19); // still not ready: still waiting
    world.canaryPodsReady = true;
    world.settle();
    await router.setWeight(world.target, 25);
    expect(replicasOf(world, 'web')).toBe(12);
    world.settle();
    expect((await router.observe(world.target)).achievedWeight).toBe(25);
  });

  it('goes to weight 0 with one write to the canary Deployment and no read before it, keeping the stable side', async () => {
    const { world, router } = await started(10, 9);
    await router.setWeight(world.target, 5);
    world.settle();
    const mark = world.kube.calls.length;
    await router.setWeight(world.target, 0);
    const calls = world.kube.calls.slice(mark);
    expect(`${calls[0]?.verb} ${calls[0]?.name}`).toBe('mergePatch web-canary');
    expect(world.kube.writes(mark)).toHaveLength(1);
    expect(replicasOf(world, 'web-canary')).toBe(0);
    expect(replicasOf(world, 'web')).toBe(19);
  });

  it('reports what of its route exists: the canary in the recorded Service in a step, a surge left for cleanup', async () => {
    const world = new World({ stableReplicas: 10, surgeBudget: 9, ingresses: [] });
    const router = new ReplicaRatioRouter(world.kube);
    await router.prepare(world.target);
    // The selector is recorded, but no canary Deployment (as the controller saw it) yet.
    expect(await router.observe(world.target, { canaryExists: false })).toMatchObject({
      pieces: { complete: false, any: true },
      testersRouting: false,
    });
    world.addCanaryDeployment();
    await router.setWeight(world.target, 5);
    expect((await router.observe(world.target)).pieces).toEqual({ complete: true, any: true });
    // The Service is gone (its namespace being deleted): nothing routed, not an error, and the
    // surge still asks for cleanup.
    world.kube.remove({ apiVersion: 'v1', kind: 'Service', namespace: NS, name: 'web' });
    const gone = await router.observe(world.target);
    expect(gone).toMatchObject({ requestedWeight: 0, achievedWeight: 0, pieces: { complete: false, any: true } });
    await router.cleanup(world.target);
    expect((await router.observe(world.target)).pieces).toEqual({ complete: false, any: false });
  });

  it('cleanup returns the stable Deployment exactly as found, also from a restarted controller', async () => {
    const { world, router } = await started(10, 9);
    const before = userView(world.kube.peek<Deployment>(deployment('web')));
    await router.setWeight(world.target, 5);
    world.settle();
    // A restarted controller that took the surged count for the baseline does not surge again.
    const restarted = new ReplicaRatioRouter(world.kube);
    const confused = { ...world.target, stableReplicas: 19 };
    await restarted.setWeight(confused, 5);
    expect(replicasOf(world, 'web')).toBe(19);
    expect((await restarted.observe(confused)).drift).toBeUndefined();
    await restarted.setWeight(confused, 0);
    await restarted.cleanup(confused);
    const after = userView(world.kube.peek<Deployment>(deployment('web')))!;
    expect({ ...after, status: undefined }).toEqual({ ...before, status: undefined });
  });

  it('reports drift when someone scales the canary or the stable side', async () => {
    const { world, router } = await started(10, 9);
    await router.setWeight(world.target, 5);
    world.scaleCanary(3);
    world.kube.mutate<Deployment>(deployment('web'), (d) => {
      d.spec.replicas = 12;
    });
    const status = await router.observe(world.target);
    expect(status.drift).toBe(
      'canary Deployment web-canary has 3 replicas but 5 % needs 1; Deployment web has 12 replicas, fewer than the 19 5 % needs (scaled down by someone or an autoscaler)',
    );
  });

  it('removes a selector pin left by an interrupted ingress-nginx release, so canary pods can join', async () => {
    const world = new World({ ingresses: [] });
    world.kube.mutate<Service>({ apiVersion: 'v1', kind: 'Service', namespace: NS, name: 'web' }, (s) => {
      s.metadata.annotations!['canaryd.dev/original-selector'] = '{"app":"web"}';
      s.spec.selector = { app: 'web', 'pod-template-hash': 'abc' };
    });
    await new ReplicaRatioRouter(world.kube).prepare(world.target);
    const service = world.kube.peek<Service>({ apiVersion: 'v1', kind: 'Service', namespace: NS, name: 'web' })!;
    expect(service.spec.selector).toEqual({ app: 'web' });
    expect(service.metadata.annotations).not.toHaveProperty('canaryd.dev/original-selector');
  });

  it('reports a Service selector edited during the release, prepare puts it back, cleanup leaves the Service as found', async () => {
    const webService = { apiVersion: 'v1', kind: 'Service', namespace: NS, name: 'web' };
    const world = new World({ stableReplicas: 4, ingresses: [] });
    const found = userView(world.kube.peek<Service>(webService));
    const router = new ReplicaRatioRouter(world.kube);
    await router.prepare(world.target);
    // The selector as found, recorded with the policy that recorded it (for a policy deleted without its finalizer).
    expect(world.kube.peek<Service>(webService)!.metadata.annotations).toMatchObject({
      'canaryd.dev/release-selector': '{"app":"web"}',
      'canaryd.dev/policy': 'shop/web',
    });
    world.addCanaryDeployment();
    await router.setWeight(world.target, 25);
    world.settle();
    expect((await router.observe(world.target)).drift).toBeUndefined();
    world.kube.mutate<Service>(webService, (s) => {
      s.spec.selector = { ...s.spec.selector, edited: 'by-someone' };
    });
    expect((await router.observe(world.target)).drift).toBe(
      'Service web selector was changed to {"app":"web","edited":"by-someone"} during the release (it was {"app":"web"}), so the split no longer holds',
    );
    await router.prepare(world.target);
    expect(world.kube.peek<Service>(webService)!.spec.selector).toEqual({ app: 'web' });
    expect((await router.observe(world.target)).drift).toBeUndefined();
    await router.setWeight(world.target, 0);
    await router.cleanup(world.target);
    expect(userView(world.kube.peek<Service>(webService))).toEqual(found);
  });

  it('refuses tester routing and weights it cannot size, without writing', async () => {
    const { world, router } = await started(4, 0);
    const mark = world.kube.calls.length;
    const routing = await router.setTesterRouting(world.target, { cookie: 'canary' }).catch((e: unknown) => e);
    expect(isTrafficError(routing, 'InvalidRouting')).toBe(true);
    const weight = await router.setWeight(world.target, 140).catch((e: unknown) => e);
    expect(isTrafficError(weight, 'InvalidWeight')).toBe(true);
    await router.setTesterRouting(world.target, undefined);
    expect(world.kube.writes(mark)).toEqual([]);
    expect(router.desiredCanaryReplicas(world.target, 25)).toBe(1);
    expect(router.desiredCanaryReplicas(world.target, 50)).toBe(4);
  });

  it('refuses a weight before the canary Deployment exists', async () => {
    const world = new World({ ingresses: [] });
    const error = await new ReplicaRatioRouter(world.kube).setWeight(world.target, 5).catch((e: unknown) => e);
    expect(isTrafficError(error, 'NotPrepared')).toBe(true);
    expect((error as Error).message).toMatch(/canary Deployment shop\/web-canary does not exist/);
  });
});
