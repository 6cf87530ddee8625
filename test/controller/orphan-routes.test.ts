// A policy deleted mid-release without its finalizer left more than its Deployment: the stable
// Service pinned to the stable pods' pod-template-hash (the next roll would leave it with no
// endpoints) and, with Gateway API, the user's HTTPRoute weighing a canary Service the garbage
// collector removes with the policy (that share of requests would fail). The sweep puts both back
// from the records canaryd left on them, before the Deployment. The routes here are written by the
// real routers (prepare, setWeight) over the fake API server.
import { describe, expect, it } from 'vitest';
import { MANAGED_LABEL } from '../../src/controller/names.ts';
import { leftBy, orphanServiceDecision } from '../../src/controller/orphan.ts';
import type { Deployment, KubeObject, ObjectRef, Service } from '../../src/kube/objects.ts';
import { GatewayApiRouter } from '../../src/traffic/gateway-api.ts';
import { type HTTPRoute, httpRouteRef } from '../../src/traffic/httproute.ts';
import { IngressNginxRouter } from '../../src/traffic/ingress-nginx.ts';
import { OWNER_POLICY, OWNER_POLICY_UID } from '../../src/traffic/labels.ts';
import { ReplicaRatioRouter } from '../../src/traffic/replica-ratio.ts';
import { NS, STABLE_HASH, stableService, userView, World } from '../traffic/world.ts';
import { policyRefOf, sweepOver } from './orphan-fixtures.ts';

const serviceRef = { apiVersion: 'v1', kind: 'Service', namespace: NS, name: 'web' };
const deploymentRef = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: 'web' };
const policy = (name: string): KubeObject => ({
  apiVersion: 'canaryd.dev/v1alpha1',
  kind: 'CanaryPolicy',
  metadata: { name, namespace: NS, uid: `uid-${name}` },
});

const httpRoute = (): HTTPRoute => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'HTTPRoute',
  metadata: { name: 'web', namespace: NS, labels: { app: 'web' } },
  spec: {
    parentRefs: [{ name: 'public', namespace: 'infra' }],
    hostnames: ['shop.example.com'],
    rules: [
      {
        matches: [{ path: { type: 'PathPrefix', value: '/' } }],
        backendRefs: [{ group: '', kind: 'Service', name: 'web', port: 80, weight: 1 }],
      },
    ],
  },
});

/** What the user wrote: metadata and spec (a route's status is its Gateway's). */
const written = (object: KubeObject | undefined) => {
  const { metadata, spec } = userView(object) as KubeObject & { spec: unknown };
  return { metadata, spec };
};
const routeAsFound = (world: World) => written(world.kube.peek(httpRouteRef(NS, 'web')));
const serviceAsFound = (world: World) => written(world.kube.peek(serviceRef));

/** The stable Deployment as a release left it: marked by shop/web (with `uid`), paused on a new template no pod runs. */
const markMidRelease = (world: World, uid?: string) =>
  world.kube.mutate<Deployment>(deploymentRef, (d) => {
    d.metadata.labels = { ...d.metadata.labels, [MANAGED_LABEL]: 'true' };
    const mark: Record<string, string> = uid === undefined ? {} : { [OWNER_POLICY_UID]: uid };
    d.metadata.annotations = { ...d.metadata.annotations, [OWNER_POLICY]: `${NS}/web`, ...mark };
    d.spec.template = { ...d.spec.template, spec: { containers: [{ name: 'web', image: 'shop/web:3.0.0' }] } };
    d.metadata.generation = 2;
    d.status = { ...d.status, observedGeneration: 2, updatedReplicas: 0 };
  });

/** The Gateway controller accepts the route's current generation. */
const gatewayAccepts = (world: World) =>
  world.kube.mutate<HTTPRoute>(httpRouteRef(NS, 'web'), (route) => {
    const observedGeneration = route.metadata.generation ?? 1;
    route.status = {
      parents: [
        {
          parentRef: { name: 'public', namespace: 'infra' },
          controllerName: 'traefik.io/gateway-controller',
          conditions: [
            { type: 'Accepted', status: 'True', reason: 'Accepted', observedGeneration },
            { type: 'ResolvedRefs', status: 'True', reason: 'ResolvedRefs', observedGeneration },
          ],
        },
      ],
    };
  });

/**
 * A gateway-api release at 10 % whose policy was deleted without its finalizer (so none is in the
 * caches); with `uid`, the policy's records carry its uid, as canaryd writes them since 2026-12-05.
 */
