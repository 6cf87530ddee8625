// What the ingress-nginx router reports as its route's status: each canary Ingress as written
// (readCanaryIngresses: the weight canaryd intended and the one ingress-nginx applies, tester
// routing), the stable Service's pin and the canary Service's selector, and the ready endpoints
// behind both. Its own file because observation only reads the cluster; ingress-nginx.ts does
// the writes.
import type { KubeApi } from '../kube/api.ts';
import type { Ingress, Service } from '../kube/objects.ts';
import { observeCanaryBackend, withCanaryBackend } from './canary-backend.ts';
import { canaryIngressNames, readCanaryIngresses } from './canary-ingress.ts';
import { servicesDrift } from './canary-service.ts';
import { endpointSlicesOf, getIngress, serviceRef } from './cluster.ts';
import { formatShare } from './replica-solver.ts';
import { nginxRoutePieces } from './route-pieces.ts';
import type { RouteStatus, RouteTarget } from './router.ts';
import { isPinned } from './selector.ts';
import { readyEndpoints } from './share.ts';

export const observeIngressNginx = async (kube: KubeApi, target: RouteTarget): Promise<RouteStatus> => {
  const ingresses = await observeCanaryIngresses(kube, target);
  const { achieved } = ingresses;
  const service = await kube.get<Service>(serviceRef(target.namespace, target.service));
  const canaryService = await kube.get<Service>(serviceRef(target.namespace, target.canaryService));
  const drift = [...ingresses.drift, ...servicesDrift(target, service, canaryService)];
  const backend = await observeCanaryBackend(kube, target);
  const stableReady = readyEndpoints(await endpointSlicesOf(kube, target.namespace, target.service)).length;
  if (achieved > 0 && backend.current + backend.others.length === 0) {
    drift.push(`the canary receives ${formatShare(achieved)} but has no ready endpoints`);
  }
  const status: RouteStatus = withCanaryBackend(
    {
      router: 'ingress-nginx',
      requestedWeight: ingresses.requested,
      achievedWeight: achieved,
      canaryReplicas: backend.current,
      stableReplicas: stableReady,
      detail: `canary Ingress ${ingresses.shown.join(', ') || 'none'} (${formatShare(achieved)}); ${backend.current} canary and ${stableReady} stable endpoints ready`,
      pieces: nginxRoutePieces({
        canaryService: canaryService !== null,
        canaryIngresses: ingresses.found,
        pinned: service !== null && isPinned(service),
      }),
      testersRouting: ingresses.testers,
    },
    backend,
  );
  if (drift.length > 0) status.drift = drift.join('; ');
  return status;
};

/** The canary Ingresses as written (readCanaryIngresses), one per stable Ingress. */
const observeCanaryIngresses = async (kube: KubeApi, target: RouteTarget) => {
  const found: { name: string; ingress: Ingress | null }[] = [];
  for (const name of canaryIngressNames(target)) {
    found.push({ name, ingress: await getIngress(kube, target.namespace, name) });
  }
  return readCanaryIngresses(found);
};
