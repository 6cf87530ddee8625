import { describe, expect, it } from 'vitest';
import { KubeError } from '../../src/kube/api.ts';
import { currentUser, subjectAccessReviewAuthorizer, tokenReviewAuthenticator } from '../../src/kube/auth.ts';
import type { KubeObject } from '../../src/kube/objects.ts';
import { FakeKube } from '../traffic/fake-kube.ts';

/** A KubeApi whose create answers review objects the way the API server does. */
class ReviewingKube extends FakeKube {
  readonly sent: KubeObject[] = [];
  readonly answer: (review: KubeObject) => object;
  constructor(answer: (review: KubeObject) => object) {
    super();
    this.answer = answer;
  }
  override async create<T extends KubeObject>(object: T): Promise<T> {
    this.sent.push(structuredClone(object));
    return { ...object, status: this.answer(object) } as T;
  }
}

const spec = (review: KubeObject | undefined) => review?.spec as Record<string, unknown>;

describe('tokenReviewAuthenticator', () => {
  const kube = () =>
    new ReviewingKube((review) =>
      spec(review).token === 'good'
        ? {
            authenticated: true,
            user: {
              username: 'system:serviceaccount:ci:deployer',
              uid: 'u-7',
              groups: ['system:serviceaccounts', 'system:authenticated'],
              extra: { 'authentication.kubernetes.io/pod-name': ['deployer-1'] },
            },
          }
        : { authenticated: false, error: 'invalid bearer token' },
    );

  it('sends a TokenReview and returns the user Kubernetes names', async () => {
    const api = kube();
    const user = await tokenReviewAuthenticator(api, { audiences: ['canaryd'] }).authenticate('good');
    expect(user).toEqual({
      username: 'system:serviceaccount:ci:deployer',
      uid: 'u-7',
      groups: ['system:serviceaccounts', 'system:authenticated'],
      extra: { 'authentication.kubernetes.io/pod-name': ['deployer-1'] },
    });
    expect(api.sent[0]).toMatchObject({
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenReview',
      spec: { token: 'good', audiences: ['canaryd'] },
    });
  });

  it('returns null for a token Kubernetes does not accept', async () => {
    expect(await tokenReviewAuthenticator(kube()).authenticate('bad')).toBeNull();
  });

  it('reuses an answer within the TTL and asks again after it', async () => {
    const api = kube();
    let clock = 0;
    const authenticator = tokenReviewAuthenticator(api, { cacheTtlMs: 10_000, now: () => clock });
    await authenticator.authenticate('good');
    clock = 9_999;
    await authenticator.authenticate('good');
    expect(api.sent).toHaveLength(1);
    clock = 10_000;
    await authenticator.authenticate('good');
    expect(api.sent).toHaveLength(2);
  });

  it('does not cache failures to ask (the API being down)', async () => {
    const api = kube();
    const authenticator = tokenReviewAuthenticator(api);
    api.create = async () => {
      throw new KubeError('Unavailable', 'connection refused');
    };
    await expect(authenticator.authenticate('good')).rejects.toThrow('connection refused');
  });
});

describe('subjectAccessReviewAuthorizer', () => {
  it('asks about canarypolicies.canaryd.dev for the user, with groups and extra', async () => {
    const api = new ReviewingKube(() => ({ allowed: true }));
    const allowed = await subjectAccessReviewAuthorizer(api).allowed(
      { username: 'alice', uid: 'u-1', groups: ['sre'], extra: { scopes: ['x'] } },
      'update',
      'shop',
      'checkout',
    );
    expect(allowed).toBe(true);
    expect(api.sent[0]).toEqual({
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      metadata: { name: '' },
      spec: {
        user: 'alice',
        uid: 'u-1',
        groups: ['sre'],
        extra: { scopes: ['x'] },
        resourceAttributes: {
          group: 'canaryd.dev',
          resource: 'canarypolicies',
          verb: 'update',
          namespace: 'shop',
          name: 'checkout',
        },
      },
    });
  });

  it('a list across the cluster asks with namespace "" and no name', async () => {
    const api = new ReviewingKube(() => ({ allowed: false, reason: 'no RBAC policy matched' }));
    const allowed = await subjectAccessReviewAuthorizer(api).allowed({ username: 'bob', groups: [] }, 'list', '');
    expect(allowed).toBe(false);
    expect(spec(api.sent[0]).resourceAttributes).toEqual({
      group: 'canaryd.dev',
      resource: 'canarypolicies',
      verb: 'list',
      namespace: '',
    });
  });

  it('an explicit deny wins', async () => {
    const api = new ReviewingKube(() => ({ allowed: true, denied: true }));
    expect(await subjectAccessReviewAuthorizer(api).allowed({ username: 'bob', groups: [] }, 'get', 'shop')).toBe(
      false,
    );
  });
});

describe('currentUser', () => {
  it('reads the caller from a SelfSubjectReview', async () => {
    const api = new ReviewingKube(() => ({ userInfo: { username: 'kubernetes-admin', groups: ['system:masters'] } }));
    expect(await currentUser(api)).toEqual({ username: 'kubernetes-admin', groups: ['system:masters'] });
    expect(api.sent[0]).toEqual({
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'SelfSubjectReview',
      metadata: { name: '' },
    });
  });

  it('is null when the answer names nobody', async () => {
    expect(await currentUser(new ReviewingKube(() => ({})))).toBeNull();
  });
});
