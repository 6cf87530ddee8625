// The TrafficRouter port: how the controller moves traffic between the stable and the canary
// version. One file per implementation (ingress-nginx.ts, replica-ratio.ts, gateway-api.ts);
// choose.ts picks one.
// Every method is idempotent and reads the cluster as the source of truth, so a restarted
// controller simply calls them again.
import type { RoutingSpec } from '../policy/schema.ts';
import { markOf, type PolicyMark } from './policy-mark.ts';

export type RouterName = 'ingress-nginx' | 'replica-ratio' | 'gateway-api';

export interface RouteTarget {
  namespace: string;
  /** The owning CanaryPolicy's name; recorded on the canary objects. */
  policy: string;
  /** The user's (stable) Deployment, Service and the Ingresses to make canaries of. */
  deployment: string;
  service: string;
  ingresses: string[];
  /** gateway-api: the HTTPRoutes whose rules send to the Service, to weigh the canary in. */
  httpRoutes?: string[];
  /** `<deployment>-canary` and `<service>-canary` unless the controller says otherwise. */
  canaryDeployment: string;
  canaryService: string;
  /** The stable Deployment's replicas before the release (the baseline surges return to). */
  stableReplicas: number;
  /** replica-ratio: extra stable replicas allowed to approach small shares. Default 0. */
  surgeBudget?: number;
  /** The CanaryPolicy as a controller reference for the canary objects (garbage-collected with it). */
  owner?: PolicyOwner;
}

/** The routing objects of a target, by name: the stable Ingresses and the HTTPRoutes. */
export interface RouteNames {
  ingresses: string[];
  httpRoutes: string[];
}

/** How a router finds the routes of a release it was chosen for (RouteTarget.ingresses, .httpRoutes). */
export interface RouteLookup {
  namespace: string;
  /** The owning CanaryPolicy's name. */
  policy: string;
  /** The routes the policy names (target.ingresses, target.httpRoutes); empty lists where it names none. */
  named: RouteNames;
  /** This router's choice over the namespace's routes now (choose.ts); throws a TrafficError when none fits. */
  choose(): Promise<RouteNames>;
  /** The policy is being deleted: hand back what is left, and never fail on what is gone. */
  deleting: boolean;
}

export interface PolicyOwner {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
}

/** metadata.ownerReferences naming the policy as the controller, when it is known. */
export const controllerRef = (owner: PolicyOwner | undefined) =>
  owner === undefined ? {} : { ownerReferences: [{ ...owner, controller: true }] };

export interface RouteStatus {
  router: RouterName;
  /** The weight canaryd asked for (percent), as recorded on the cluster. */
  requestedWeight: number;
  /** The share the cluster really gives the canary (percent): the Ingress annotations for
   *  ingress-nginx, the ready endpoints for replica-ratio. */
  achievedWeight: number;
  /** Ready pods on each side (canary: of the canary's current template only). */
  canaryReplicas: number;
  /**
   * Ready endpoints behind the canary route that run another template than the canary's (the
   * previous canary's pods while a new template replaces it): a step waits until there are none.
   */
  olderCanaryEndpoints?: number;
  stableReplicas: number;
  /** One sentence for people: what the router did or is waiting for. */
  detail: string;
  /** Set when the cluster differs from what canaryd wrote (someone edited it): what differs. */
  drift?: string;
  /** What of the route exists (the engine's `prepared`: `complete` in a step, `any` elsewhere). */
  pieces: RoutePieces;
  /** Header/cookie routing for testers is in place. */
  testersRouting: boolean;
  /** The data plane refused the route (a Gateway's Accepted/ResolvedRefs False): its reason. */
  rejected?: string;
}

/**
 * What of a route exists in the cluster. A step may only start (or skip prepareRoute) when it is
 * `complete`. Everywhere else — promotion, rollback, resting, a deleted policy — `prepared` is
 * what asks for cleanupRoute, so `any` piece left counts: promotion unpins the Service before the
 * canary objects are removed, and a half-prepared route must not stay behind.
 */
export interface RoutePieces {
  complete: boolean;
  any: boolean;
}

/** What the controller already read this pass, so the router need not read it again. */
export interface ObserveOptions {
  /** The canary Deployment exists (replica-ratio: its pods are the route). */
  canaryExists?: boolean;
}

export interface SetWeightOptions {
  /** Also remove header/cookie routing in the same write (rollback: nobody reaches the canary). */
  dropTesterRouting?: boolean;
}

export interface TrafficRouter {
  readonly kind: RouterName;
  /**
   * Ready canary pods receive traffic as soon as they are ready, whatever weight was set
   * (replica-ratio: they join the stable Service). The engine then holds the canary at the size
   * in force until a step's gates open (docs/hooks.md).
   */
  readonly canaryPodsCarryTraffic: boolean;
  /**
   * The stable Service is pinned to the stable pods while a release runs (ingress-nginx,
   * gateway-api): prepare runs before any canary pod exists, so the stable route never reaches one.
   */
  readonly pinsStableService: boolean;
  /** Header and cookie routing for testers (spec.routing) can be carried out. */
  readonly canRouteTesters: boolean;
  /**
   * The routes of a release that already runs, or of a deleted policy: the router was chosen
   * before and is kept, and what it made canaries of must still be found (to weigh, or to clean
   * up) even when a user's route went meanwhile. A new choice is choose.ts's, not this.
   */
  routesOfRelease(lookup: RouteLookup): Promise<RouteNames>;
  /** Creates the routing objects at weight 0 (before the canary has pods). Idempotent. */
  prepare(target: RouteTarget): Promise<void>;
  /** How many canary pods `weight` percent needs. */
  desiredCanaryReplicas(target: RouteTarget, weight: number): number;
  /**
   * Moves `weight` percent to the canary. Refuses a non-zero weight while the canary has no
   * ready endpoints. Weight 0 is one API write per routing object, with no read before it.
   */
  setWeight(target: RouteTarget, weight: number, options?: SetWeightOptions): Promise<RouteStatus>;
  /** Header/cookie routing for testers; undefined removes it. */
  setTesterRouting(target: RouteTarget, routing: RoutingSpec | undefined): Promise<void>;
  /**
   * Reads the route back from the cluster: the weight it carries, what of it exists, tester
   * routing and drift. Everything a reconcile needs about the route; missing objects are a
   * report, not an error.
   */
  observe(target: RouteTarget, options?: ObserveOptions): Promise<RouteStatus>;
  /** Removes the canary routing objects and restores the user's objects exactly. Idempotent. */
  cleanup(target: RouteTarget): Promise<void>;
}

export const canaryObjectNames = (deployment: string, service: string) => ({
  canaryDeployment: `${deployment}-canary`,
  canaryService: `${service}-canary`,
});

export const policyKey = (target: RouteTarget): string => `${target.namespace}/${target.policy}`;

/** The policy as its records on the user's objects name it: its key, and its uid when known. */
export const policyMark = (target: RouteTarget): PolicyMark => markOf(policyKey(target), target.owner?.uid);
