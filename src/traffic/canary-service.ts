// The canary Service `<service>-canary` of the ingress-nginx router: the stable Service's ports
// and selector (as the user wrote it, without the pin) plus canaryd.dev/track: canary, so it
// selects the canary pods only. ClusterIP, no node ports: only the canary Ingress uses it.
import type { Service, ServicePort } from '../kube/objects.ts';
import { MANAGED_BY, MANAGED_BY_CANARYD, OWNER_POLICY, POD_TEMPLATE_HASH, TRACK, TRACK_CANARY } from './labels.ts';
import { controllerRef, type PolicyOwner, policyKey, type RouteTarget } from './router.ts';
import { isPinned, originalSelector, pinnedSelectorDrift, sameSelector } from './selector.ts';

const copyPort = (port: ServicePort): ServicePort => {
  const copy: ServicePort = { port: port.port };
  if (port.name !== undefined) copy.name = port.name;
  if (port.protocol !== undefined) copy.protocol = port.protocol;
  if (port.targetPort !== undefined) copy.targetPort = port.targetPort;
  if (typeof port.appProtocol === 'string') copy.appProtocol = port.appProtocol;
  return copy;
};

export const canarySelector = (stable: Service): Record<string, string> => ({
  ...originalSelector(stable),
  [TRACK]: TRACK_CANARY,
});

export const buildCanaryService = (
  stable: Service,
  canaryService: string,
  policy: string,
  owner?: PolicyOwner,
): Service => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: {
    name: canaryService,
    ...(stable.metadata.namespace === undefined ? {} : { namespace: stable.metadata.namespace }),
    labels: { [MANAGED_BY]: MANAGED_BY_CANARYD },
    annotations: { [OWNER_POLICY]: policy },
    ...controllerRef(owner),
  },
  spec: {
    type: 'ClusterIP',
    selector: canarySelector(stable),
    ports: (stable.spec.ports ?? []).map(copyPort),
  },
});

/** A Service canaryd made for this policy (its label and owner annotation). */
export const ownedByPolicy = (service: Service, target: RouteTarget): boolean =>
  service.metadata.labels?.[MANAGED_BY] === MANAGED_BY_CANARYD &&
  service.metadata.annotations?.[OWNER_POLICY] === policyKey(target);

/** The stable Service's pin and the canary Service's selector, as they differ from canaryd's. */
export const servicesDrift = (
  target: RouteTarget,
  service: Service | null,
  canaryService: Service | null,
): string[] => {
  const drift: string[] = [];
  // The pin is the selector key, not only the annotation that records the original selector.
  if (service !== null && (!isPinned(service) || service.spec.selector?.[POD_TEMPLATE_HASH] === undefined)) {
    drift.push(
      `Service ${target.service} is no longer pinned to the stable pods, so it also sends traffic to canary pods`,
    );
  } else if (service !== null) {
    const edited = pinnedSelectorDrift(service);
    if (edited !== undefined) drift.push(`Service ${target.service} ${edited}`);
  }
  if (service !== null && canaryService !== null && ownedByPolicy(canaryService, target)) {
    const wanted = canarySelector(service);
    const selector = canaryService.spec.selector ?? {};
    if (!sameSelector(selector, wanted)) {
      drift.push(
        `canary Service ${target.canaryService} selects ${JSON.stringify(selector)} instead of the canary pods (${JSON.stringify(wanted)})`,
      );
    }
  }
  return drift;
};
