// With deploy/components/finalizer-on-create (Kubernetes 1.36+), the API server adds canaryd's
// finalizer as a policy is created: canaryd adopts without writing it, and a policy that never
// had a valid version, deleted, must still go (canaryd never took anything for it).
import { describe, expect, it } from 'vitest';
import type { PolicyObject } from '../../src/controller/deps.ts';
import { FINALIZER, MANAGED_LABEL } from '../../src/controller/names.ts';
import { reconcile } from '../../src/controller/reconciler.ts';
import type { PolicyStatus } from '../../src/controller/status.ts';
import type { Deployment } from '../../src/kube/objects.ts';
import { OWNER_POLICY } from '../../src/traffic/labels.ts';
import { ReplicaRatioRouter } from '../../src/traffic/replica-ratio.ts';
import { NS, stableService } from '../traffic/world.ts';
import { quietDeps, StatusKube, unadoptedDeployment } from './reconcile-fixtures.ts';

const policyRef = { apiVersion: 'canaryd.dev/v1alpha1', kind: 'CanaryPolicy', namespace: NS, name: 'web' };

/** A policy as the API server stores it with the finalizer policy installed. */
const createdWithFinalizer = (spec: Record<string, unknown>): PolicyObject => ({
  apiVersion: policyRef.apiVersion,
  kind: policyRef.kind,
  metadata: { name: 'web', namespace: NS, uid: 'uid-policy', generation: 1, finalizers: [FINALIZER] },
  spec,
});
const deleted = (policy: PolicyObject): PolicyObject => ({
  ...policy,
  metadata: { ...policy.metadata, deletionTimestamp: '2026-12-05T09:00:00Z' },
});
const statusOf = (kube: StatusKube) => kube.peek<PolicyObject>(policyRef)?.status as PolicyStatus | undefined;
const reconcileOn = (kube: StatusKube) =>
  reconcile(
    quietDeps(
      kube,
      () => new ReplicaRatioRouter(kube),
      () => new Date('2026-12-05T09:00:01Z'),
    ),
    NS,
    'web',
  );
const writesOf = (kube: StatusKube) =>
  kube
    .writes()
    .filter((c) => c.kind !== 'Event')
    .map((c) => `${c.verb} ${c.kind}`);
const valid = { target: { deployment: 'web', service: 'web', router: 'replica-ratio' } };
const invalid = {
  target: { deployment: 'web', service: 'web', router: 'replica-ratio' },
  strategy: { steps: [{ weight: 5 }, { weight: 2 }] },
};

describe('the finalizer added at creation by the API server', () => {
  it('adopts in two writes: the pause carrying the record, then the status; the finalizer is not written again', async () => {
    const kube = new StatusKube(createdWithFinalizer(valid), unadoptedDeployment(2), stableService());
    await reconcileOn(kube);
    expect(writesOf(kube)).toEqual(['mergePatch Deployment', 'replace CanaryPolicy']);
    expect(kube.peek<PolicyObject>(policyRef)?.metadata.finalizers).toEqual([FINALIZER]);
    expect(statusOf(kube)?.release.stable?.revision).toBe(1);
  });

  it('a policy invalid from its first version, deleted, goes at once and leaves the Deployment as it was', async () => {
    const kube = new StatusKube(createdWithFinalizer(invalid), unadoptedDeployment(2), stableService());
    await reconcileOn(kube);
    expect(statusOf(kube)?.phase).toBe('invalid');
    kube.mutate<PolicyObject>(policyRef, (p) => {
      p.metadata.deletionTimestamp = '2026-12-05T09:00:00Z';
    });
    const before = kube.calls.length;
    await reconcileOn(kube);
    expect(kube.writes(before).map((c) => `${c.verb} ${c.kind}`)).toEqual(['mergePatch CanaryPolicy']);
    expect(kube.peek<PolicyObject>(policyRef)?.metadata.finalizers).toEqual([]);
    const deployment = kube.peek<Deployment>({ ...policyRef, apiVersion: 'apps/v1', kind: 'Deployment' });
    expect(deployment?.spec.paused).toBe(false);
    expect(deployment?.metadata.labels?.[MANAGED_LABEL]).toBeUndefined();
  });

  it('keeps the finalizer of a deleted invalid policy whose mark a Deployment carries: the hand-back needs a valid policy', async () => {
    // A pause written for an adoption not yet recorded (canaryd stopped between the two), then the
    // policy edited to something invalid and deleted: going would leave the Deployment paused.
    const marked = unadoptedDeployment(2);
    marked.spec.paused = true;
    marked.metadata.labels = { ...marked.metadata.labels, [MANAGED_LABEL]: 'true' };
    marked.metadata.annotations = { ...marked.metadata.annotations, [OWNER_POLICY]: `${NS}/web` };
    const kube = new StatusKube(deleted(createdWithFinalizer(invalid)), marked, stableService());
    await reconcileOn(kube);
    expect(kube.peek<PolicyObject>(policyRef)?.metadata.finalizers).toEqual([FINALIZER]);
    expect(statusOf(kube)?.phase).toBe('invalid');
  });
});
