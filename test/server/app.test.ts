import { describe, expect, it } from 'vitest';
import type { ManualOperation } from '../../src/engine/types.ts';
import { KubeError } from '../../src/kube/api.ts';
import { createMetrics } from '../../src/metrics/index.ts';
import {
  type ApiVerb,
  build,
  kubeOperationRequester,
  OPERATION_ANNOTATION,
  OperationError,
  type ReleaseView,
  releaseReaderOf,
  type ServerDeps,
  type UserInfo,
} from '../../src/server/index.ts';
import { FakeKube } from '../traffic/fake-kube.ts';
import { policyObject, runningStatus } from './fixtures.ts';

const NOW = new Date('2026-03-01T10:06:30.000Z');
const alice: UserInfo = { username: 'alice', uid: 'u-1', groups: ['sre'] };
const bob: UserInfo = { username: 'bob', groups: ['dev'] };
const TOKENS: Record<string, UserInfo> = { 'alice-token': alice, 'bob-token': bob };
// alice: everything in "shop" and list across the cluster; bob: get in "shop" only.
const RBAC = (user: UserInfo, verb: ApiVerb, namespace: string) =>
  user.username === 'alice'
    ? namespace === 'shop' || (verb === 'list' && namespace === '')
    : verb === 'get' && namespace === 'shop';

interface Harness {
  app: ReturnType<typeof build>;
  requested: Array<{ namespace: string; name: string; operation: ManualOperation }>;
  reviews: Array<{ user: string; verb: ApiVerb; namespace: string; name?: string }>;
  setReady(ready: boolean): void;
}

function harness(overrides: Partial<ServerDeps> = {}): Harness {
  const policies = [
    policyObject('checkout', 'shop', { status: runningStatus() }),
    policyObject('search', 'shop'),
    policyObject('billing', 'payments'),
  ];
  const requested: Harness['requested'] = [];
  const reviews: Harness['reviews'] = [];
  let ready = false;
  const metrics = createMetrics({ defaultMetrics: false });
  metrics.observeRelease('shop', 'checkout', { ...runningStatus(), release: { history: [] } });
  const app = build({
    releases: releaseReaderOf(
      () => policies,
      () => NOW,
    ),
    operations: {
      async request(namespace, name, operation) {
        if (!policies.some((p) => p.metadata.namespace === namespace && p.metadata.name === name)) {
          throw new OperationError('release-not-found', `CanaryPolicy ${namespace}/${name} not found`);
        }
        requested.push({ namespace, name, operation });
      },
    },
    authenticator: { authenticate: async (token) => TOKENS[token] ?? null },
    authorizer: {
      async allowed(user, verb, namespace, name) {
        reviews.push({ user: user.username, verb, namespace, ...(name ? { name } : {}) });
        return RBAC(user, verb, namespace);
      },
    },
    readiness: () => ({ ready, reason: ready ? 'caches synced' : 'waiting for caches to sync' }),
    registry: metrics.registry,
    now: () => NOW,
    newId: () => 'op-1',
    ...overrides,
  });
  return {
    app,
    requested,
    reviews,
    setReady: (value) => {
      ready = value;
    },
  };
}

const auth = (token = 'alice-token') => ({ authorization: `Bearer ${token}` });
const RELEASE = '/api/v1/namespaces/shop/releases/checkout';

