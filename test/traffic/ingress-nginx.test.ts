import { describe, expect, it } from 'vitest';
import type { Ingress, Service } from '../../src/kube/objects.ts';
import { isTrafficError, type TrafficErrorCode } from '../../src/traffic/errors.ts';
import { IngressNginxRouter } from '../../src/traffic/ingress-nginx.ts';
import { CANARY_HASH, NS, STABLE_HASH, stableIngress, userView, World } from './world.ts';

const service = (name: string) => ({ apiVersion: 'v1', kind: 'Service', namespace: NS, name });
const ingress = (name: string) => ({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', namespace: NS, name });

const annotationsOf = (world: World, name: string) => world.kube.peek<Ingress>(ingress(name))?.metadata.annotations;

const rejects = async (promise: Promise<unknown>, code: TrafficErrorCode, message: RegExp) => {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(isTrafficError(error, code), String(error)).toBe(true);
  expect((error as Error).message).toMatch(message);
};

/** A world after prepare, with canary pods running and ready. */
const prepared = async (options: ConstructorParameters<typeof World>[0] = {}) => {
  const world = new World(options);
  const router = new IngressNginxRouter(world.kube);
  await router.prepare(world.target);
  world.addCanaryDeployment();
  world.scaleCanary(1);
  world.settle();
  return { world, router };
};

describe('ingress-nginx router: a release from prepare to cleanup', () => {
  it('creates the canary Service and Ingress at weight 0 and keeps canary pods out of the stable Service', async () => {
    const { world } = await prepared();
    const canaryService = world.kube.peek<Service>(service('web-canary'))!;
    expect(canaryService.spec).toEqual({
      type: 'ClusterIP',
      selector: { app: 'web', 'canaryd.dev/track': 'canary' },
      ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }],
    });
    expect(annotationsOf(world, 'web-canary')).toMatchObject({
      'nginx.ingress.kubernetes.io/canary': 'true',
      'nginx.ingress.kubernetes.io/canary-weight': '0',
    });
    const stable = world.kube.peek<Service>(service('web'))!;
    expect(stable.spec.selector).toEqual({ app: 'web', 'pod-template-hash': STABLE_HASH });
    expect(stable.metadata.annotations?.['canaryd.dev/original-selector']).toBe('{"app":"web"}');
    // The endpoints the stable Ingress uses: stable pods only, although canary pods carry app=web.
    const stableEndpoints = world.kube
      .all()
      .filter((o) => o.kind === 'EndpointSlice' && o.metadata.labels?.['kubernetes.io/service-name'] === 'web')
      .flatMap((o) => (o as unknown as { endpoints: Array<{ targetRef: { name: string } }> }).endpoints)
      .map((e) => e.targetRef.name);
    expect(stableEndpoints).toHaveLength(3);
    expect(stableEndpoints.some((name) => name.includes(CANARY_HASH))).toBe(false);
  });

  it('sets sub-percent weights exactly and reads them back as the truth', async () => {
    const { world, router } = await prepared();
    const status = await router.setWeight(world.target, 0.1);
    expect(annotationsOf(world, 'web-canary')).toMatchObject({
      'nginx.ingress.kubernetes.io/canary-weight': '1',
      'nginx.ingress.kubernetes.io/canary-weight-total': '1000',
    });
    expect(status).toMatchObject({
      router: 'ingress-nginx',
      requestedWeight: 0.1,
      achievedWeight: 0.1,
      canaryReplicas: 1,
      stableReplicas: 3,
    });
    expect(status.drift).toBeUndefined();
    // A restarted controller (a new router) sees the same weight.
    expect(await new IngressNginxRouter(world.kube).observe(world.target)).toEqual(status);
  });

  it('leaves the user Service and Ingresses as found after cleanup, and removes every canary object', async () => {
    const world = new World({ ingresses: [stableIngress('web'), stableIngress('web-admin', 'admin.example.com')] });
    const before = world.kube.all().filter((o) => ['Service', 'Ingress', 'Deployment'].includes(o.kind));
    const router = new IngressNginxRouter(world.kube);
    await router.prepare(world.target);
    world.addCanaryDeployment();
    world.scaleCanary(2);
    world.settle();
    await router.setWeight(world.target, 5);
    await router.setTesterRouting(world.target, { header: { name: 'X-Canary' } });
    await router.setWeight(world.target, 0, { dropTesterRouting: true });
    await router.cleanup(world.target);
    world.kube.remove({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: 'web-canary' });
    const after = world.kube.all().filter((o) => ['Service', 'Ingress', 'Deployment'].includes(o.kind));
    expect(after.map(userView)).toEqual(before.map(userView));
    expect(world.kube.writes().filter((w) => w.name === 'web' && w.kind === 'Ingress')).toEqual([]);
  });

  it('keeps annotations and labels others add to the Service during the release', async () => {
    const { world, router } = await prepared();
    world.kube.mutate<Service>(service('web'), (s) => {
      s.metadata.annotations = { ...s.metadata.annotations, 'external-dns.alpha.kubernetes.io/hostname': 'web.shop' };
      s.metadata.labels = { ...s.metadata.labels, tier: 'frontend' };
    });
    await router.cleanup(world.target);
    const restored = world.kube.peek<Service>(service('web'))!;
    expect(restored.spec.selector).toEqual({ app: 'web' });
    expect(restored.metadata.annotations).toEqual({
      'meta.helm.sh/release-name': 'web',
      'prometheus.io/scrape': 'true',
      'external-dns.alpha.kubernetes.io/hostname': 'web.shop',
    });
    expect(restored.metadata.labels?.tier).toBe('frontend');
  });

  it('reports what of its route exists and whether testers are routed (the controller asks nothing else)', async () => {
    const { world, router } = await prepared();
    expect(await router.observe(world.target)).toMatchObject({
      pieces: { complete: true, any: true },
      testersRouting: false,
    });
    await router.setTesterRouting(world.target, { header: { name: 'X-Canary', value: 'always' } });
    expect((await router.observe(world.target)).testersRouting).toBe(true);
    // A piece gone (the canary Service deleted): no step may start, and what is left asks for cleanup.
    world.kube.remove(service('web-canary'));
    expect((await router.observe(world.target)).pieces).toEqual({ complete: false, any: true });
    await router.cleanup(world.target);
    expect(await router.observe(world.target)).toMatchObject({
      pieces: { complete: false, any: false },
      testersRouting: false,
    });
  });

  it('is idempotent: prepare and cleanup again change nothing', async () => {
    const { world, router } = await prepared();
    await router.setWeight(world.target, 2);
    const mark = world.kube.calls.length;
    await router.prepare(world.target);
    expect(world.kube.writes(mark)).toEqual([]);
    expect(annotationsOf(world, 'web-canary')?.['nginx.ingress.kubernetes.io/canary-weight']).toBe('2');
    await router.cleanup(world.target);
    const cleaned = world.kube.calls.length;
    await router.cleanup(world.target);
    expect(world.kube.writes(cleaned)).toEqual([]);
  });
});

