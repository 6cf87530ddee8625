// The canary Service and canary Ingress name the CanaryPolicy as their controller, like the
// canary Deployment: if the policy is force-deleted (its finalizer removed by hand), Kubernetes'
// garbage collector removes them instead of leaving a canary route behind.
import { describe, expect, it } from 'vitest';
import { buildCanaryIngress } from '../../src/traffic/canary-ingress.ts';
import { buildCanaryService } from '../../src/traffic/canary-service.ts';
import { NS, stableIngress, stableService } from './world.ts';

const owner = { apiVersion: 'canaryd.dev/v1alpha1', kind: 'CanaryPolicy', name: 'web', uid: 'policy-uid' };

describe('canary routing objects', () => {
  it('carry a controller reference to their policy', () => {
    const service = buildCanaryService(stableService(), 'web-canary', `${NS}/web`, owner);
    expect(service.metadata.ownerReferences).toEqual([{ ...owner, controller: true }]);
    const ingress = buildCanaryIngress({
      stable: stableIngress(),
      stableService: 'web',
      canaryService: 'web-canary',
      policy: `${NS}/web`,
      owner,
    });
    expect(ingress.metadata.ownerReferences).toEqual([{ ...owner, controller: true }]);
  });

  it('carry none while the policy has no uid (a file policy rendered offline)', () => {
    expect(buildCanaryService(stableService(), 'web-canary', `${NS}/web`).metadata.ownerReferences).toBeUndefined();
  });
});
