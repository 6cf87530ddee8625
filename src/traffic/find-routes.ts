// The router's choice over what the namespace holds: its Ingresses (canary copies excluded),
// IngressClasses and HTTPRoutes, read and handed to chooseRouter (choose.ts, pure).
import { isKubeError, type KubeApi } from '../kube/api.ts';
import type { Ingress } from '../kube/objects.ts';
import type { RouterKind } from '../policy/schema.ts';
import { CANARY_SUFFIX } from './canary-ingress.ts';
import { chooseRouter, type IngressClass, type RouterChoice } from './choose.ts';
import { GATEWAY_API_VERSION, HTTPROUTE_KIND, type HTTPRoute } from './httproute.ts';

/** What of a policy's target the choice needs. */
export interface RouteQuery {
  namespace: string;
  service: string;
  /** target.ingresses and target.httpRoutes, when the policy names them. */
  ingresses?: string[];
  httpRoutes?: string[];
}

export async function findRoutes(kube: KubeApi, query: RouteQuery, requested: RouterKind): Promise<RouterChoice> {
  const all = await kube.list<Ingress>('networking.k8s.io/v1', 'Ingress', query.namespace);
  const classes = await kube.list<IngressClass>('networking.k8s.io/v1', 'IngressClass', '').catch(() => []);
  const httpRoutes =
    requested === 'ingress-nginx' || requested === 'replica-ratio'
      ? []
      : await kube.list<HTTPRoute>(GATEWAY_API_VERSION, HTTPROUTE_KIND, query.namespace).catch((error: unknown) => {
          // The Gateway API CRDs are not installed: no HTTPRoute can route to the Service.
          if (isKubeError(error, 'NotFound') && requested === 'auto') return [];
          throw error;
        });
  return chooseRouter({
    requested,
    service: query.service,
    namedIngresses: query.ingresses,
    ingresses: all.filter((i) => !i.metadata.name.endsWith(CANARY_SUFFIX)),
    classes,
    namedHttpRoutes: query.httpRoutes,
    httpRoutes,
  });
}
