// What of a route exists, for the routers whose route is several objects found by name
// (ingress-nginx, replica-ratio): pure, from what their observe() read. gateway-api reports its
// own from the routes' records.
import type { RoutePieces } from './router.ts';

/** What of an ingress-nginx route exists in the cluster. */
export interface NginxRouteFound {
  canaryService: boolean;
  /** One entry per stable Ingress: does its canary Ingress exist? */
  canaryIngresses: boolean[];
  /** The stable Service carries the pin (canaryd.dev/original-selector). */
  pinned: boolean;
}

/**
 * A step needs every piece. Outside a step any piece left asks for cleanup: promotion unpins the
 * Service before the canary Ingress and Service are removed.
 */
export function nginxRoutePieces(found: NginxRouteFound): RoutePieces {
  const ingresses = found.canaryIngresses;
  return {
    complete: found.canaryService && found.pinned && ingresses.every(Boolean),
    any: found.canaryService || found.pinned || ingresses.some(Boolean),
  };
}

/** What of a replica-ratio route exists in the cluster. */
export interface ReplicaRatioRouteFound {
  canaryDeployment: boolean;
  /** The stable Service carries an ingress-nginx pin, which keeps canary pods out (or is gone). */
  pinned: boolean;
  /** The stable Service carries the selector recorded at the release's start. */
  selectorRecorded: boolean;
  /** The stable Deployment is surged (canaryd.dev/original-replicas). */
  surged: boolean;
}

/**
 * replica-ratio has no routing objects: its route is the canary pods in the stable Service (not
 * pinned) plus any surge of the stable side, which cleanup must undo. In a step, canary pods join
 * the unpinned Service whose selector is recorded; elsewhere, anything left for cleanup counts.
 */
export function replicaRatioRoutePieces(found: ReplicaRatioRouteFound): RoutePieces {
  return {
    complete: found.canaryDeployment && !found.pinned && found.selectorRecorded,
    any: (found.canaryDeployment && !found.pinned) || found.selectorRecorded || found.surged,
  };
}
