import { describe, expect, it } from 'vitest';
import type { Service } from '../../src/kube/objects.ts';
import { isTrafficError, type TrafficErrorCode } from '../../src/traffic/errors.ts';
import { GatewayApiRouter } from '../../src/traffic/gateway-api.ts';
import { type HTTPRoute, httpRouteRef } from '../../src/traffic/httproute.ts';
import { NS, STABLE_HASH, userView, World } from './world.ts';

const service = (name: string) => ({ apiVersion: 'v1', kind: 'Service', namespace: NS, name });

const httpRoute = (name = 'web', rules?: HTTPRoute['spec']['rules']): HTTPRoute => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'HTTPRoute',
  metadata: { name, namespace: NS, labels: { app: 'web' }, annotations: { 'argocd.argoproj.io/tracking-id': 'x' } },
  spec: {
    parentRefs: [{ name: 'public', namespace: 'infra' }],
    hostnames: ['shop.example.com'],
    rules: rules ?? [
      {
        matches: [{ path: { type: 'PathPrefix', value: '/' } }],
        backendRefs: [{ group: '', kind: 'Service', name: 'web', port: 80, weight: 1 }],
      },
      {
        matches: [{ path: { type: 'PathPrefix', value: '/static' } }],
        backendRefs: [{ group: '', kind: 'Service', name: 'assets', port: 80, weight: 1 }],
      },
    ],
  },
});

const routeOf = (world: World, name = 'web') => world.kube.peek<HTTPRoute>(httpRouteRef(NS, name))!;

/** The Gateway controller: reports on the route's current generation. */
const gatewayReports = (
  world: World,
  name = 'web',
  resolved: { status: 'True' | 'False'; reason: string } = { status: 'True', reason: 'ResolvedRefs' },
) => {
  world.kube.mutate<HTTPRoute>(httpRouteRef(NS, name), (route) => {
    const generation = route.metadata.generation ?? 1;
    route.status = {
      parents: [
        {
          parentRef: { name: 'public', namespace: 'infra' },
          controllerName: 'traefik.io/gateway-controller',
          conditions: [
            { type: 'Accepted', status: 'True', reason: 'Accepted', observedGeneration: generation },
            {
              type: 'ResolvedRefs',
              ...resolved,
              message: resolved.status === 'False' ? 'backend not found' : '',
              observedGeneration: generation,
            },
          ],
        },
      ],
    };
  });
};

const rejects = async (promise: Promise<unknown>, code: TrafficErrorCode, message: RegExp) => {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(isTrafficError(error, code), String(error)).toBe(true);
  expect((error as Error).message).toMatch(message);
};

const prepared = async (routes = [httpRoute()]) => {
  const world = new World({ ingresses: [], httpRoutes: routes });
  const router = new GatewayApiRouter(world.kube);
  await router.prepare(world.target);
  for (const route of routes) gatewayReports(world, route.metadata.name);
  world.addCanaryDeployment();
  world.scaleCanary(1);
  world.settle();
  return { world, router };
};

