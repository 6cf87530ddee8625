// A release that starts is one status write: the decision and the release's (empty) analysis
// evidence together. Before, the evidence was reset by a status write of its own in the next
// pass: one write per release that said nothing new (found in the scale benchmark's
// statusWritesOfOneRelease, 2026-12-03).
import { describe, expect, it } from 'vitest';
import type { PolicyObject } from '../../src/controller/deps.ts';
import { reconcile } from '../../src/controller/reconciler.ts';
import type { Deployment } from '../../src/kube/objects.ts';
import { ReplicaRatioRouter } from '../../src/traffic/replica-ratio.ts';
import { NS, stableService } from '../traffic/world.ts';
import { quietDeps, StatusKube, unadoptedDeployment } from './reconcile-fixtures.ts';

const policyRef = { apiVersion: 'canaryd.dev/v1alpha1', kind: 'CanaryPolicy', namespace: NS, name: 'web' };
const deploymentRef = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: 'web' };

describe('a release that starts', () => {
  it('persists its analysis evidence with the decision that starts it, not in a write of its own', async () => {
    const policy: PolicyObject = {
      apiVersion: policyRef.apiVersion,
      kind: policyRef.kind,
      metadata: { name: 'web', namespace: NS, uid: 'uid-policy' },
      spec: {
        target: { deployment: 'web', service: 'web', router: 'replica-ratio' },
        strategy: { steps: [{ weight: 50, hold: '5m' }], allowLargeFirstStep: true },
      },
    };
    const kube = new StatusKube(policy, unadoptedDeployment(2), stableService());
    const deps = quietDeps(
      kube,
      () => new ReplicaRatioRouter(kube),
      () => new Date('2026-12-03T06:00:00Z'),
    );
    await reconcile(deps, NS, 'web'); // adopted
    const adopted = kube.peek<Deployment>(deploymentRef) as Deployment;
    const container = adopted.spec.template.spec?.containers[0];
    if (container) container.image = 'shop/web:2.1.0';
    await kube.replace(adopted);

    kube.statusWrites = [];
    await reconcile(deps, NS, 'web');
    const [started] = kube.statusWrites;
    expect(started?.phase).toBe('progressing');
    const hash = started?.release?.current?.templateHash;
    expect(hash).toBeTruthy();
    expect(started?.analysis?.templateHash).toBe(hash);
  });
});
