// The canary Service `<service>-canary` of the ingress-nginx router: the stable Service's ports
// and selector (as the user wrote it, without the pin) plus canaryd.dev/track: canary, so it
// selects the canary pods only. ClusterIP, no node ports: only the canary Ingress uses it.
import type { Service, ServicePort } from '../kube/objects.ts';
import { MANAGED_BY, MANAGED_BY_CANARYD, OWNER_POLICY, TRACK, TRACK_CANARY } from './labels.ts';
import { controllerRef, type PolicyOwner } from './router.ts';
import { originalSelector } from './selector.ts';

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
