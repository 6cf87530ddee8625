// The finalizer of a deleted CanaryPolicy whose namespace is being deleted: the namespace
// controller removes the user's Ingress, Service and Deployment in any order, and the API
// refuses every create (Events included). The finalizer hands back what still exists and
// completes once the rest is gone, whichever router the policy had (issue 12).
import { describe, expect, it } from 'vitest';
import type { AnalysisRunner } from '../../src/controller/analysis-runner.ts';
import type { PolicyObject } from '../../src/controller/deps.ts';
import { FINALIZER } from '../../src/controller/names.ts';
import { reconcile } from '../../src/controller/reconciler.ts';
import { KubeError, type StatusWriter } from '../../src/kube/api.ts';
import { KubeEventRecorder } from '../../src/kube/events.ts';
import type { Deployment, Ingress, KubeObject, Service } from '../../src/kube/objects.ts';
import { IngressNginxRouter } from '../../src/traffic/ingress-nginx.ts';
import { ReplicaRatioRouter } from '../../src/traffic/replica-ratio.ts';
import type { RouterName } from '../../src/traffic/router.ts';
import { FakeKube } from '../traffic/fake-kube.ts';
import { canaryDeployment, NS, stableDeployment, stableIngress, stableService, World } from '../traffic/world.ts';

/** A FakeKube whose namespace is terminating: reads, updates and deletes work, creates are refused. */
class TerminatingKube extends FakeKube implements StatusWriter {
  override async create<T extends KubeObject>(object: T): Promise<T> {
    this.calls.push({ verb: 'create', apiVersion: object.apiVersion, kind: object.kind, name: object.metadata.name });
    throw new KubeError(
      'Forbidden',
      `${object.kind} ${NS}/${object.metadata.name} is forbidden: unable to create new content in namespace ${NS} because it is being terminated`,
      { status: 403 },
    );
  }
  async replaceStatus<T extends KubeObject>(object: T): Promise<T> {
    return this.replace(object);
  }
}

const policyRef = { apiVersion: 'canaryd.dev/v1alpha1', kind: 'CanaryPolicy', namespace: NS, name: 'web' };
const ref = (apiVersion: string, kind: string, name: string) => ({ apiVersion, kind, namespace: NS, name });
const ingressRef = (name: string) => ref('networking.k8s.io/v1', 'Ingress', name);
const serviceRef = (name: string) => ref('v1', 'Service', name);
const deploymentRef = (name: string) => ref('apps/v1', 'Deployment', name);

/** A policy deleted after its last release rolled back (phase failed), with `router` recorded. */
function deletedPolicy(router: RouterName, spec: Record<string, unknown> = {}): PolicyObject {
  const template = stableDeployment(3).spec.template as unknown as Record<string, never>;
  return {
    apiVersion: 'canaryd.dev/v1alpha1',
    kind: 'CanaryPolicy',
    metadata: {
      name: 'web',
      namespace: NS,
      finalizers: [FINALIZER],
      deletionTimestamp: '2026-12-01T23:00:00Z',
    },
    spec: { target: { deployment: 'web', service: 'web', router }, ...spec },
    status: {
      phase: 'failed',
      router,
      release: {
        version: 1,
        phase: 'failed',
        reason: 'revision 2: analysis: error rate too high',
        stable: { revision: 1, templateHash: 'stablehash', changeCause: '', template },
        failedRevisions: ['failedhash'],
        history: [],
        nextRevision: 3,
      },
    },
  };
}

interface Run {
  kube: TerminatingKube;
  errors: string[];
  /** Reconciles like the controller's queue does, until it asks for nothing more; at most 10 times. */
  run(): Promise<number>;
}

