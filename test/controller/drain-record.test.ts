// The end of a release as the controller runs it: the canary drained, deleted, its route removed,
// and then nothing more. The drain's record stays in the status (engine/drain.ts): clearing it
// took a status write of its own at the end of every release, and a second look every second.
import { describe, expect, it } from 'vitest';
import type { PolicyObject } from '../../src/controller/deps.ts';
import { reconcile } from '../../src/controller/reconciler.ts';
import type { PolicyStatus } from '../../src/controller/status.ts';
import type { Deployment } from '../../src/kube/objects.ts';
import { IngressNginxRouter } from '../../src/traffic/ingress-nginx.ts';
import { NS, World } from '../traffic/world.ts';
import { keepingStatusWrites, quietDeps, rollAll } from './reconcile-fixtures.ts';

const policyRef = { apiVersion: 'canaryd.dev/v1alpha1', kind: 'CanaryPolicy', namespace: NS, name: 'web' };
const ref = (kind: string, name: string, apiVersion = 'apps/v1') => ({ apiVersion, kind, namespace: NS, name });

describe('after a release', () => {
  it('writes its status once from promotion done to the canary gone, then leaves the policy alone', async () => {
    const world = new World();
    const { kube, statusWrites } = keepingStatusWrites(world.kube);
    kube.seed({
      apiVersion: policyRef.apiVersion,
      kind: policyRef.kind,
      metadata: { name: 'web', namespace: NS },
      spec: {
        target: { deployment: 'web', service: 'web', router: 'ingress-nginx' },
        strategy: { steps: [{ weight: 25, hold: '1m' }], allowLargeFirstStep: true },
        traffic: { drainDelay: '5s' },
      },
    } satisfies PolicyObject);
    let now = Date.parse('2026-12-06T08:00:00Z');
    const deps = quietDeps(
      kube,
      () => new IngressNginxRouter(kube),
      () => new Date(now),
    );
    const status = () => kube.peek<PolicyObject>(policyRef)?.status as PolicyStatus;
    const pass = async () => {
      rollAll(world);
      const result = await reconcile(deps, NS, 'web');
      now += 1000;
      return result;
    };
    await pass(); // adopted
    kube.mutate<Deployment>(ref('Deployment', 'web'), (d) => {
      d.spec.template.spec.containers[0]!.image = 'shop/web:2.1.0';
    });
    for (let i = 0; i < 5 && status().release.current?.stepStartedAt === undefined; i++) await pass();
    expect(status().release.current?.stepStartedAt).toBeDefined();
    now += 60_000; // the step's hold is over
    const gone = () =>
      kube.peek(ref('Deployment', 'web-canary')) === undefined &&
      kube.peek(ref('Ingress', 'web-canary', 'networking.k8s.io/v1')) === undefined;
    let firstSucceeded = -1;
    for (let i = 0; i < 40 && !(status().phase === 'succeeded' && gone()); i++) {
      await pass();
      if (firstSucceeded < 0 && status().phase === 'succeeded') firstSucceeded = statusWrites.length - 1;
    }
    expect(status().phase).toBe('succeeded');
    expect(gone()).toBe(true);
    // one write: succeeded, with the drain's start (the weight-0 decision); none for its end
    expect(statusWrites.slice(firstSucceeded).map((s) => s.phase)).toEqual(['succeeded']);
    expect(status().release.drain).toBeDefined();

    const before = statusWrites.length;
    const result = await pass();
    expect(statusWrites).toHaveLength(before);
    expect(result.requeueAfterMs).toBeNull();
  });
});
