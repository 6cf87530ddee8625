// Which policies a watch event wakes: the policies of its namespace that target it, and the
// policy named as its owner, but only when that policy is this replica's (its shard's). An
// object owned by another shard's policy must not reconcile that policy here: at 5,000 policies
// on two shards that made 23,467 reconciles for the work of 5,788.
import { describe, expect, it } from 'vitest';
import { PolicyIndex } from '../../src/controller/policy-index.ts';
import type { KubeObject } from '../../src/kube/objects.ts';
import { OWNER_POLICY, SERVICE_NAME } from '../../src/traffic/labels.ts';

const policy = (namespace: string, name: string, target: Record<string, unknown>): KubeObject =>
  ({
    apiVersion: 'canaryd.dev/v1alpha1',
    kind: 'CanaryPolicy',
    metadata: { namespace, name },
    spec: { target },
  }) as KubeObject;

const object = (kind: string, namespace: string, name: string, metadata: Partial<KubeObject['metadata']> = {}) =>
  ({ apiVersion: 'v1', kind, metadata: { namespace, name, ...metadata } }) as KubeObject;

function shopIndex(): PolicyIndex {
  const index = new PolicyIndex();
  index.onPolicy('add', policy('shop', 'web', { deployment: 'web', service: 'web', ingresses: ['web'] }));
  index.onPolicy('add', policy('shop', 'api', { deployment: 'api', service: 'api-svc' }));
  index.onPolicy('add', policy('blog', 'web', { deployment: 'web', service: 'web' }));
  return index;
}

describe('the policies a watch event wakes', () => {
  it("wakes the policies of the object's namespace that target it, and only those", () => {
    const index = shopIndex();
    expect(index.concerned('update', object('Deployment', 'shop', 'web'))).toEqual(['shop/web']);
    expect(index.concerned('update', object('Deployment', 'shop', 'web-canary'))).toEqual(['shop/web']);
    expect(index.concerned('update', object('Service', 'shop', 'api-svc'))).toEqual(['shop/api']);
    expect(index.concerned('update', object('Deployment', 'blog', 'web'))).toEqual(['blog/web']);
    expect(index.concerned('update', object('Deployment', 'other', 'web'))).toEqual([]);
    expect(index.concerned('update', object('ConfigMap', 'shop', 'web'))).toEqual([]);
  });

  it('finds the Deployment of a ReplicaSet and the Service of an EndpointSlice', () => {
    const index = shopIndex();
    const replicaSet = object('ReplicaSet', 'shop', 'api-7d9f', {
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'api', uid: 'u1' }],
    });
    expect(index.concerned('update', replicaSet)).toEqual(['shop/api']);
    const slice = object('EndpointSlice', 'shop', 'web-canary-x2k', { labels: { [SERVICE_NAME]: 'web-canary' } });
    expect(index.concerned('update', slice)).toEqual(['shop/web']);
  });

  it('an Ingress wakes the policies whose Service it sends to, or sent to before, and those naming it', () => {
    const index = shopIndex();
    const ingress = (name: string, ...services: string[]) =>
      ({
        apiVersion: 'networking.k8s.io/v1',
        kind: 'Ingress',
        metadata: { namespace: 'shop', name },
        spec: {
          rules: [
            {
              http: {
                paths: services.map((service) => ({
                  path: '/',
                  pathType: 'Prefix',
                  backend: { service: { name: service, port: { name: 'http' } } },
                })),
              },
            },
          ],
        },
      }) as KubeObject;
    // not every policy of the namespace: at 1,000 policies, 100 per namespace, every canary
    // Ingress write woke the 100 (8,395 reconciles for 100 releases against 2,961)
    expect(index.concerned('add', ingress('front', 'api-svc'))).toEqual(['shop/api']);
    expect(index.concerned('add', ingress('web', 'other'))).toEqual(['shop/web']); // named by shop/web
    expect(index.concerned('add', ingress('unrelated', 'other'))).toEqual([]);
    // moved from api-svc to web: both policies look again (api's route is gone)
    expect(index.concerned('update', ingress('front', 'web')).sort()).toEqual(['shop/api', 'shop/web']);
    expect(index.concerned('update', ingress('front', 'web'))).toEqual(['shop/web']);
    expect(index.concerned('delete', ingress('front', 'web'))).toEqual(['shop/web']);
    // a canary Ingress sends to the canary Service: its policy
    expect(index.concerned('add', ingress('api-canary', 'api-svc-canary'))).toEqual(['shop/api']);
  });

  it("wakes the owner named on an object only when the owner is this replica's policy", () => {
    const index = shopIndex();
    const owned = (owner: string) =>
      object('Ingress', 'tenant', 'frontend-canary', { annotations: { [OWNER_POLICY]: owner } });
    expect(index.concerned('update', owned('shop/web'))).toEqual(['shop/web']);
    // another shard's policy (or one already gone): not here
    expect(index.concerned('update', owned('tenant/frontend'))).toEqual([]);
  });

  it('a deleted policy wakes nothing more; a changed target moves with it', () => {
    const index = shopIndex();
    index.onPolicy('delete', policy('blog', 'web', {}));
    expect(index.concerned('update', object('Deployment', 'blog', 'web'))).toEqual([]);
    index.onPolicy('update', policy('shop', 'api', { deployment: 'api-v2', service: 'api-svc' }));
    expect(index.concerned('update', object('Deployment', 'shop', 'api'))).toEqual([]);
    expect(index.concerned('update', object('Deployment', 'shop', 'api-v2'))).toEqual(['shop/api']);
  });

  it('a CanaryPolicy event wakes that policy', () => {
    expect(new PolicyIndex().concerned('add', policy('shop', 'web', {}))).toEqual(['shop/web']);
  });
});