function harness(...objects: KubeObject[]): Run {
  const kube = new TerminatingKube(...objects);
  const errors: string[] = [];
  const analysis: AnalysisRunner = {
    run: () => Promise.reject(new Error('no analysis while a policy is deleted')),
  };
  const deps = {
    kube,
    events: new KubeEventRecorder(kube),
    router: (kind: RouterName) =>
      kind === 'ingress-nginx' ? new IngressNginxRouter(kube) : new ReplicaRatioRouter(kube),
    analysis,
    now: () => new Date('2026-12-01T23:00:05Z'),
    log: {
      info: () => {},
      warn: () => {},
      error: (message: string, fields?: Record<string, unknown>) => errors.push(`${message} ${JSON.stringify(fields)}`),
    },
  };
  return {
    kube,
    errors,
    async run() {
      for (let passes = 1; passes <= 10; passes++) {
        const result = await reconcile(deps, NS, 'web');
        if (result.requeueAfterMs === null) return passes;
      }
      return 11;
    },
  };
}

const finalizersOf = (kube: FakeKube) => kube.peek<PolicyObject>(policyRef)?.metadata.finalizers ?? [];
const createsOf = (kube: FakeKube) => kube.calls.filter((call) => call.verb === 'create' && call.kind !== 'Event');

describe('finalizer in a namespace being deleted: ingress-nginx', () => {
  it('completes when the Ingress, Service and Deployment are already gone (no router choice, no error)', async () => {
    const { kube, errors, run } = harness(deletedPolicy('ingress-nginx'));
    expect(await run()).toBeLessThanOrEqual(2);
    expect(finalizersOf(kube)).toEqual([]);
    expect(errors).toEqual([]);
    expect(createsOf(kube)).toEqual([]);
  });

  it('hands back what still exists: canary Ingress and Service removed, the Service selector restored', async () => {
    // The state a rollback interrupted by the deletion leaves: canary objects, a pinned Service.
    const world = new World();
    const router = new IngressNginxRouter(world.kube);
    await router.prepare(world.target);
    const left = world.kube.all().filter((o) => o.kind === 'Ingress' || o.kind === 'Service');
    const { kube, errors, run } = harness(deletedPolicy('ingress-nginx'), ...left, canaryDeployment());
    // The namespace controller already took the user's Ingress and Deployment.
    kube.remove(ingressRef('web'));
    expect(kube.peek(ingressRef('web-canary'))).toBeDefined();

    expect(await run()).toBeLessThanOrEqual(3);
    expect(finalizersOf(kube)).toEqual([]);
    expect(errors).toEqual([]);
    expect(kube.peek(ingressRef('web-canary'))).toBeUndefined();
    expect(kube.peek(serviceRef('web-canary'))).toBeUndefined();
    expect(kube.peek(deploymentRef('web-canary'))).toBeUndefined();
    expect(kube.peek<Service>(serviceRef('web'))?.spec.selector).toEqual(stableService().spec.selector);
    expect(kube.peek<Service>(serviceRef('web'))?.metadata.annotations).toEqual(stableService().metadata.annotations);
    expect(createsOf(kube)).toEqual([]);
  });

  it('keeps the recorded router: with router auto and the Ingress gone it does not switch to replica-ratio', async () => {
    const world = new World({ ingresses: [stableIngress()] });
    await new IngressNginxRouter(world.kube).prepare(world.target);
    const left = world.kube.all().filter((o) => o.kind === 'Service' || o.kind === 'Ingress');
    const policy = deletedPolicy('ingress-nginx');
    (policy.spec as { target: { router: string } }).target.router = 'auto';
    const { kube, errors, run } = harness(policy, ...left);
    kube.remove(ingressRef('web'));
    await run();
    expect(finalizersOf(kube)).toEqual([]);
    expect(errors).toEqual([]);
    expect(kube.all().filter((o) => o.kind === 'Ingress' || o.metadata.name === 'web-canary')).toEqual([]);
  });
});

