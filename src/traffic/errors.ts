// Errors of the traffic routers. Each carries a stable code the controller can branch on and a
// message a person can act on: what failed, on which object, and what to do about it.

export type TrafficErrorCode =
  /** A weight is not a number in 0..100, or cannot be written exactly as canary-weight/-total. */
  | 'InvalidWeight'
  /** Header/cookie routing that ingress-nginx would ignore or misread. */
  | 'InvalidRouting'
  /** A route with non-zero weight was requested while the canary has no ready endpoints. */
  | 'NoReadyEndpoints'
  /** Pods of another template (the previous canary's) are still ready behind the canary Service. */
  | 'OlderCanaryPods'
  /** Another canary Ingress already covers one of the same host+path pairs. */
  | 'IngressConflict'
  /** An object canaryd would create or change exists but belongs to someone else. */
  | 'NotManaged'
  /** An object the router needs (Service, Ingress, Deployment) does not exist. */
  | 'NotFound'
  /** No Ingress routes to the Service, or a named one does not. */
  | 'NoRoute'
  /** setWeight before prepare (e.g. the stable Service selector is not pinned). */
  | 'NotPrepared'
  /** The stable Deployment has pods of several ReplicaSets, so it cannot be pinned to one. */
  | 'MidRollout'
  /** router auto: both an Ingress and an HTTPRoute route to the Service. */
  | 'Ambiguous'
  /** gateway-api: no Gateway has accepted the route's current generation yet, or one rejected it. */
  | 'RouteNotAccepted';

export class TrafficError extends Error {
  readonly code: TrafficErrorCode;
  constructor(code: TrafficErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'TrafficError';
    this.code = code;
  }
}

export const isTrafficError = (error: unknown, code?: TrafficErrorCode): error is TrafficError =>
  error instanceof TrafficError && (code === undefined || error.code === code);
