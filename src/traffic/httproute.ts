// The Gateway API HTTPRoute (gateway.networking.k8s.io/v1) as the gateway-api router reads it:
// the plain shapes, which backendRefs name a Service, and what the Gateways say about the route
// (status.parents). Pure; gateway-api*.ts and httproute-apply.ts do the API calls, httproute-rewrite.ts,
// httproute-record.ts and httproute-testers.ts the edits, httproute-reading.ts reads the share back.
import type { KubeObject, ObjectRef } from '../kube/objects.ts';

export const GATEWAY_API_VERSION = 'gateway.networking.k8s.io/v1';
export const HTTPROUTE_KIND = 'HTTPRoute';

export interface BackendRef {
  group?: string;
  kind?: string;
  name: string;
  namespace?: string;
  /** The Service's port number (HTTPRoute has no named backend ports). */
  port?: number;
  /** Defaults to 1 (the API server writes the default). */
  weight?: number;
  filters?: unknown[];
  [extra: string]: unknown;
}

export interface HeaderMatch {
  type?: 'Exact' | 'RegularExpression';
  name: string;
  value: string;
}

export interface RouteMatch {
  path?: { type?: string; value?: string };
  headers?: HeaderMatch[];
  [extra: string]: unknown;
}

export interface RouteRule {
  name?: string;
  matches?: RouteMatch[];
  filters?: unknown[];
  backendRefs?: BackendRef[];
  [extra: string]: unknown;
}

export interface RouteCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  observedGeneration?: number;
}

export interface RouteParentStatus {
  parentRef: { group?: string; kind?: string; namespace?: string; name: string; sectionName?: string };
  controllerName?: string;
  conditions?: RouteCondition[];
}

export interface HTTPRoute extends KubeObject {
  apiVersion: typeof GATEWAY_API_VERSION;
  kind: typeof HTTPROUTE_KIND;
  spec: {
    parentRefs?: Array<{ name: string; namespace?: string; [extra: string]: unknown }>;
    hostnames?: string[];
    rules?: RouteRule[];
    [extra: string]: unknown;
  };
  status?: { parents?: RouteParentStatus[]; [extra: string]: unknown };
}

export const httpRouteRef = (namespace: string, name: string): ObjectRef => ({
  apiVersion: GATEWAY_API_VERSION,
  kind: HTTPROUTE_KIND,
  namespace,
  name,
});

/** Does this backendRef name Service `service` in `namespace` (the route's, when it names none)? */
export const refersToService = (ref: BackendRef, service: string, routeNamespace: string): boolean =>
  (ref.group ?? '') === '' &&
  (ref.kind ?? 'Service') === 'Service' &&
  ref.name === service &&
  (ref.namespace ?? routeNamespace) === routeNamespace;

const namespaceOf = (route: HTTPRoute): string => route.metadata.namespace ?? 'default';

/** A rule canaryd added for testers: every backend is the canary Service. */
export const isTesterRule = (rule: RouteRule, canaryService: string, namespace: string): boolean =>
  (rule.backendRefs ?? []).length > 0 &&
  (rule.backendRefs ?? []).every((ref) => refersToService(ref, canaryService, namespace));

/** Does a rule of this route (other than canaryd's tester rules) send requests to `service`? */
export const routeSendsTo = (route: HTTPRoute, service: string): boolean =>
  (route.spec.rules ?? []).some((rule) =>
    (rule.backendRefs ?? []).some((ref) => refersToService(ref, service, namespaceOf(route)) && (ref.weight ?? 1) > 0),
  );

export type Acceptance =
  /** Every Gateway that reported on the route accepted the current generation, refs resolved. */
  | { state: 'accepted' }
  /** No Gateway has reported on the current generation yet. */
  | { state: 'pending'; reason: string }
  /** A Gateway refused the route or one of its backendRefs: the reason, in its words. */
  | { state: 'rejected'; reason: string };

const describeParent = (parent: RouteParentStatus, routeNamespace: string): string => {
  const ref = parent.parentRef;
  const kind = ref.kind ?? 'Gateway';
  const controller = parent.controllerName === undefined ? '' : ` (${parent.controllerName})`;
  return `${kind} ${ref.namespace ?? routeNamespace}/${ref.name}${ref.sectionName ? `/${ref.sectionName}` : ''}${controller}`;
};

/**
 * What the Gateways say about the route's current generation: each parent's Accepted and
 * ResolvedRefs conditions. A parent whose conditions describe an older generation has not seen
 * the last write yet (pending); a False condition of the current generation is a rejection.
 */
export const routeAcceptance = (route: HTTPRoute): Acceptance => {
  const name = `HTTPRoute ${namespaceOf(route)}/${route.metadata.name}`;
  const generation = route.metadata.generation ?? 0;
  const parents = route.status?.parents ?? [];
  if (parents.length === 0) {
    return {
      state: 'pending',
      reason: `no Gateway has reported on ${name} yet (status.parents is empty); check that its parentRefs name a Gateway a controller serves`,
    };
  }
  const rejected: string[] = [];
  const pending: string[] = [];
  for (const parent of parents) {
    const who = describeParent(parent, namespaceOf(route));
    for (const type of ['Accepted', 'ResolvedRefs']) {
      const condition = parent.conditions?.find((candidate) => candidate.type === type);
      if (condition === undefined || (condition.observedGeneration ?? 0) < generation) {
        pending.push(`${who} has not reported ${type} for generation ${generation}`);
      } else if (condition.status !== 'True') {
        const because = [condition.reason, condition.message].filter((part) => part !== undefined && part !== '');
        rejected.push(`${who}: ${type} is ${condition.status}${because.length > 0 ? ` (${because.join(': ')})` : ''}`);
      }
    }
  }
  if (rejected.length > 0) return { state: 'rejected', reason: `${name}: ${rejected.join('; ')}` };
  if (pending.length > 0) return { state: 'pending', reason: `${name}: ${pending.join('; ')}` };
  return { state: 'accepted' };
};
