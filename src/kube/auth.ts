// Kubernetes decides who a caller is and what they may do: TokenReview for bearer tokens,
// SubjectAccessReview for access to CanaryPolicies, SelfSubjectReview for "who am I" (the name
// `kubectl canary` records as the author of an operation). All go through KubeApi.create.
import { createHash } from 'node:crypto';
import type { KubeApi } from './api.ts';
import type { KubeObject } from './objects.ts';

export interface AuthenticatedUser {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

export type AccessVerb = 'get' | 'list' | 'watch' | 'update' | 'patch' | 'approve';

interface UserInfoJson {
  username?: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

const userOf = (info: UserInfoJson | undefined): AuthenticatedUser | null => {
  if (info?.username === undefined || info.username === '') return null;
  return {
    username: info.username,
    ...(info.uid ? { uid: info.uid } : {}),
    groups: info.groups ?? [],
    ...(info.extra && Object.keys(info.extra).length > 0 ? { extra: info.extra } : {}),
  };
};

// Review objects are never stored; the API server ignores their name.
const review = (apiVersion: string, kind: string, spec?: object): KubeObject => ({
  apiVersion,
  kind,
  metadata: { name: '' },
  ...(spec === undefined ? {} : { spec }),
});

export interface TokenReviewOptions {
  /** Audiences the token must be valid for (default: the API server's). */
  audiences?: string[];
  /**
   * How long an answer is reused: each API request would otherwise cost a TokenReview. Short,
   * so a revoked token stops working quickly. 0 turns caching off.
   */
  cacheTtlMs?: number;
  now?: () => number;
}

/** Authenticates bearer tokens with TokenReview (authentication.k8s.io/v1). */
export function tokenReviewAuthenticator(kube: KubeApi, options: TokenReviewOptions = {}) {
  const ttl = options.cacheTtlMs ?? 10_000;
  const now = options.now ?? Date.now;
  // Keyed by a hash: the cache never holds a token itself.
  const cache = new Map<string, { user: AuthenticatedUser | null; until: number }>();
  return {
    async authenticate(token: string): Promise<AuthenticatedUser | null> {
      const key = createHash('sha256').update(token).digest('hex');
      const hit = cache.get(key);
      if (hit !== undefined && hit.until > now()) return hit.user;
      const answer = await kube.create<KubeObject & { status?: { authenticated?: boolean; user?: UserInfoJson } }>(
        review('authentication.k8s.io/v1', 'TokenReview', {
          token,
          ...(options.audiences ? { audiences: options.audiences } : {}),
        }),
      );
      const user = answer.status?.authenticated === true ? userOf(answer.status.user) : null;
      if (ttl > 0) {
        // Bounded: drop expired answers, and everything when a flood of distinct tokens arrives.
        if (cache.size >= 1000) {
          for (const [k, v] of cache) if (v.until <= now()) cache.delete(k);
          if (cache.size >= 1000) cache.clear();
        }
        cache.set(key, { user, until: now() + ttl });
      }
      return user;
    },
  };
}

/** The resource a SubjectAccessReview asks about: canaryd's CanaryPolicies by default. */
export interface AccessResource {
  group: string;
  resource: string;
}

/** Authorizes with SubjectAccessReview (authorization.k8s.io/v1) against RBAC. */
export function subjectAccessReviewAuthorizer(
  kube: KubeApi,
  resource: AccessResource = { group: 'canaryd.dev', resource: 'canarypolicies' },
) {
  return {
    async allowed(user: AuthenticatedUser, verb: AccessVerb, namespace: string, name?: string): Promise<boolean> {
      const answer = await kube.create<KubeObject & { status?: { allowed?: boolean; denied?: boolean } }>(
        review('authorization.k8s.io/v1', 'SubjectAccessReview', {
          user: user.username,
          ...(user.uid ? { uid: user.uid } : {}),
          groups: user.groups,
          ...(user.extra ? { extra: user.extra } : {}),
          resourceAttributes: {
            group: resource.group,
            resource: resource.resource,
            verb,
            // "" asks about all namespaces.
            namespace,
            ...(name === undefined ? {} : { name }),
          },
        }),
      );
      return answer.status?.allowed === true && answer.status.denied !== true;
    },
  };
}

/** Who the kubeconfig's credentials belong to (SelfSubjectReview, authentication.k8s.io/v1). */
export async function currentUser(kube: KubeApi): Promise<AuthenticatedUser | null> {
  const answer = await kube.create<KubeObject & { status?: { userInfo?: UserInfoJson } }>(
    review('authentication.k8s.io/v1', 'SelfSubjectReview'),
  );
  return userOf(answer.status?.userInfo);
}

/**
 * Authorizes as the kubeconfig's own user with SelfSubjectAccessReview (any user may ask about
 * themselves): `kubectl canary dashboard`, which acts with the person's credentials, asks this
 * before each read or write so a refusal names the missing right instead of failing later.
 */
export function selfSubjectAccessReviewAuthorizer(
  kube: KubeApi,
  resource: AccessResource = { group: 'canaryd.dev', resource: 'canarypolicies' },
) {
  return {
    async allowed(_user: AuthenticatedUser, verb: AccessVerb, namespace: string, name?: string): Promise<boolean> {
      const answer = await kube.create<KubeObject & { status?: { allowed?: boolean; denied?: boolean } }>(
        review('authorization.k8s.io/v1', 'SelfSubjectAccessReview', {
          resourceAttributes: {
            group: resource.group,
            resource: resource.resource,
            verb,
            namespace,
            ...(name === undefined ? {} : { name }),
          },
        }),
      );
      return answer.status?.allowed === true && answer.status.denied !== true;
    },
  };
}
