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