describe('gateway-api router: a release from prepare to cleanup', () => {
  it('pins the stable Service, creates the canary Service, then adds the canary backendRef at weight 0', async () => {
    const world = new World({ ingresses: [], httpRoutes: [httpRoute()] });
    const router = new GatewayApiRouter(world.kube);
    await router.prepare(world.target);
    const writes = world.kube.writes().map((call) => `${call.verb} ${call.kind} ${call.name}`);
    expect(writes).toEqual(['mergePatch Service web', 'create Service web-canary', 'apply HTTPRoute web']);
    expect(world.kube.peek<Service>(service('web'))!.spec.selector).toEqual({
      app: 'web',
      'pod-template-hash': STABLE_HASH,
    });
    const route = routeOf(world);
    expect(route.spec.rules![0]!.backendRefs).toEqual([
      { group: '', kind: 'Service', name: 'web', port: 80, weight: 1 },
      { group: '', kind: 'Service', name: 'web-canary', port: 80, weight: 0 },
    ]);
    expect(route.spec.rules![1]).toEqual(httpRoute().spec.rules![1]);
    // The apply sends only what canaryd owns, with the resourceVersion it planned from.
    const apply = world.kube.writes().at(-1)!.body as HTTPRoute;
    expect(Object.keys(apply.spec)).toEqual(['rules']);
    expect(apply.metadata.resourceVersion).toBeDefined();
    expect(Object.keys(apply.metadata.annotations!)).toEqual(['canaryd.dev/httproute']);
    // A second prepare writes nothing.
    const before = world.kube.writes().length;
    await router.prepare(world.target);
    expect(world.kube.writes().length).toBe(before);
  });

  it('weighs the canary (sub-percent through larger totals) and reports the route as written', async () => {
    const { world, router } = await prepared();
    const five = await router.setWeight(world.target, 5);
    expect(routeOf(world).spec.rules![0]!.backendRefs!.map((ref) => ref.weight)).toEqual([95, 5]);
    expect(five).toMatchObject({
      router: 'gateway-api',
      requestedWeight: 5,
      achievedWeight: 5,
      canaryReplicas: 1,
      stableReplicas: 3,
    });
    expect(five.drift).toBeUndefined();
    gatewayReports(world);
    const tenth = await router.setWeight(world.target, 0.1);
    expect(routeOf(world).spec.rules![0]!.backendRefs!.map((ref) => ref.weight)).toEqual([999, 1]);
    expect(tenth.achievedWeight).toBeCloseTo(0.1, 9);
    expect(tenth.detail).toContain('rule 0 1/1000');
  });

  it('puts the route, the Services and nothing else back exactly at cleanup', async () => {
    const original = httpRoute();
    const { world, router } = await prepared([original]);
    await router.setTesterRouting(world.target, { header: { name: 'X-Canary' } });
    gatewayReports(world);
    await router.setWeight(world.target, 50);
    await router.setWeight(world.target, 0, { dropTesterRouting: true });
    await router.cleanup(world.target);
    const after = userView(routeOf(world))!;
    expect(after.spec).toEqual(original.spec);
    expect(after.metadata.annotations).toEqual(original.metadata.annotations);
    expect(after.metadata.labels).toEqual(original.metadata.labels);
    expect(world.kube.peek(service('web-canary'))).toBeUndefined();
    expect(world.kube.peek<Service>(service('web'))!.spec.selector).toEqual({ app: 'web' });
    expect(
      world.kube.peek<Service>(service('web'))!.metadata.annotations?.['canaryd.dev/original-selector'],
    ).toBeUndefined();
  });

  it('weighs every route and rule that sends to the Service', async () => {
    const api = httpRoute('web-api', [
      { matches: [{ path: { type: 'PathPrefix', value: '/v1' } }], backendRefs: [{ name: 'web', port: 8080 }] },
      { matches: [{ path: { type: 'PathPrefix', value: '/v2' } }], backendRefs: [{ name: 'web', port: 8080 }] },
    ]);
    const { world, router } = await prepared([httpRoute(), api]);
    await router.setWeight(world.target, 25);
    expect(routeOf(world, 'web-api').spec.rules!.map((rule) => rule.backendRefs)).toEqual([
      [
        { name: 'web', port: 8080, weight: 75 },
        { name: 'web-canary', port: 8080, weight: 25 },
      ],
      [
        { name: 'web', port: 8080, weight: 75 },
        { name: 'web-canary', port: 8080, weight: 25 },
      ],
    ]);
    await router.cleanup(world.target);
    expect(userView(routeOf(world, 'web-api'))!.spec).toEqual(api.spec);
  });
});