async function gatewayReleaseLeftBehind(uid?: string) {
  const world = new World({ ingresses: [], httpRoutes: [httpRoute()] });
  if (uid !== undefined)
    world.target.owner = { apiVersion: 'canaryd.dev/v1alpha1', kind: 'CanaryPolicy', name: 'web', uid };
  const found = { route: routeAsFound(world), service: serviceAsFound(world) };
  const router = new GatewayApiRouter(world.kube);
  await router.prepare(world.target);
  gatewayAccepts(world);
  world.addCanaryDeployment();
  world.scaleCanary(1);
  world.settle();
  await router.setWeight(world.target, 10);
  markMidRelease(world, uid);
  return { world, found };
}

describe('what a policy gone mid-release left on the routes', () => {
  it('names the policy that pinned a Service, weighed an HTTPRoute, marked a Deployment; nothing else', async () => {
    const { world } = await gatewayReleaseLeftBehind();
    const left = (ref: ObjectRef) => leftBy(world.kube.peek(ref)!);
    expect(left(serviceRef)).toEqual({ policy: `${NS}/web` });
    expect(left(httpRouteRef(NS, 'web'))).toEqual({ policy: `${NS}/web` });
    expect(left(deploymentRef)).toEqual({ policy: `${NS}/web` });
    // The canary Service is the policy's own (a ControllerRef): the garbage collector's, not the sweep's.
    expect(left({ ...serviceRef, name: 'web-canary' })).toBeUndefined();
    expect(leftBy(stableService())).toBeUndefined();
    expect(leftBy(httpRoute())).toBeUndefined();
  });

  it('a pinned Service: its selector as recorded, the pin and its record gone, against the version decided on', async () => {
    const { world } = await gatewayReleaseLeftBehind();
    const pinned = world.kube.peek<Service>(serviceRef)!;
    expect(pinned.spec.selector).toEqual({ app: 'web', 'pod-template-hash': STABLE_HASH });
    const decision = orphanServiceDecision(pinned, { policy: `${NS}/web` });
    expect(decision).toEqual({
      kind: 'handBack',
      patch: {
        metadata: {
          annotations: { 'canaryd.dev/original-selector': null, [OWNER_POLICY]: null, [OWNER_POLICY_UID]: null },
          resourceVersion: pinned.metadata.resourceVersion,
        },
        spec: { selector: { app: 'web', 'pod-template-hash': null } },
      },
      event: {
        type: 'Normal',
        reason: 'Released',
        message:
          'CanaryPolicy shop/web is gone without handing this Service back (its finalizer was removed): ' +
          'canaryd put its selector back to {"app":"web"}',
      },
    });
  });
});