describe('ingress-nginx router: safety', () => {
  it('refuses a non-zero weight while the canary has no ready endpoints, without writing', async () => {
    const world = new World();
    const router = new IngressNginxRouter(world.kube);
    await router.prepare(world.target);
    world.addCanaryDeployment();
    world.canaryPodsReady = false;
    world.scaleCanary(1);
    world.settle();
    const mark = world.kube.calls.length;
    await rejects(router.setWeight(world.target, 1), 'NoReadyEndpoints', /web-canary has no ready endpoints/);
    await rejects(
      router.setTesterRouting(world.target, { cookie: 'canary' }),
      'NoReadyEndpoints',
      /header\/cookie routing/,
    );
    expect(world.kube.writes(mark)).toEqual([]);
  });

  it('refuses a weight while the previous canary’s pods are still ready behind the canary Service, without writing', async () => {
    // Issue 11: a release started during the previous one's drain delay takes the canary over;
    // until the roll replaces its pods, the canary route would send the new release's share to them.
    const { world, router } = await prepared();
    world.replaceCanaryTemplate('shop/web:2.2.0');
    const mark = world.kube.calls.length;
    await rejects(
      router.setWeight(world.target, 1),
      'OlderCanaryPods',
      new RegExp(`1 ready endpoint\\(s\\) behind the canary Service run another template.*web-canary-${CANARY_HASH}-0`),
    );
    await rejects(router.setTesterRouting(world.target, { cookie: 'canary' }), 'OlderCanaryPods', /header\/cookie/);
    expect(world.kube.writes(mark)).toEqual([]);
    expect(await router.observe(world.target)).toMatchObject({ canaryReplicas: 0, olderCanaryEndpoints: 1 });
  });

  it('reports the share the canary’s template really gets when older pods answer behind the route', async () => {
    const { world, router } = await prepared();
    await router.setWeight(world.target, 25);
    world.replaceCanaryTemplate('shop/web:2.2.0');
    const seen = await router.observe(world.target);
    expect(seen).toMatchObject({ requestedWeight: 25, achievedWeight: 0, canaryReplicas: 0 });
    expect(seen.detail).toMatch(/run another template than the canary's/);
  });

  it('goes to weight 0 with one write per canary Ingress and no read before it, dropping tester routing too', async () => {
    const world = new World({ ingresses: [stableIngress('web'), stableIngress('web-admin', 'admin.example.com')] });
    const router = new IngressNginxRouter(world.kube);
    await router.prepare(world.target);
    world.addCanaryDeployment();
    world.scaleCanary(1);
    world.settle();
    await router.setWeight(world.target, 25);
    await router.setTesterRouting(world.target, { header: { name: 'X-Canary', value: 'yes' } });
    const mark = world.kube.calls.length;
    const status = await router.setWeight(world.target, 0, { dropTesterRouting: true });
    const calls = world.kube.calls.slice(mark);
    expect(calls.slice(0, 2).map((c) => `${c.verb} ${c.kind} ${c.name}`)).toEqual([
      'mergePatch Ingress web-canary',
      'mergePatch Ingress web-admin-canary',
    ]);
    expect(world.kube.writes(mark)).toHaveLength(2);
    expect(status.achievedWeight).toBe(0);
    const annotations = annotationsOf(world, 'web-canary')!;
    expect(annotations['nginx.ingress.kubernetes.io/canary-weight']).toBe('0');
    expect(Object.keys(annotations).filter((key) => key.includes('canary-by-'))).toEqual([]);
  });

  it('keeps header and cookie routing on the canary Ingress alongside every weight, without drift', async () => {
    const { world, router } = await prepared();
    await router.setTesterRouting(world.target, { header: { name: 'X-Canary', value: 'always' }, cookie: 'tester' });
    for (const [weight, canaryWeight] of [
      [0.5, '5'],
      [5, '5'],
      [25, '25'],
    ] as const) {
      const status = await router.setWeight(world.target, weight);
      expect(annotationsOf(world, 'web-canary')).toMatchObject({
        'nginx.ingress.kubernetes.io/canary': 'true',
        'nginx.ingress.kubernetes.io/canary-weight': canaryWeight,
        'nginx.ingress.kubernetes.io/canary-by-header': 'X-Canary',
        'nginx.ingress.kubernetes.io/canary-by-header-value': 'always',
        'nginx.ingress.kubernetes.io/canary-by-cookie': 'tester',
      });
      expect(status).toMatchObject({ requestedWeight: weight, achievedWeight: weight });
      expect(status.drift).toBeUndefined();
    }
  });

  it('refuses tester routing while the canary has no ready endpoints, without writing', async () => {
    const world = new World();
    const router = new IngressNginxRouter(world.kube);
    await router.prepare(world.target);
    const mark = world.kube.calls.length;
    await rejects(
      router.setTesterRouting(world.target, { header: { name: 'X-Canary', value: 'always' } }),
      'NoReadyEndpoints',
      /header\/cookie routing would fail every request/,
    );
    expect(world.kube.writes(mark)).toEqual([]);
  });

  it('reaches weight 0 even when a canary Ingress was deleted by someone', async () => {
    const { world, router } = await prepared();
    world.kube.remove(ingress('web-canary'));
    const status = await router.setWeight(world.target, 0);
    expect(status.achievedWeight).toBe(0);
    expect(status.drift).toMatch(/canary Ingress web-canary is missing/);
  });

  it('reports drift when someone edits the weight, and setWeight puts it back', async () => {
    const { world, router } = await prepared();
    await router.setWeight(world.target, 5);
    world.kube.mutate<Ingress>(ingress('web-canary'), (i) => {
      i.metadata.annotations!['nginx.ingress.kubernetes.io/canary-weight'] = '50';
    });
    const drifted = await router.observe(world.target);
    expect(drifted).toMatchObject({ requestedWeight: 5, achievedWeight: 50 });
    expect(drifted.drift).toBe('canary Ingress web-canary sends 50 % (canary-weight 50/100) but canaryd set 5 %');
    world.kube.mutate<Ingress>(ingress('web-canary'), (i) => {
      i.metadata.annotations!['nginx.ingress.kubernetes.io/canary-weight'] = 'five';
    });
    expect((await router.observe(world.target)).drift).toMatch(/"five" is invalid and read as 0/);
    const corrected = await router.setWeight(world.target, drifted.requestedWeight);
    expect(corrected).toMatchObject({ achievedWeight: 5 });
    expect(corrected.drift).toBeUndefined();
  });

  it('reports an unpinned stable Service as drift', async () => {
    const { world, router } = await prepared();
    world.kube.mutate<Service>(service('web'), (s) => {
      s.spec.selector = { app: 'web' };
      delete s.metadata.annotations!['canaryd.dev/original-selector'];
    });
    expect((await router.observe(world.target)).drift).toMatch(/no longer pinned/);
    await rejects(router.setWeight(world.target, 1), 'NotPrepared', /not pinned/);
  });

  it('reports a removed pin key as drift even while the original selector is still recorded, and prepare re-pins', async () => {
    const { world, router } = await prepared();
    const pinnedHash = world.kube.peek<Service>(service('web'))!.spec.selector!['pod-template-hash'];
    world.kube.mutate<Service>(service('web'), (s) => {
      delete s.spec.selector!['pod-template-hash'];
    });
    expect((await router.observe(world.target)).drift).toMatch(/no longer pinned/);
    await router.prepare(world.target);
    expect(world.kube.peek<Service>(service('web'))!.spec.selector!['pod-template-hash']).toBe(pinnedHash);
    expect((await router.observe(world.target)).drift).toBeUndefined();
  });

  it('reports a label added to the pinned stable selector, and prepare puts back exactly the pinned selector', async () => {
    const { world, router } = await prepared();
    const pinnedSelector = { ...world.kube.peek<Service>(service('web'))!.spec.selector };
    world.kube.mutate<Service>(service('web'), (s) => {
      s.spec.selector = { ...s.spec.selector, edited: 'by-someone' };
    });
    expect((await router.observe(world.target)).drift).toMatch(/Service web selector was changed to .*"edited"/);
    await router.prepare(world.target);
    expect(world.kube.peek<Service>(service('web'))!.spec.selector).toEqual(pinnedSelector);
    expect((await router.observe(world.target)).drift).toBeUndefined();
  });

  it('reports a canary Service pointed at other pods, and prepare makes it select the canary pods again', async () => {
    const { world, router } = await prepared();
    const canarySelector = { ...world.kube.peek<Service>(service('web-canary'))!.spec.selector };
    expect(canarySelector).toEqual({ app: 'web', 'canaryd.dev/track': 'canary' });
    world.kube.mutate<Service>(service('web-canary'), (s) => {
      s.spec.selector = { app: 'web' };
    });
    expect((await router.observe(world.target)).drift).toMatch(
      /canary Service web-canary selects \{"app":"web"\} instead of the canary pods/,
    );
    await router.prepare(world.target);
    expect(world.kube.peek<Service>(service('web-canary'))!.spec.selector).toEqual(canarySelector);
    expect((await router.observe(world.target)).drift).toBeUndefined();
  });
});

describe('ingress-nginx router: refusals before any write', () => {
  const refusesCleanly = async (world: World, code: TrafficErrorCode, message: RegExp) => {
    const mark = world.kube.calls.length;
    await rejects(new IngressNginxRouter(world.kube).prepare(world.target), code, message);
    expect(world.kube.writes(mark)).toEqual([]);
  };

  it('refuses when another canary Ingress covers the same host and path', async () => {
    const world = new World();
    const flagger = stableIngress('web-primary-canary');
    flagger.metadata.annotations = { 'nginx.ingress.kubernetes.io/canary': 'true' };
    world.kube.seed(flagger);
    await refusesCleanly(
      world,
      'IngressConflict',
      /canary Ingress web-primary-canary already covers host shop.example.com path \//,
    );
  });

  it('refuses to take over an Ingress or Service named like its canary that is not canaryd’s', async () => {
    const world = new World();
    world.kube.seed({ ...stableIngress('web-canary', 'beta.example.com') });
    await refusesCleanly(world, 'NotManaged', /Ingress shop\/web-canary exists and is not canaryd's/);
    const other = new World();
    other.kube.seed({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web-canary', namespace: NS }, spec: {} });
    await refusesCleanly(other, 'NotManaged', /Service shop\/web-canary exists/);
  });

  it('refuses while the stable Deployment is mid-rollout (pods of two ReplicaSets)', async () => {
    const world = new World();
    world.kube.mutate({ apiVersion: 'apps/v1', kind: 'ReplicaSet', namespace: NS, name: 'web-3b2a1c0d9' }, (rs) => {
      (rs.spec as { replicas: number }).replicas = 1;
    });
    await refusesCleanly(world, 'MidRollout', /web-5d4f8b9c7, web-3b2a1c0d9|web-3b2a1c0d9, web-5d4f8b9c7/);
  });

  it('refuses names it cannot find, and a target without Ingresses', async () => {
    const world = new World();
    world.target.service = 'webb';
    await refusesCleanly(world, 'NotFound', /Service shop\/webb does not exist; check target.service/);
    world.target.service = 'web';
    world.target.ingresses = ['nope'];
    await refusesCleanly(world, 'NotFound', /Ingress shop\/nope does not exist/);
    world.target.ingresses = [];
    await refusesCleanly(world, 'NoRoute', /needs at least one Ingress/);
  });

  it('sizes the canary for the weight, keeping one pod for testers at weight 0', () => {
    const world = new World({ stableReplicas: 10 });
    const router = new IngressNginxRouter(world.kube);
    expect([0, 0.1, 5, 25, 50, 100].map((w) => router.desiredCanaryReplicas(world.target, w))).toEqual([
      1, 1, 1, 3, 5, 10,
    ]);
  });
});

describe('ingress-nginx router: the routes of a running release', () => {
  const lookup = (choose: () => Promise<{ ingresses: string[]; httpRoutes: string[] }>, deleting = false) => ({
    namespace: NS,
    policy: 'web',
    named: { ingresses: [], httpRoutes: [] },
    choose,
    deleting,
  });
  const noIngress = () =>
    Promise.reject(new Error('router ingress-nginx was requested, but no Ingress routes to Service web'));

  it('keeps the Ingress it made a canary of after the user’s Ingress is gone, and finds it again when deleted', async () => {
    const { world, router } = await prepared();
    world.kube.remove(ingress('web'));
    expect(await router.routesOfRelease(lookup(noIngress))).toEqual({ ingresses: ['web'], httpRoutes: [] });
    expect(await router.routesOfRelease(lookup(noIngress, true))).toEqual({
      ingresses: ['web'],
      httpRoutes: [],
    });
  });

  it('fails with the choice’s error when no Ingress and no canary copy is left, except for a deleted policy', async () => {
    const world = new World({ ingresses: [] });
    const router = new IngressNginxRouter(world.kube);
    await expect(router.routesOfRelease(lookup(noIngress))).rejects.toThrow(/no Ingress routes to Service web/);
    expect(await router.routesOfRelease(lookup(noIngress, true))).toEqual({ ingresses: [], httpRoutes: [] });
  });
});
