// The refusals of the ingress-nginx router, made before it writes anything: the stable Ingresses
// it was given exist, the canary Ingress names are free or already this policy's, and no other
// canary Ingress claims the same host and path. The canary Service and invariant 1 are checked by
// canary-refusals.ts, shared with gateway-api. Its own file because these reads only ever throw;
// ingress-nginx.ts keeps the writes.
import type { KubeApi } from '../kube/api.ts';
import type { Ingress } from '../kube/objects.ts';
import { assertNoCanaryConflict, buildCanaryIngress, isManagedByCanaryd } from './canary-ingress.ts';
import { TrafficError } from './errors.ts';
import { OWNER_POLICY } from './labels.ts';
import { policyKey, type RouteTarget } from './router.ts';

/** Is this canary Ingress or Service canaryd's, for this target's policy? */
export const ownedBy = (
  object: { metadata: { labels?: Record<string, string>; annotations?: Record<string, string> } },
  target: RouteTarget,
) => isManagedByCanaryd(object) && object.metadata.annotations?.[OWNER_POLICY] === policyKey(target);

/** The canary Ingresses still to create; refuses foreign objects in the way and conflicts. */
export const canaryIngressesToCreate = async (kube: KubeApi, target: RouteTarget): Promise<Ingress[]> => {
  const all = await kube.list<Ingress>('networking.k8s.io/v1', 'Ingress', target.namespace);
  const byName = new Map(all.map((ingress) => [ingress.metadata.name, ingress]));
  const toCreate: Ingress[] = [];
  for (const name of target.ingresses) {
    const stable = byName.get(name);
    if (stable === undefined) throw new TrafficError('NotFound', `Ingress ${target.namespace}/${name} does not exist`);
    const canary = buildCanaryIngress({
      stable,
      stableService: target.service,
      canaryService: target.canaryService,
      policy: policyKey(target),
      owner: target.owner,
    });
    const existing = byName.get(canary.metadata.name);
    if (existing !== undefined) {
      // Ours from an earlier attempt: keep it as it is, with the weight it carries.
      if (ownedBy(existing, target)) continue;
      throw new TrafficError(
        'NotManaged',
        `Ingress ${target.namespace}/${canary.metadata.name} exists and is not canaryd's canary for policy ${policyKey(target)}; rename or delete it`,
      );
    }
    assertNoCanaryConflict(canary, all);
    toCreate.push(canary);
  }
  return toCreate;
};
