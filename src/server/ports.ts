// What the HTTP service needs from the rest of canaryd: small ports, each with one job. main.ts
// passes implementations (kube/auth.ts, operations.ts, views.ts); tests pass fakes.
import type { ManualOperation } from '../engine/types.ts';
import type { ReleaseView } from './views.ts';

type MaybePromise<T> = T | Promise<T>;

/** Releases as canaryd sees them (typically from the informer cache). */
export interface ReleaseReader {
  /** Every release, or those of one namespace. */
  list(namespace?: string): MaybePromise<ReleaseView[]>;
  get(namespace: string, name: string): MaybePromise<ReleaseView | undefined>;
}

/** Hands a manual operation to the controller (see operations.ts for the annotation contract). */
export interface OperationRequester {
  /** Rejects with OperationError ("release-not-found", "operation-pending") or a KubeError. */
  request(namespace: string, name: string, operation: ManualOperation): Promise<void>;
}

export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
  /** Extra attributes from the authenticator, passed on to authorization unchanged. */
  extra?: Record<string, string[]>;
}

/** Who holds a bearer token (TokenReview). */
export interface Authenticator {
  /** null when the token is not valid; rejects when the answer cannot be had (API down). */
  authenticate(token: string): Promise<UserInfo | null>;
}

export type ApiVerb = 'get' | 'list' | 'patch' | 'approve';

/** May a user do `verb` on CanaryPolicies (SubjectAccessReview)? */
export interface Authorizer {
  /** `namespace` "" means all namespaces (a list across the cluster). */
  allowed(user: UserInfo, verb: ApiVerb, namespace: string, name?: string): Promise<boolean>;
}

export interface Readiness {
  ready: boolean;
  /** Why not, in words (e.g. "waiting for caches to sync"); or what is ready. */
  reason: string;
}
