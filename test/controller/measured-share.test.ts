// The share a route carries after a step's weight write is in the status of the same pass, not
// of a later one: under a saturated work queue (1,000 policies, 100 releasing, ingress-nginx) the
// later pass came only when the next step was due, and for a whole step the status said the
// previous share while the route carried the new one (invariant 7).
import { describe, expect, it } from 'vitest';
import type { PolicyObject } from '../../src/controller/deps.ts';
import { reconcile } from '../../src/controller/reconciler.ts';
import type { PolicyStatus } from '../../src/controller/status.ts';
import { KubeError } from '../../src/kube/api.ts';
import type { Deployment, KubeObject } from '../../src/kube/objects.ts';
import type { Transition } from '../../src/notify/derive.ts';
import { IngressNginxRouter } from '../../src/traffic/ingress-nginx.ts';
import { ReplicaRatioRouter } from '../../src/traffic/replica-ratio.ts';
import { NS, World } from '../traffic/world.ts';
import { keepingStatusWrites, quietDeps, rollAll } from './reconcile-fixtures.ts';

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
    const { kube, statusWrites } = keepingStatusWrites(world.kube);
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
    // one write: the step's start goes to the route first, and the status after it says the
    // step and the share the route then carries (engine/phases/step-recorded.ts)
    expect(statusWrites.map((s) => [s.release.current?.stepStartedAt !== undefined, s.weight])).toEqual([[true, 25]]);
    // and the next pass, seeing the same share, writes nothing
    statusWrites.length = 0;
    await pass();
    expect(statusWrites).toEqual([]);
  });

  it('a step whose status write was lost after its route write starts from the route, not over again', async () => {
    const world = new World();
    let loseNext = false;
    const { kube, statusWrites } = keepingStatusWrites(world.kube, () => {
      if (!loseNext) return undefined;
      loseNext = false;
      return new KubeError('Conflict', 'the object has been modified');
    });
    const twoSteps = oneStepPolicy('ingress-nginx');
    (twoSteps.spec as { strategy: unknown }).strategy = {
      steps: [
        { weight: 10, hold: '1m' },
        { weight: 30, hold: '1h' },
      ],
      allowLargeFirstStep: true,
    };
    // Steps advance 08:00–08:02 only: the pass after the lost write comes when that has closed.
    (twoSteps.spec as { schedule: unknown }).schedule = {
      timeZone: 'UTC',
      advanceWindows: [{ cron: '0 8 * * *', duration: '2m' }],
    };
    kube.seed(twoSteps);
    let now = Date.parse('2026-12-06T08:00:00Z');
    const deps = quietDeps(
      kube,
      () => new IngressNginxRouter(kube),
      () => new Date(now),
    );
    const pass = async () => {
      await reconcile(deps, NS, 'web');
      now += 1000;
    };
    const current = () => (kube.peek<PolicyObject>(policyRef)?.status as PolicyStatus | undefined)?.release.current;
    const ingressWeights: string[] = [];
    const canaryWeight = () =>
      kube.peek<KubeObject>({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', namespace: NS, name: 'web-canary' })
        ?.metadata.annotations?.['nginx.ingress.kubernetes.io/canary-weight'];
    rollAll(world);
    await pass(); // adopted
    kube.mutate<Deployment>(deploymentRef('web'), (d) => {
      d.spec.template.spec.containers[0]!.image = 'shop/web:2.1.0';
    });
    await pass(); // started
    rollAll(world);
    await pass(); // step 1 at 10 %
    expect(current()).toMatchObject({ stepIndex: 0, weight: 10 });
    now += 60_000; // its hold is over
    loseNext = true; // the status write after step 2's route write is lost
    await pass();
    ingressWeights.push(canaryWeight() ?? '');
    expect(current()).toMatchObject({ stepIndex: 0, weight: 10 });
    statusWrites.length = 0;
    now += 60_000; // the advance window has closed
    await pass(); // the next pass reads the route's record: step 2 started, not held at step 1
    ingressWeights.push(canaryWeight() ?? '');
    expect(current()).toMatchObject({ stepIndex: 1, weight: 30, achievedWeight: 30 });
    expect(ingressWeights).toEqual(['30', '30']);
    expect(statusWrites).toHaveLength(1);
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
        keepingStatusWrites(kube).kube,
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