describe('finalizer in a namespace being deleted: replica-ratio', () => {
  it('completes when the Service and Deployment are gone, removing the canary Deployment left', async () => {
    const { kube, errors, run } = harness(deletedPolicy('replica-ratio'), canaryDeployment());
    expect(await run()).toBeLessThanOrEqual(3);
    expect(finalizersOf(kube)).toEqual([]);
    expect(errors).toEqual([]);
    expect(kube.peek(deploymentRef('web-canary'))).toBeUndefined();
    expect(createsOf(kube)).toEqual([]);
  });

  it('a rollback cut short (canary at 20 %, Deployment gone): canary removed, Service record undone', async () => {
    const world = new World({ stableReplicas: 3, surgeBudget: 2, ingresses: [] });
    const router = new ReplicaRatioRouter(world.kube);
    await router.prepare(world.target);
    world.addCanaryDeployment();
    world.scaleCanary(1);
    world.settle();
    await router.setWeight(world.target, 20);
    const policy = deletedPolicy('replica-ratio');
    const kube0 = world.kube.all();
    const { kube, errors, run } = harness(policy, ...kube0);
    // The Deployment is gone; the Service with its release record is not yet.
    kube.remove(deploymentRef('web'));
    expect(kube.peek<Service>(serviceRef('web'))?.metadata.annotations?.['canaryd.dev/release-selector']).toBeDefined();
    await run();
    expect(finalizersOf(kube)).toEqual([]);
    expect(errors).toEqual([]);
    expect(kube.peek(deploymentRef('web-canary'))).toBeUndefined();
    expect(kube.peek<Service>(serviceRef('web'))?.metadata.annotations).toEqual(stableService().metadata.annotations);
    expect(createsOf(kube)).toEqual([]);
  });
});

describe('router cleanup tolerates absent objects', () => {
  it('ingress-nginx: no Ingress, no Service, no Deployment is a finished cleanup', async () => {
    const kube = new FakeKube();
    const world = new World();
    await new IngressNginxRouter(kube).cleanup(world.target);
    expect(kube.writes()).toEqual([]);
  });

  it('ingress-nginx: the Service deleted between the read and the restore is no error', async () => {
    const world = new World();
    const router = new IngressNginxRouter(world.kube);
    await router.prepare(world.target);
    world.kube.failNext('mergePatch', 'NotFound', (r) => r.kind === 'Service' && r.name === 'web');
    await router.cleanup(world.target);
    expect(world.kube.peek<Ingress>(ingressRef('web-canary'))).toBeUndefined();
    expect(world.kube.peek(serviceRef('web-canary'))).toBeUndefined();
  });

  it('ingress-nginx: weight 0 on a missing canary Ingress and Service reports nothing routed', async () => {
    const world = new World();
    world.kube.remove(serviceRef('web'));
    const status = await new IngressNginxRouter(world.kube).setWeight(world.target, 0, { dropTesterRouting: true });
    expect(status.achievedWeight).toBe(0);
  });

  it('replica-ratio: no Service and no Deployment is a finished cleanup, and weight 0 reports nothing routed', async () => {
    const kube = new FakeKube();
    const world = new World();
    const router = new ReplicaRatioRouter(kube);
    await router.cleanup(world.target);
    expect(kube.writes()).toEqual([]);
    const status = await router.setWeight(world.target, 0);
    expect(status).toMatchObject({ requestedWeight: 0, achievedWeight: 0 });
  });

  it('replica-ratio: the Deployment deleted between the read and the un-surge is no error', async () => {
    const world = new World({ stableReplicas: 3, surgeBudget: 2, ingresses: [] });
    const router = new ReplicaRatioRouter(world.kube);
    await router.prepare(world.target);
    world.addCanaryDeployment();
    world.scaleCanary(1);
    world.settle();
    await router.setWeight(world.target, 20);
    expect(world.kube.peek<Deployment>(deploymentRef('web'))?.metadata.annotations).toHaveProperty(
      'canaryd.dev/original-replicas',
    );
    world.kube.failNext('mergePatch', 'NotFound', (r) => r.kind === 'Deployment' && r.name === 'web');
    await router.cleanup(world.target);
  });
});
