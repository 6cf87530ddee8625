// The share a route carries after a step's weight write is in the status of the same pass, not
// of a later one: under a saturated work queue (1,000 policies, 100 releasing, ingress-nginx) the
// later pass came only when the next step was due, and for a whole step the status said the
// previous share while the route carried the new one (invariant 7).
import { describe, expect, it } from 'vitest';
import type { PolicyObject } from '../../src/controller/deps.ts';
import { reconcile } from '../../src/controller/reconciler.ts';
import type { PolicyStatus } from '../../src/controller/status.ts';
import type { Deployment, KubeObject } from '../../src/kube/objects.ts';
import type { Transition } from '../../src/notify/derive.ts';
import { IngressNginxRouter } from '../../src/traffic/ingress-nginx.ts';
import { ReplicaRatioRouter } from '../../src/traffic/replica-ratio.ts';
import { NS, World } from '../traffic/world.ts';
import { quietDeps, rollAll } from './reconcile-fixtures.ts';

const policyRef = { apiVersion: 'canaryd.dev/v1alpha1', kind: 'CanaryPolicy', namespace: NS, name: 'web' };
const deploymentRef = (name: string) => ({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name });

/** A policy of one step at 25 %, held an hour, with `router`. */
const oneStepPolicy = (router: string): PolicyObject => ({
  apiVersion: policyRef.apiVersion,
  kind: policyRef.kind,
  metadata: { name: 'web', namespace: NS },
  spec: {
    target: { deployment: 'web', service: 'web', router },
    strategy: { steps: [{ weight: 25, hold: '1h' }], allowLargeFirstStep: true },
  },
});

describe('the measured share after a weight write', () => {
  it('is in the status the same pass leaves, before any watch event brings the policy back', async () => {
    const world = new World();
    const statusWrites: PolicyStatus[] = [];
    const kube = Object.assign(world.kube, {
      replaceStatus: <T extends KubeObject>(object: T) => {
        statusWrites.push(structuredClone((object as { status?: PolicyStatus }).status as PolicyStatus));
        return world.kube.replace(object);
      },
    });
    kube.seed(oneStepPolicy('ingress-nginx'));
    const rolled = () => rollAll(world);
    let now = Date.parse('2026-12-03T08:00:00Z');
    const deps = quietDeps(
      kube,
      () => new IngressNginxRouter(kube),
      () => new Date(now),
    );
    const pass = async () => {
      await reconcile(deps, NS, 'web');
      now += 1000;
    };
    rolled();
    await pass(); // adopted
    kube.mutate<Deployment>(deploymentRef('web'), (d) => {
      d.spec.template.spec.containers[0]!.image = 'shop/web:2.1.0';
    });
    await pass(); // started: the canary is created
    rolled(); // its pods are ready
    statusWrites.length = 0;
    await pass(); // step 1: the weight is written
    const status = kube.peek<PolicyObject>(policyRef)?.status as PolicyStatus;
    expect(status.release.current?.stepStartedAt).toBeDefined();
    expect(status.intendedWeight).toBe(25);
    // the canary Ingress's weight as written, in this pass's status
    expect(status.weight).toBe(25);
    expect(status.release.current?.achievedWeight).toBe(25);
    // the decision (persisted first, with the share before the write), then the measured share
    expect(statusWrites.map((s) => s.weight)).toEqual([0, 25]);
    // and the next pass, seeing the same share, writes nothing
    statusWrites.length = 0;
    await pass();
    expect(statusWrites).toEqual([]);
  });

  it('starts a step only once its canary pods are ready endpoints, so the step is announced with the share they carry', async () => {
    // The Deployment's status counts a canary pod as ready a moment before the EndpointSlice
    // controller lists it (two controllers, two watches). A step started then announced "step 1
    // at 25 % (measured 0 %)" while the canary was on its way in (seen once in the e2e suite).
    const world = new World();
    const kube = world.kube;
    kube.seed(oneStepPolicy('replica-ratio'));
    let now = Date.parse('2026-12-05T08:00:00Z');
    const announced: Transition[] = [];
    const deps = {
      ...quietDeps(
        Object.assign(kube, { replaceStatus: <T extends KubeObject>(object: T) => kube.replace(object) }),
        () => new ReplicaRatioRouter(kube),
        () => new Date(now),
      ),
      notify: (transition: Transition) => announced.push(transition),
    };
    const pass = async () => {
      await reconcile(deps, NS, 'web');
      now += 1000;
    };
    const current = () => (kube.peek<PolicyObject>(policyRef)?.status as PolicyStatus | undefined)?.release.current;
    rollAll(world);
    await pass(); // adopted
    kube.mutate<Deployment>(deploymentRef('web'), (d) => {
      d.spec.template.spec.containers[0]!.image = 'shop/web:2.1.0';
    });
    for (let i = 0; i < 3; i++) {
      await pass(); // started; the canary created, then sized for step 1
      rollAll(world, { endpointSlices: false }); // its pods ready, not yet endpoints
    }
    expect(kube.peek<Deployment>(deploymentRef('web-canary'))?.status?.readyReplicas).toBeGreaterThan(0);
    expect(current()?.stepStartedAt).toBeUndefined();
    expect(announced.filter((t) => t.after.current?.stepStartedAt !== undefined)).toEqual([]);

    rollAll(world); // the EndpointSlice controller catches up
    await pass();
    expect(current()?.stepStartedAt).toBeDefined();
    const step = announced.find((t) => t.after.current?.stepStartedAt !== undefined);
    expect(step?.measuredShare).toBeGreaterThan(0);
    expect(current()?.achievedWeight).toBe(step?.measuredShare);
  });
});