describe('gateway-api router: safety', () => {
  it('refuses weight while the canary has no ready endpoints or the Gateway has not accepted the route', async () => {
    const world = new World({ ingresses: [], httpRoutes: [httpRoute()] });
    const router = new GatewayApiRouter(world.kube);
    await router.prepare(world.target);
    world.addCanaryDeployment();
    world.scaleCanary(1);
    world.settle();
    await rejects(
      router.setWeight(world.target, 5),
      'RouteNotAccepted',
      /no Gateway has reported on HTTPRoute shop\/web/,
    );
    gatewayReports(world, 'web', { status: 'False', reason: 'BackendNotFound' });
    await rejects(
      router.setWeight(world.target, 5),
      'RouteNotAccepted',
      /Gateway infra\/public \(traefik.io\/gateway-controller\): ResolvedRefs is False \(BackendNotFound: backend not found\)/,
    );
    const observed = await router.observe(world.target);
    expect(observed.rejected).toMatch(/ResolvedRefs is False \(BackendNotFound/);
    expect(observed.pieces).toEqual({ complete: false, any: true });
    world.scaleCanary(0);
    world.settle();
    gatewayReports(world);
    await rejects(router.setWeight(world.target, 5), 'NoReadyEndpoints', /web-canary has no ready endpoints/);
    expect(routeOf(world).spec.rules![0]!.backendRefs![1]!.weight).toBe(0);
  });

  it('with its HTTPRoute gone (a namespace being deleted) it still observes, takes weight 0 and cleans up', async () => {
    const { world, router } = await prepared();
    await router.setWeight(world.target, 5);
    world.kube.remove(httpRouteRef(NS, 'web'));
    const target = { ...world.target, httpRoutes: [] };
    const observed = await router.observe(target);
    expect(observed.requestedWeight).toBe(0);
    expect(observed.pieces).toEqual({ complete: false, any: true });
    await router.setWeight(target, 0, { dropTesterRouting: true });
    await router.setTesterRouting(target, undefined);
    await router.cleanup(target);
    expect(world.kube.peek(service('web-canary'))).toBeUndefined();
    expect((await router.observe(target)).pieces).toEqual({ complete: false, any: false });
    // A release still needs a route.
    await rejects(router.prepare(target), 'NoRoute', /needs at least one HTTPRoute/);
  });

  it('a status of an older generation is not acceptance of the last write', async () => {
    const { world, router } = await prepared();
    await router.setWeight(world.target, 1);
    expect((await router.observe(world.target)).pieces?.complete).toBe(false);
    await rejects(router.setWeight(world.target, 5), 'RouteNotAccepted', /has not reported Accepted for generation 3/);
    gatewayReports(world);
    expect((await router.observe(world.target)).pieces?.complete).toBe(true);
  });

  it('weight 0 needs no Gateway, no ready canary and no route: a rollback is never refused', async () => {
    const { world, router } = await prepared();
    await router.setWeight(world.target, 5);
    world.scaleCanary(0);
    world.settle();
    gatewayReports(world, 'web', { status: 'False', reason: 'BackendNotFound' });
    await router.setWeight(world.target, 0);
    expect(routeOf(world).spec.rules![0]!.backendRefs!.map((ref) => ref.weight)).toEqual([1, 0]);
    world.kube.remove(httpRouteRef(NS, 'web'));
    await expect(router.setWeight(world.target, 0)).resolves.toMatchObject({ achievedWeight: 0 });
  });

  it('reports drift when someone edits the weights or removes the canary backendRef; prepare and setWeight put it back', async () => {
    const { world, router } = await prepared();
    await router.setWeight(world.target, 5);
    world.kube.mutate<HTTPRoute>(httpRouteRef(NS, 'web'), (route) => {
      route.spec.rules![0]!.backendRefs = [route.spec.rules![0]!.backendRefs![0]!];
    });
    const observed = await router.observe(world.target);
    expect(observed.drift).toBe('HTTPRoute shop/web rule 0 has no backendRef to web-canary');
    expect(observed.pieces?.complete).toBe(false);
    // prepare alone puts the route back as recorded, at the weight it carried.
    await router.prepare(world.target);
    expect(routeOf(world).spec.rules![0]!.backendRefs!.map((ref) => ref.weight)).toEqual([95, 5]);
    gatewayReports(world);
    await router.setWeight(world.target, 5);
    expect(routeOf(world).spec.rules![0]!.backendRefs!.map((ref) => ref.weight)).toEqual([95, 5]);
    expect((await router.observe(world.target)).drift).toBeUndefined();
  });

  it('retries a write that lost a race from the route as the other writer left it', async () => {
    const { world, router } = await prepared();
    world.kube.failNext('apply', 'Conflict');
    await router.setWeight(world.target, 5);
    expect(world.kube.calls.filter((call) => call.verb === 'apply').length).toBeGreaterThanOrEqual(2);
    expect(routeOf(world).spec.rules![0]!.backendRefs!.map((ref) => ref.weight)).toEqual([95, 5]);
  });

  it('refuses in prepare, before any write, a route it cannot split and a canary Service that is not its own', async () => {
    const shared = httpRoute('web', [
      {
        backendRefs: [
          { name: 'web', port: 80, weight: 9 },
          { name: 'web-v2', port: 80, weight: 1 },
        ],
      },
    ]);
    const world = new World({ ingresses: [], httpRoutes: [shared] });
    const router = new GatewayApiRouter(world.kube);
    await rejects(router.prepare(world.target), 'NotManaged', /rule 0 sends to Service web and to web-v2/);
    expect(world.kube.writes()).toEqual([]);
    const other = new World({ ingresses: [], httpRoutes: [httpRoute()] });
    other.kube.seed({ ...other.kube.peek<Service>(service('web'))!, metadata: { name: 'web-canary', namespace: NS } });
    await rejects(
      new GatewayApiRouter(other.kube).prepare(other.target),
      'NotManaged',
      /web-canary exists and is not canaryd's/,
    );
    expect(other.kube.writes()).toEqual([]);
  });

  it('cleanup tolerates a deleted route, a deleted Service and a second run', async () => {
    const { world, router } = await prepared();
    await router.setWeight(world.target, 5);
    world.kube.remove(httpRouteRef(NS, 'web'));
    world.kube.remove(service('web'));
    await router.cleanup(world.target);
    await router.cleanup(world.target);
    expect(world.kube.peek(service('web-canary'))).toBeUndefined();
  });
});

describe('gateway-api router: testers', () => {
  it('adds a rule sending header and cookie testers to the canary only, kept across weights, dropped on rollback', async () => {
    const { world, router } = await prepared();
    await router.setTesterRouting(world.target, { header: { name: 'X-Canary', value: 'yes' }, cookie: 'canary' });
    expect((await router.observe(world.target)).testersRouting).toBe(true);
    const testers = routeOf(world).spec.rules![2]!;
    expect(testers.backendRefs).toEqual([{ group: '', kind: 'Service', name: 'web-canary', port: 80, weight: 1 }]);
    expect(testers.matches!.map((match) => match.headers)).toEqual([
      [{ type: 'Exact', name: 'X-Canary', value: 'yes' }],
      [{ type: 'RegularExpression', name: 'Cookie', value: '(^|;\\s*)canary=always(;|$)' }],
    ]);
    gatewayReports(world);
    await router.setWeight(world.target, 5);
    expect(routeOf(world).spec.rules).toHaveLength(3);
    await router.setWeight(world.target, 0, { dropTesterRouting: true });
    expect(routeOf(world).spec.rules).toHaveLength(2);
    expect((await router.observe(world.target)).testersRouting).toBe(false);
  });

  it('refuses a weight while the previous canary’s pods are still ready behind the canary Service', async () => {
    // Issue 11: the canary Deployment taken over by the next release, its old pods not yet replaced.
    const { world, router } = await prepared();
    world.replaceCanaryTemplate('shop/web:2.2.0');
    await rejects(router.setWeight(world.target, 5), 'OlderCanaryPods', /run another template than the canary's/);
    expect(await router.observe(world.target)).toMatchObject({ canaryReplicas: 0, olderCanaryEndpoints: 1 });
  });

  it('refuses tester routing before the canary is ready', async () => {
    const world = new World({ ingresses: [], httpRoutes: [httpRoute()] });
    const router = new GatewayApiRouter(world.kube);
    await router.prepare(world.target);
    gatewayReports(world);
    await rejects(
      router.setTesterRouting(world.target, { header: { name: 'X-Canary' } }),
      'NoReadyEndpoints',
      /no ready endpoints/,
    );
  });
});

describe('gateway-api router: the API server’s key order', () => {
  it('a route read back with its keys in another order is not written again', async () => {
    const { world, router } = await prepared();
    await router.setTesterRouting(world.target, { header: { name: 'X-Canary' } });
    // The API server serializes maps in its own order: reverse every object's keys.
    const reorder = (value: unknown): unknown =>
      Array.isArray(value)
        ? value.map(reorder)
        : value !== null && typeof value === 'object'
          ? Object.fromEntries(
              Object.entries(value)
                .reverse()
                .map(([k, v]) => [k, reorder(v)]),
            )
          : value;
    world.kube.mutate<HTTPRoute>(httpRouteRef(NS, 'web'), (route) => {
      route.spec.rules = reorder(route.spec.rules) as HTTPRoute['spec']['rules'];
    });
    gatewayReports(world);
    const before = world.kube.writes().length;
    await router.prepare(world.target);
    await router.setTesterRouting(world.target, { header: { name: 'X-Canary' } });
    await router.setWeight(world.target, 0);
    expect(world.kube.writes().length).toBe(before);
  });
});

describe('gateway-api router: the routes of a running release', () => {
  const lookup = (
    httpRoutes: string[],
    choose: () => Promise<{ ingresses: string[]; httpRoutes: string[] }>,
    deleting = false,
  ) => ({
    namespace: NS,
    policy: 'web',
    named: { ingresses: [], httpRoutes },
    choose,
    deleting,
  });
  const none = () =>
    Promise.reject(new Error('router gateway-api was requested, but no HTTPRoute sends to Service web'));

  it('keeps the routes the policy names, finds them again when it names none, and tolerates none left only when deleted', async () => {
    const router = new GatewayApiRouter(new World().kube);
    const found = () => Promise.resolve({ ingresses: [], httpRoutes: ['web'] });
    expect(await router.routesOfRelease(lookup(['named'], none))).toEqual({ ingresses: [], httpRoutes: ['named'] });
    expect(await router.routesOfRelease(lookup([], found))).toEqual({ ingresses: [], httpRoutes: ['web'] });
    await expect(router.routesOfRelease(lookup([], none))).rejects.toThrow(/no HTTPRoute sends to Service web/);
    expect(await router.routesOfRelease(lookup([], none, true))).toEqual({ ingresses: [], httpRoutes: [] });
  });
});
