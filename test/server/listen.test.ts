// The one test that opens a port (loopback, ephemeral): build + listen serve real HTTP, and the
// Kubernetes-backed wiring answers an API call through a fake KubeApi.
import { afterEach, describe, expect, it } from 'vitest';
import { emptyStatus, type PolicyStatus } from '../../src/controller/status.ts';
import type { KubeObject } from '../../src/kube/objects.ts';
import { createMetrics, type ReleaseStatusSample } from '../../src/metrics/index.ts';
import { build, kubeServerDeps, listen } from '../../src/server/index.ts';
import { FakeKube } from '../traffic/fake-kube.ts';
import { policyObject, runningStatus } from './fixtures.ts';

class ApiServer extends FakeKube {
  override async create<T extends KubeObject>(object: T): Promise<T> {
    const spec = object.spec as { token?: string };
    if (object.kind === 'TokenReview') {
      return {
        ...object,
        status: spec.token === 'ok' ? { authenticated: true, user: { username: 'ci', groups: [] } } : {},
      };
    }
    if (object.kind === 'SubjectAccessReview') return { ...object, status: { allowed: true } };
    return super.create(object);
  }
}

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

describe('listen', () => {
  it('serves the built app on a loopback port', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const kube = new ApiServer(policyObject('checkout', 'shop', { status: runningStatus() }));
    const app = build(
      kubeServerDeps(kube, { readiness: () => ({ ready: true, reason: 'synced' }), registry: metrics.registry }),
    );
    close = () => app.close();
    const address = await listen(app, '127.0.0.1:0');
    expect((await fetch(`${address}/healthz`)).status).toBe(200);
    const denied = await fetch(`${address}/api/v1/releases`, { headers: { authorization: 'Bearer nope' } });
    expect(denied.status).toBe(401);
    const release = await fetch(`${address}/api/v1/namespaces/shop/releases/checkout`, {
      headers: { authorization: 'Bearer ok' },
    });
    expect(release.status).toBe(200);
    expect(await release.json()).toMatchObject({ name: 'checkout', status: { phase: 'progressing' } });
  });

  it('rejects an address that is not HOST:PORT', async () => {
    const app = build(
      kubeServerDeps(new ApiServer(), {
        readiness: () => ({ ready: true, reason: '' }),
        registry: createMetrics({ defaultMetrics: false }).registry,
      }),
    );
    await expect(listen(app, '8080')).rejects.toThrow('HOST:PORT');
  });

  it("the controller's PolicyStatus is what the metrics read (type check)", () => {
    const status: PolicyStatus = emptyStatus(new Date());
    const sample: ReleaseStatusSample = status;
    expect(sample.phase).toBe('idle');
  });
});
