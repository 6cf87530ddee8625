// A new policy is adopted in one pass: its finalizer is added and the reconcile goes on with the
// answer, instead of queueing the policy again behind every other one (1,000 policies adopted at
// once each waited for all the others twice).
import { describe, expect, it } from 'vitest';
import type { PolicyObject } from '../../src/controller/deps.ts';
import { FINALIZER } from '../../src/controller/names.ts';
import { reconcile } from '../../src/controller/reconciler.ts';
import type { Deployment } from '../../src/kube/objects.ts';
import { ReplicaRatioRouter } from '../../src/traffic/replica-ratio.ts';
import { NS, stableService } from '../traffic/world.ts';
import { quietDeps, StatusKube, unadoptedDeployment } from './reconcile-fixtures.ts';

const policyRef = { apiVersion: 'canaryd.dev/v1alpha1', kind: 'CanaryPolicy', namespace: NS, name: 'web' };

describe('adoption', () => {
  it('adds the finalizer and adopts the Deployment in the same reconcile', async () => {
    const policy: PolicyObject = {
      apiVersion: policyRef.apiVersion,
      kind: policyRef.kind,
      metadata: { name: 'web', namespace: NS, uid: 'uid-policy' },
      spec: { target: { deployment: 'web', service: 'web', router: 'replica-ratio' } },
    };
    const kube = new StatusKube(policy, unadoptedDeployment(2), stableService());
    const result = await reconcile(
      quietDeps(
        kube,
        () => new ReplicaRatioRouter(kube),
        () => new Date('2026-12-02T06:00:00Z'),
      ),
      NS,
      'web',
    );
    const adopted = kube.peek<PolicyObject>(policyRef);
    expect(adopted?.metadata.finalizers).toEqual([FINALIZER]);
    expect((adopted?.status as { phase?: string } | undefined)?.phase).toBe('idle');
    const deploymentRef = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: 'web' };
    expect(kube.peek<Deployment>(deploymentRef)?.spec.paused).toBe(true);
    expect(result.requeueAfterMs).not.toBe(0);
  });
});
