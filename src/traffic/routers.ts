// The factory: the router a policy gets, from the kind chooseRouter() picked.
import type { KubeApi } from '../kube/api.ts';
import { GatewayApiRouter } from './gateway-api.ts';
import { IngressNginxRouter } from './ingress-nginx.ts';
import { ReplicaRatioRouter } from './replica-ratio.ts';
import type { RouterName, TrafficRouter } from './router.ts';

export const createRouter = (kind: RouterName, kube: KubeApi): TrafficRouter => {
  switch (kind) {
    case 'ingress-nginx':
      return new IngressNginxRouter(kube);
    case 'replica-ratio':
      return new ReplicaRatioRouter(kube);
    case 'gateway-api':
      return new GatewayApiRouter(kube);
  }
};

/** One router of each kind over `kube`, made when first asked for: the controller's `router(kind)`. */
export const routersOver = (kube: KubeApi): ((kind: RouterName) => TrafficRouter) => {
  const made = new Map<RouterName, TrafficRouter>();
  return (kind) => {
    const router = made.get(kind) ?? createRouter(kind, kube);
    made.set(kind, router);
    return router;
  };
};