describe('open endpoints', () => {
  it('/healthz answers without a token', async () => {
    const { app } = harness();
    const response = await app.inject({ method: 'GET', url: '/healthz' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok' });
  });

  it('/readyz is 503 until the caches are synced, then 200', async () => {
    const { app, setReady } = harness();
    const before = await app.inject({ method: 'GET', url: '/readyz' });
    expect(before.statusCode).toBe(503);
    expect(before.json()).toEqual({ code: 'not-ready', message: 'not ready: waiting for caches to sync' });
    setReady(true);
    const after = await app.inject({ method: 'GET', url: '/readyz' });
    expect(after.statusCode).toBe(200);
    expect(after.json()).toMatchObject({ status: 'ready' });
  });

  it('/metrics serves the registry in the Prometheus text format', async () => {
    const { app } = harness();
    const response = await app.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(response.body).toContain('canaryd_canary_weight_percent{namespace="shop",policy="checkout"} 5');
  });

  it('/openapi.json documents exactly the routes the app serves', async () => {
    const { app } = harness();
    await app.ready();
    const response = await app.inject({ method: 'GET', url: '/openapi.json' });
    expect(response.statusCode).toBe(200);
    const document = response.json() as {
      paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: unknown }> } }>>;
    };
    const documented = Object.entries(document.paths)
      .flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`))
      .sort();
    const served = app.routeList.map(({ method, url }) => `${method} ${url.replace(/:(\w+)/g, '{$1}')}`).sort();
    expect(documented).toEqual(served);
    expect(documented).toHaveLength(18);
    const undo = document.paths['/api/v1/namespaces/{namespace}/releases/{name}/undo'] ?? {};
    expect(undo.post?.requestBody?.content['application/json']?.schema).toMatchObject({
      required: ['toRevision'],
      additionalProperties: false,
    });
  });

  it('an unknown route is a 404 with code not-found', async () => {
    const { app } = harness();
    const response = await app.inject({ method: 'GET', url: '/api/v2/things' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({ code: 'not-found', message: 'No route GET /api/v2/things' });
  });
});

describe('authentication', () => {
  it.each([
    ['no header', {}],
    ['a basic header', { authorization: 'Basic YWxpY2U6cGFzcw==' }],
    ['an empty bearer', { authorization: 'Bearer ' }],
    ['an unknown token', auth('stolen')],
  ])('%s is a 401 with WWW-Authenticate', async (_, headers) => {
    const { app, reviews } = harness();
    const response = await app.inject({ method: 'GET', url: '/api/v1/releases', headers });
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer');
    expect(response.json()).toMatchObject({ code: 'unauthenticated' });
    expect(reviews).toEqual([]);
  });

  it('a request without a token is a 401 even with a broken body', async () => {
    const { app } = harness();
    const response = await app.inject({
      method: 'POST',
      url: `${RELEASE}/pause`,
      headers: { 'content-type': 'application/json' },
      payload: '{not json',
    });
    expect(response.statusCode).toBe(401);
  });

  it('the Kubernetes API not answering the TokenReview is a 503, not a 401', async () => {
    const { app } = harness({
      authenticator: {
        authenticate: async () => {
          throw new KubeError('Unavailable', 'create TokenReview: connect ECONNREFUSED');
        },
      },
    });
    const response = await app.inject({ method: 'GET', url: '/api/v1/releases', headers: auth() });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toEqual({
      code: 'kubernetes-unavailable',
      message: 'canaryd could not authenticate the token: create TokenReview: connect ECONNREFUSED',
    });
  });

  it('a failing SubjectAccessReview is a 503', async () => {
    const { app } = harness({
      authorizer: {
        allowed: async () => {
          throw new KubeError('Unavailable', 'timeout');
        },
      },
    });
    const response = await app.inject({ method: 'GET', url: RELEASE, headers: auth() });
    expect(response.statusCode).toBe(503);
  });
});

describe('GET /api/v1/releases', () => {
  it('lists every release for a user who may list across the cluster', async () => {
    const { app, reviews } = harness();
    const response = await app.inject({ method: 'GET', url: '/api/v1/releases', headers: auth() });
    expect(response.statusCode).toBe(200);
    const { items } = response.json() as { items: Array<{ namespace: string; name: string }> };
    expect(items.map((item) => `${item.namespace}/${item.name}`)).toEqual([
      'payments/billing',
      'shop/checkout',
      'shop/search',
    ]);
    expect(items[1]).toMatchObject({ deployment: 'checkout', phase: 'progressing', weight: 5, step: '2/4' });
    expect(reviews).toEqual([{ user: 'alice', verb: 'list', namespace: '' }]);
  });

  it('filters by ?namespace= and checks list in that namespace', async () => {
    const { app, reviews } = harness();
    const response = await app.inject({ method: 'GET', url: '/api/v1/releases?namespace=shop', headers: auth() });
    expect(response.statusCode).toBe(200);
    expect((response.json() as { items: unknown[] }).items).toHaveLength(2);
    expect(reviews).toEqual([{ user: 'alice', verb: 'list', namespace: 'shop' }]);
  });

  it('is a 403 naming the user and scope when RBAC denies list', async () => {
    const { app } = harness();
    const response = await app.inject({ method: 'GET', url: '/api/v1/releases', headers: auth('bob-token') });
    expect(response.statusCode).toBe(403);
    expect(response.json()).toEqual({
      code: 'forbidden',
      message: 'User "bob" cannot list canarypolicies.canaryd.dev across all namespaces.',
    });
  });

  it('is a 400 for a namespace that cannot exist', async () => {
    const { app, reviews } = harness();
    const response = await app.inject({
      method: 'GET',
      url: '/api/v1/releases?namespace=Not_A_Namespace',
      headers: auth(),
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 'invalid-request' });
    expect(response.json().message).toContain('namespace');
    expect(reviews).toEqual([]);
  });
});

describe('GET /api/v1/namespaces/:namespace/releases/:name', () => {
  it('returns steps, weights, measurements and history, without pod templates', async () => {
    const { app, reviews } = harness();
    const response = await app.inject({ method: 'GET', url: RELEASE, headers: auth('bob-token') });
    expect(response.statusCode).toBe(200);
    const view = response.json() as ReleaseView;
    expect(view.spec?.steps.map((step) => step.weight)).toEqual([1, 5, 25, 50]);
    expect(view.spec?.steps[2]).toEqual({ weight: 25, holdSeconds: 600, pause: true, testersOnly: false });
    expect(view.status).toMatchObject({ phase: 'progressing', weight: 5, step: '2/4', router: 'ingress-nginx' });
    expect(view.status.analysis.measurements[0]).toMatchObject({ check: 'success-rate', value: 0.998 });
    expect(view.status.release.history[0]).toMatchObject({ revision: 1, outcome: 'adopted' });
    expect(response.body).not.toContain('"template":');
    expect(reviews).toEqual([{ user: 'bob', verb: 'get', namespace: 'shop', name: 'checkout' }]);
  });

  it('is a 404 for a release that does not exist (after authorization)', async () => {
    const { app } = harness();
    const response = await app.inject({ method: 'GET', url: '/api/v1/namespaces/shop/releases/nope', headers: auth() });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({ code: 'release-not-found', message: 'CanaryPolicy shop/nope not found.' });
  });

  it('is a 403 when RBAC denies get, even for a release that does not exist', async () => {
    const { app } = harness();
    const response = await app.inject({
      method: 'GET',
      url: '/api/v1/namespaces/payments/releases/nope',
      headers: auth('bob-token'),
    });
    expect(response.statusCode).toBe(403);
  });

  it('is a 400 for an invalid name', async () => {
    const { app } = harness();
    const response = await app.inject({
      method: 'GET',
      url: '/api/v1/namespaces/shop/releases/UPPER',
      headers: auth(),
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 'invalid-request' });
  });
});

describe('POST operations', () => {
  const post = (app: Harness['app'], route: string, payload?: unknown, token = 'alice-token') =>
    app.inject({
      method: 'POST',
      url: `${RELEASE}/${route}`,
      headers: auth(token),
      ...(payload === undefined ? {} : { payload: payload as object }),
    });

  it.each([
    ['pause', undefined, { op: 'pause' }],
    ['pause', {}, { op: 'pause' }],
    ['resume', {}, { op: 'resume' }],
    ['promote', {}, { op: 'promote' }],
    ['promote', { full: false }, { op: 'promote' }],
    ['promote', { full: true }, { op: 'promoteFull' }],
    ['abort', undefined, { op: 'abort' }],
    ['retry', {}, { op: 'retry' }],
    ['retry', { toRevision: 2 }, { op: 'retry', toRevision: 2 }],
    ['undo', { toRevision: 1 }, { op: 'undo', toRevision: 1 }],
    ['undo', { toRevision: 1, skipCanary: true }, { op: 'undo', toRevision: 1, skipCanary: true }],
  ])('%s %j requests %j as the caller', async (route, payload, expected) => {
    const { app, requested, reviews } = harness();
    const response = await post(app, route, payload);
    expect(response.statusCode).toBe(202);
    const operation = { id: 'op-1', ...expected, by: 'alice', at: NOW.toISOString() };
    expect(response.json()).toMatchObject({ operation });
    expect(requested).toEqual([{ namespace: 'shop', name: 'checkout', operation }]);
    expect(reviews).toEqual([{ user: 'alice', verb: 'patch', namespace: 'shop', name: 'checkout' }]);
  });

  it.each([
    ['pause', { now: true }, 'now'],
    ['promote', { full: 'yes' }, 'full'],
    ['undo', {}, 'toRevision'],
    ['undo', { toRevision: 0 }, 'toRevision'],
    ['undo', { toRevision: 1.5 }, 'toRevision'],
    ['undo', { toRevision: 2, skipCanary: 'true' }, 'skipCanary'],
    ['retry', { toRevision: -1 }, 'toRevision'],
    ['abort', [], 'body'],
  ])('%s with %j is a 400 naming %s', async (route, payload, field) => {
    const { app, requested } = harness();
    const response = await post(app, route, payload);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 'invalid-body' });
    expect(response.json().message).toContain(field);
    expect(requested).toEqual([]);
  });

  it('malformed JSON is a 400', async () => {
    const { app } = harness();
    const response = await app.inject({
      method: 'POST',
      url: `${RELEASE}/pause`,
      headers: { ...auth(), 'content-type': 'application/json' },
      payload: '{"full": tru',
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 'invalid-body' });
  });

  it('a body that is not JSON is a 415', async () => {
    const { app } = harness();
    const response = await app.inject({
      method: 'POST',
      url: `${RELEASE}/pause`,
      headers: { ...auth(), 'content-type': 'text/plain' },
      payload: 'pause please',
    });
    expect(response.statusCode).toBe(415);
    expect(response.json()).toMatchObject({ code: 'unsupported-media-type' });
  });

  it('a body over the limit is a 413', async () => {
    const { app, requested } = harness();
    const response = await post(app, 'pause', { padding: 'x'.repeat(17 * 1024) });
    expect(response.statusCode).toBe(413);
    expect(response.json()).toMatchObject({ code: 'body-too-large' });
    expect(requested).toEqual([]);
  });

  it('is a 403 without patch permission (the verb kubectl canary needs too)', async () => {
    const { app, requested } = harness();
    const response = await post(app, 'abort', {}, 'bob-token');
    expect(response.statusCode).toBe(403);
    expect(response.json().message).toBe(
      'User "bob" cannot patch canarypolicies/checkout.canaryd.dev in namespace shop.',
    );
    expect(requested).toEqual([]);
  });

  it('is a 404 for a release that does not exist', async () => {
    const { app } = harness();
    const response = await app.inject({
      method: 'POST',
      url: '/api/v1/namespaces/shop/releases/ghost/pause',
      headers: auth(),
    });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ code: 'release-not-found' });
  });

  it('is a 409 while an earlier operation is unprocessed', async () => {
    const { app } = harness({
      operations: {
        request: async () => {
          throw new OperationError('operation-pending', 'operation pause (id x) by bob is not processed yet');
        },
      },
    });
    const response = await post(app, 'promote', {});
    expect(response.statusCode).toBe(409);
    expect(response.json()).toMatchObject({ code: 'operation-pending' });
  });

  it('a failed write is a 503 that says what failed', async () => {
    const { app } = harness({
      operations: {
        request: async () => {
          throw new KubeError('Unavailable', 'patch CanaryPolicy shop/checkout: connection reset');
        },
      },
    });
    const response = await post(app, 'pause', {});
    expect(response.statusCode).toBe(503);
    expect(response.json().message).toContain('shop/checkout');
  });

  it('an unexpected error is a 500 without internals, logged', async () => {
    const logged: string[] = [];
    const { app } = harness({
      releases: {
        list: () => {
          throw new TypeError('cannot read x of undefined');
        },
        get: () => undefined,
      },
      log: { info: () => {}, error: (message, fields) => logged.push(`${message} ${JSON.stringify(fields)}`) },
    });
    const response = await app.inject({ method: 'GET', url: '/api/v1/releases', headers: auth() });
    expect(response.statusCode).toBe(500);
    expect(response.json()).toMatchObject({ code: 'internal' });
    expect(response.body).not.toContain('undefined');
    expect(logged.join()).toContain('cannot read x of undefined');
  });

  it('with the Kubernetes requester, writes the operation annotation on the CanaryPolicy', async () => {
    const kube = new FakeKube(policyObject('checkout', 'shop', { status: runningStatus() }));
    const { app } = harness({ operations: kubeOperationRequester(kube, () => NOW) });
    const response = await post(app, 'undo', { toRevision: 1 });
    expect(response.statusCode).toBe(202);
    const stored = kube.peek({
      apiVersion: 'canaryd.dev/v1alpha1',
      kind: 'CanaryPolicy',
      namespace: 'shop',
      name: 'checkout',
    });
    expect(JSON.parse(stored?.metadata.annotations?.[OPERATION_ANNOTATION] ?? '')).toEqual({
      id: 'op-1',
      op: 'undo',
      toRevision: 1,
      at: NOW.toISOString(),
    });
    // The authenticated caller, where the admission policy can check it against the writer.
    expect(stored?.metadata.annotations?.['canaryd.dev/operation-by']).toBe('alice');
  });
});
