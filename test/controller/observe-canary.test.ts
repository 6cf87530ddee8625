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

  it('pods of an older template are not ready for this release but still serve the route', () => {
    const rolling = observeCanary(canary(6, { observedGeneration: 6, readyReplicas: 3, updatedReplicas: 1 }));
    expect(rolling).toMatchObject({ readyReplicas: 1, servingReplicas: 3 });
  });

  it('a canary being deleted is no canary', () => {
    const gone = canary(6, {});
    gone.metadata.deletionTimestamp = '2026-11-23T10:00:00Z';
    expect(observeCanary(gone)).toBeUndefined();
    expect(observeCanary(null)).toBeUndefined();
  });
});
