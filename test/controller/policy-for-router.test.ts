// Header and cookie routing needs an Ingress: a policy whose `router: auto` picked replica-ratio
// runs by weight alone, and its status says spec.routing is not applied (never silently).
import { describe, expect, it } from 'vitest';
import { policyForRouter } from '../../src/controller/route-target.ts';
import { emptyStatus } from '../../src/controller/status.ts';
import { planSteps } from '../../src/engine/plan.ts';
import { canaryPolicy } from '../../src/policy/schema.ts';
import { IngressNginxRouter } from '../../src/traffic/ingress-nginx.ts';
import { ReplicaRatioRouter } from '../../src/traffic/replica-ratio.ts';
import { FakeKube } from '../traffic/fake-kube.ts';

const policy = canaryPolicy.parse({
  apiVersion: 'canaryd.dev/v1alpha1',
  kind: 'CanaryPolicy',
  metadata: { name: 'web', namespace: 'shop' },
  spec: {
    target: { deployment: 'web', service: 'web' },
    routing: { header: { name: 'X-Canary', value: 'always' }, testersFirst: '5m' },
  },
});

const ingressNginx = new IngressNginxRouter(new FakeKube());
const replicaRatio = new ReplicaRatioRouter(new FakeKube());

describe('policyForRouter', () => {
  it('ingress-nginx carries the routing unchanged', () => {
    const status = { ...emptyStatus(new Date(0)), routerReason: 'auto: Ingress web of class nginx' };
    expect(policyForRouter(policy, ingressNginx, status)).toBe(policy);
    expect(status.routerReason).toBe('auto: Ingress web of class nginx');
  });

  it('replica-ratio runs by weight alone and says so once in routerReason', () => {
    const status = { ...emptyStatus(new Date(0)), routerReason: 'auto: no Ingress routes to Service web' };
    const effective = policyForRouter(policy, replicaRatio, status);
    expect(planSteps(effective).every((step) => !step.testersOnly && !step.testerRouting)).toBe(true);
    policyForRouter(policy, replicaRatio, status);
    expect(status.routerReason).toBe(
      'auto: no Ingress routes to Service web; spec.routing (header/cookie, testersFirst) is not applied: replica-ratio cannot route by header or cookie',
    );
    expect(policy.spec.routing).toBeDefined();
  });
});