describe('the sweep for what a policy gone mid-release left', () => {
  it('gateway-api: the HTTPRoute as the user wrote it, then the Service unpinned, then the Deployment unmarked', async () => {
    const { world, found } = await gatewayReleaseLeftBehind();
    const weighed = world.kube.peek<HTTPRoute>(httpRouteRef(NS, 'web'))!;
    expect(weighed.spec.rules![0]!.backendRefs!.map((r) => [r.name, r.weight])).toEqual([
      ['web', 90],
      ['web-canary', 10],
    ]);
    const { sweep, events, messages } = sweepOver(world.kube);
    await sweep.start();
    expect(routeAsFound(world)).toEqual(found.route);
    expect(serviceAsFound(world)).toEqual(found.service);
    const deployment = world.kube.peek<Deployment>(deploymentRef)!;
    expect(deployment.metadata.labels?.[MANAGED_LABEL]).toBeUndefined();
    expect(deployment.spec.paused).toBe(true); // its new template never ran a check
    expect(events).toEqual([
      { name: 'HTTPRoute/web', type: 'Normal', reason: 'Released' },
      { name: 'Service/web', type: 'Normal', reason: 'Released' },
      { name: 'Deployment/web', type: 'Warning', reason: 'ReleaseAbandoned' },
    ]);
    expect(messages[0]).toBe(
      'CanaryPolicy shop/web is gone without handing this HTTPRoute back (its finalizer was removed): ' +
        'canaryd removed its canary backendRefs and put back the weights it recorded',
    );
    // Once handed back, a second look writes nothing.
    const writes = world.kube.writes().length;
    await sweep.start();
    expect(world.kube.writes().length).toBe(writes);
  });

  it('ingress-nginx: the stable Service unpinned (the canary Ingress is the policy’s own, for the garbage collector)', async () => {
    const world = new World();
    const found = { service: serviceAsFound(world) };
    await new IngressNginxRouter(world.kube).prepare(world.target);
    markMidRelease(world);
    expect(leftBy(world.kube.peek(serviceRef)!)).toEqual({ policy: `${NS}/web` });
    const { sweep, events } = sweepOver(world.kube);
    await sweep.start();
    expect(serviceAsFound(world)).toEqual(found.service);
    expect(events.map((e) => `${e.name} ${e.reason}`)).toEqual([
      'Service/web Released',
      'Deployment/web ReleaseAbandoned',
    ]);
  });

  it('replica-ratio: the record of the selector goes, the selector itself was never changed', async () => {
    const world = new World({ ingresses: [] });
    const found = { service: serviceAsFound(world) };
    await new ReplicaRatioRouter(world.kube).prepare(world.target);
    markMidRelease(world);
    expect(leftBy(world.kube.peek(serviceRef)!)).toEqual({ policy: `${NS}/web` });
    const { sweep, events, messages } = sweepOver(world.kube);
    await sweep.start();
    expect(serviceAsFound(world)).toEqual(found.service);
    expect(events.map((e) => `${e.name} ${e.reason}`)).toEqual([
      'Service/web Released',
      'Deployment/web ReleaseAbandoned',
    ]);
    expect(messages[0]).toContain('canaryd removed its record of the selector (canaryd.dev/release-selector)');
  });

  it('a policy this replica holds, or another shard’s: its route and Service are left as they are', async () => {
    for (const others of [[], [`${NS}/web`]]) {
      const { world } = await gatewayReleaseLeftBehind();
      if (others.length === 0) world.kube.seed(policy('web'));
      const before = world.kube.writes().length;
      const { sweep, events } = sweepOver(world.kube, others);
      await sweep.start();
      expect(world.kube.writes().length).toBe(before);
      expect(events).toEqual([]);
    }
  });

  it('a policy leaving the cache while canaryd runs: its route and Service are put back too', async () => {
    const { world, found } = await gatewayReleaseLeftBehind();
    world.kube.seed(policy('web'));
    const { sweep, events } = sweepOver(world.kube);
    await sweep.start();
    world.kube.remove(policyRefOf('web'));
    sweep.onEvent('delete', policy('web'));
    await sweep.idle();
    expect(routeAsFound(world)).toEqual(found.route);
    expect(events.map((e) => e.name)).toEqual(['HTTPRoute/web', 'Service/web', 'Deployment/web']);
  });

  it('a policy of the same name created again (another uid): what the earlier one left is still handed back', async () => {
    const { world, found } = await gatewayReleaseLeftBehind('uid-earlier');
    const records = [serviceRef, httpRouteRef(NS, 'web'), deploymentRef].map((ref) => leftBy(world.kube.peek(ref)!));
    expect(records).toEqual(Array(3).fill({ policy: `${NS}/web`, uid: 'uid-earlier' }));
    world.kube.seed(policy('web')); // GitOps put it back: uid-web, held by this replica
    const { sweep, events, messages, asked } = sweepOver(world.kube, [`${NS}/web`]);
    await sweep.start();
    expect(asked).toEqual([[`${NS}/web#uid-earlier`]]);
    expect(routeAsFound(world)).toEqual(found.route);
    expect(serviceAsFound(world)).toEqual(found.service);
    const deployment = world.kube.peek<Deployment>(deploymentRef)!;
    expect(deployment.metadata.labels?.[MANAGED_LABEL]).toBeUndefined();
    expect(deployment.metadata.annotations?.[OWNER_POLICY_UID]).toBeUndefined();
    expect(deployment.spec.paused).toBe(true); // v3 passed no check: the new policy does not roll it either
    expect(events.map((e) => `${e.name} ${e.reason}`)).toEqual([
      'HTTPRoute/web Released',
      'Service/web Released',
      'Deployment/web ReleaseAbandoned',
    ]);
    expect(messages[2]).toContain(
      'CanaryPolicy shop/web (uid uid-earlier) is gone without handing this Deployment back',
    );
  });

  it('a policy of the name with a stable revision in its status (restored with it under a new uid): left to it', async () => {
    const { world } = await gatewayReleaseLeftBehind('uid-earlier');
    world.kube.seed({ ...policy('web'), status: { release: { stable: { revision: 1 } } } } as KubeObject);
    const before = world.kube.writes().length;
    const { sweep, events } = sweepOver(world.kube);
    await sweep.start();
    expect(world.kube.writes().length).toBe(before);
    expect(events).toEqual([]);
  });

  it('the policy that left them, still held (the same uid): its route, Service and Deployment are left to it', async () => {
    const { world } = await gatewayReleaseLeftBehind('uid-web');
    world.kube.seed(policy('web'));
    const before = world.kube.writes().length;
    const { sweep, events, asked } = sweepOver(world.kube);
    await sweep.start();
    expect(asked).toEqual([]);
    expect(world.kube.writes().length).toBe(before);
    expect(events).toEqual([]);
  });

  it('an HTTPRoute changed between the read and the apply is applied from its new version', async () => {
    const { world, found } = await gatewayReleaseLeftBehind();
    world.kube.failNext('apply', 'Conflict');
    const { sweep, events } = sweepOver(world.kube);
    await sweep.start();
    expect(routeAsFound(world)).toEqual(found.route);
    expect(events[0]).toEqual({ name: 'HTTPRoute/web', type: 'Normal', reason: 'Released' });
  });
});
