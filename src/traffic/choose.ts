// Which router a policy gets. `auto` prefers ingress-nginx (exact, sub-percent weights) when an
// Ingress served by ingress-nginx routes to the Service, gateway-api when an HTTPRoute sends to
// it, else replica-ratio (coarse, but needs nothing but the Service). A Service reached through
// both an Ingress and an HTTPRoute is refused: either router would leave one path's traffic
// unsplit, and the measured share would not be the one reported. The reason is shown in the
// policy status.
import type { Ingress, KubeObject } from '../kube/objects.ts';
import type { RouterKind } from '../policy/schema.ts';
import { isCanaryIngress, routesToService } from './canary-ingress.ts';
import { TrafficError } from './errors.ts';
import { type HTTPRoute, routeSendsTo } from './httproute.ts';
import { DEFAULT_INGRESS_CLASS, LEGACY_INGRESS_CLASS, NGINX_CONTROLLER } from './labels.ts';

/** What `auto` picks when no Ingress or HTTPRoute reaches the Service: it needs nothing else. */
export const AUTO_FALLBACK = 'replica-ratio' as const;

/** The fields of a networking.k8s.io/v1 IngressClass the choice needs. */
export interface IngressClass extends KubeObject {
  apiVersion: 'networking.k8s.io/v1';
  kind: 'IngressClass';
  spec?: { controller?: string; [extra: string]: unknown };
}

export interface RouterChoice {
  kind: 'ingress-nginx' | 'replica-ratio' | 'gateway-api';
  /** One sentence for the status: why this router. */
  reason: string;
  /** The stable Ingresses to make canaries of (empty unless ingress-nginx). */
  ingresses: string[];
  /** The HTTPRoutes to weigh the canary in (empty unless gateway-api). */
  httpRoutes: string[];
}

/** Is this Ingress served by ingress-nginx (class "nginx", an IngressClass of its controller, or the default class)? */
export const isNginxIngress = (ingress: Ingress, classes: IngressClass[] = []): boolean => {
  const nginxClasses = new Set([
    'nginx',
    ...classes.filter((c) => c.spec?.controller === NGINX_CONTROLLER).map((c) => c.metadata.name),
  ]);
  const className = ingress.spec.ingressClassName ?? ingress.metadata.annotations?.[LEGACY_INGRESS_CLASS];
  if (className !== undefined) return nginxClasses.has(className);
  return classes.some(
    (c) => c.spec?.controller === NGINX_CONTROLLER && c.metadata.annotations?.[DEFAULT_INGRESS_CLASS] === 'true',
  );
};

export interface ChooseInput {
  requested: RouterKind;
  service: string;
  /** target.ingresses from the policy, when it names them. */
  namedIngresses?: string[];
  /** Every Ingress in the namespace. */
  ingresses: Ingress[];
  classes?: IngressClass[];
  /** target.httpRoutes from the policy, when it names them. */
  namedHttpRoutes?: string[];
  /** Every HTTPRoute in the namespace (empty when the Gateway API is not installed). */
  httpRoutes?: HTTPRoute[];
}

/** The HTTPRoutes for gateway-api: the named ones (checked), else every one sending to the Service. */
const routesFor = (input: ChooseInput): string[] => {
  const { service, namedHttpRoutes } = input;
  const all = input.httpRoutes ?? [];
  if (namedHttpRoutes === undefined || namedHttpRoutes.length === 0) {
    return all
      .filter((route) => routeSendsTo(route, service))
      .map((route) => route.metadata.name)
      .sort();
  }
  const byName = new Map(all.map((route) => [route.metadata.name, route]));
  for (const name of namedHttpRoutes) {
    const route = byName.get(name);
    if (route === undefined) throw new TrafficError('NotFound', `target.httpRoutes: HTTPRoute ${name} does not exist`);
    if (!routeSendsTo(route, service)) {
      throw new TrafficError(
        'NoRoute',
        `target.httpRoutes: HTTPRoute ${name} has no rule that sends to Service ${service}`,
      );
    }
  }
  return [...namedHttpRoutes].sort();
};

const names = (list: string[]) => list.join(', ');

export const chooseRouter = (input: ChooseInput): RouterChoice => {
  const { requested, service, namedIngresses } = input;
  const byName = new Map(input.ingresses.map((ingress) => [ingress.metadata.name, ingress]));
  if (namedIngresses !== undefined && namedIngresses.length > 0) {
    for (const name of namedIngresses) {
      const ingress = byName.get(name);
      if (ingress === undefined) throw new TrafficError('NotFound', `target.ingresses: Ingress ${name} does not exist`);
      if (!routesToService(ingress, service)) {
        throw new TrafficError('NoRoute', `target.ingresses: Ingress ${name} does not route to Service ${service}`);
      }
    }
  }
  const candidates =
    namedIngresses !== undefined && namedIngresses.length > 0
      ? namedIngresses.map((name) => byName.get(name)!)
      : input.ingresses.filter((ingress) => !isCanaryIngress(ingress) && routesToService(ingress, service));
  const nginx = candidates.filter((ingress) => isNginxIngress(ingress, input.classes));
  const nginxNames = nginx.map((ingress) => ingress.metadata.name).sort();
  const none = { ingresses: [], httpRoutes: [] };
  if (requested === 'replica-ratio') {
    return { kind: 'replica-ratio', reason: 'router replica-ratio was requested by the policy', ...none };
  }
  const routes = routesFor(input);
  if (requested === 'gateway-api') {
    if (routes.length === 0) {
      throw new TrafficError(
        'NoRoute',
        `router gateway-api was requested, but no HTTPRoute sends to Service ${service}; use router auto or replica-ratio`,
      );
    }
    return {
      kind: 'gateway-api',
      reason: 'router gateway-api was requested by the policy',
      ingresses: [],
      httpRoutes: routes,
    };
  }
  if (requested === 'ingress-nginx') {
    // Any class: other controllers (Traefik among them) honour the nginx canary annotations.
    if (candidates.length === 0) {
      throw new TrafficError(
        'NoRoute',
        `router ingress-nginx was requested, but no Ingress routes to Service ${service}; use router auto or replica-ratio`,
      );
    }
    const all = candidates.map((ingress) => ingress.metadata.name).sort();
    return {
      kind: 'ingress-nginx',
      reason: 'router ingress-nginx was requested by the policy',
      ingresses: all,
      httpRoutes: [],
    };
  }
  const others = candidates.map((ingress) => ingress.metadata.name).sort();
  if (others.length > 0 && routes.length > 0) {
    throw new TrafficError(
      'Ambiguous',
      `auto: both Ingress ${names(others)} and HTTPRoute ${names(routes)} route to Service ${service}; canaryd splits traffic through one of them: set spec.target.router to ingress-nginx or gateway-api (the other path's traffic then reaches the stable pods only), or remove one`,
    );
  }
  if (nginx.length > 0) {
    return {
      kind: 'ingress-nginx',
      reason: `auto: Ingress ${names(nginxNames)} of class nginx route(s) to Service ${service}`,
      ingresses: nginxNames,
      httpRoutes: [],
    };
  }
  if (routes.length > 0) {
    return {
      kind: 'gateway-api',
      reason: `auto: HTTPRoute ${names(routes)} send(s) to Service ${service}`,
      ingresses: [],
      httpRoutes: routes,
    };
  }
  return {
    kind: AUTO_FALLBACK,
    reason:
      others.length > 0
        ? `auto: Ingress ${others.join(', ')} route(s) to Service ${service} but not through ingress-nginx`
        : `auto: no Ingress or HTTPRoute routes to Service ${service}`,
    ...none,
  };
};
