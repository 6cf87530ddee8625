import { describe, expect, it } from 'vitest';
import { observeCanary } from '../../src/controller/observe.ts';
import type { Deployment } from '../../src/kube/objects.ts';

function canary(generation: number, status: Deployment['status']): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web-canary', namespace: 'shop', generation, annotations: { 'canaryd.dev/template-hash': 'v2' } },
    spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: { spec: { containers: [] } } },
    status,
  };
}

describe('observeCanary', () => {
  it('counts ready pods of the observed generation as ready and as serving', () => {
    const seen = observeCanary(canary(4, { observedGeneration: 4, readyReplicas: 3, updatedReplicas: 3 }));
    expect(seen).toEqual({ templateHash: 'v2', replicas: 3, readyReplicas: 3, servingReplicas: 3 });
  });

  it('a generation the Deployment controller has not observed yet: readiness unknown, the pods still serve', () => {
    // Right after a scale, or while the controller-manager reconnects after an apiserver outage.
    const stale = observeCanary(canary(5, { observedGeneration: 4, readyReplicas: 1, updatedReplicas: 1 }));
    expect(stale).toMatchObject({ readyReplicas: 0, servingReplicas: 1 });
  });

  it('while pods of an older template remain, none counts as ready for this release; they still serve the route', () => {
    // Issue 11: the template replaced in place; the one new pod is not ready yet, the three old
    // ones are. The status's readyReplicas counts the old ones, so it says nothing about the new.
    const rolling = observeCanary(
      canary(6, { observedGeneration: 6, replicas: 4, readyReplicas: 3, updatedReplicas: 1 }),
    );
    expect(rolling).toMatchObject({ readyReplicas: 0, servingReplicas: 3 });
  });

  it('once the roll has replaced every older pod, the ready pods are this template’s', () => {
    const rolled = observeCanary(
      canary(6, { observedGeneration: 6, replicas: 3, readyReplicas: 3, updatedReplicas: 3 }),
    );
    expect(rolled).toMatchObject({ readyReplicas: 3 });
  });

  it('ready endpoints of another template behind the canary route keep the canary from being ready', () => {
    // The Deployment's status may count an old pod out before the EndpointSlice does.
    const status = { observedGeneration: 6, replicas: 3, readyReplicas: 3, updatedReplicas: 3 };
    const route = { canaryReplicas: 3 };
    expect(observeCanary(canary(6, status), { ...route, olderCanaryEndpoints: 1 })).toMatchObject({ readyReplicas: 0 });
    expect(observeCanary(canary(6, status), { ...route, olderCanaryEndpoints: 0 })).toMatchObject({ readyReplicas: 3 });
  });

  it('a pod the Deployment counts as ready is ready for a step only once it is a ready endpoint behind the route', () => {
    // The Deployment's status and the EndpointSlice are written by two controllers and reach the
    // caches by two watches: a step started on the status alone gave its weight to a route whose
    // canary was not an endpoint yet (replica-ratio measured 0 % at the step's start).
    const status = { observedGeneration: 6, replicas: 3, readyReplicas: 3, updatedReplicas: 3 };
    expect(observeCanary(canary(6, status), { canaryReplicas: 1 })).toMatchObject({
      readyReplicas: 1,
      readyInDeployment: 3,
      servingReplicas: 3,
    });
    expect(observeCanary(canary(6, status), { canaryReplicas: 3 })).toEqual({
      templateHash: 'v2',
      replicas: 3,
      readyReplicas: 3,
      servingReplicas: 3,
    });
    // More endpoints than the Deployment counts (pods of its template elsewhere) add nothing.
    expect(observeCanary(canary(6, status), { canaryReplicas: 5 })).toMatchObject({ readyReplicas: 3 });
  });

  it('a canary being deleted is going: none of its pods counts as ready, and it is not gone yet', () => {
    const going = canary(6, {});
    going.metadata.deletionTimestamp = '2026-11-23T10:00:00Z';
    expect(observeCanary(going)).toMatchObject({ removing: true, readyReplicas: 0 });
    expect(observeCanary(null)).toBeUndefined();
  });
});
