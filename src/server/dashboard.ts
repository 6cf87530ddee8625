// The API routes only the dashboard needs, with the same authentication and RBAC as the rest of
// /api: who am I (for the sign-in page), a release's charts (canaryd runs the Prometheus range
// queries; the browser never talks to Prometheus) and its Events. Plus ETags on every GET under
// /api, so the dashboard polls cheaply: an unchanged answer is a 304 without a body.
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { DashboardReader } from './dashboard-kube.ts';
import { ApiError } from './errors.ts';
import type { ApiVerb, UserInfo } from './ports.ts';

export interface DashboardRouteDeps {
  onRequest: (request: FastifyRequest) => Promise<void>;
  userOf: (request: FastifyRequest) => UserInfo | undefined;
  authorize: (request: FastifyRequest, verb: ApiVerb, namespace: string, name?: string) => Promise<UserInfo>;
  pathParams: (request: FastifyRequest) => { namespace: string; name: string };
  unavailable: (what: string, error: unknown) => ApiError;
  reader?: DashboardReader | undefined;
}

export function registerDashboardRoutes(app: FastifyInstance, deps: DashboardRouteDeps): void {
  const api = { onRequest: deps.onRequest };

  app.get('/api/v1/whoami', api, async (request) => {
    const user = deps.userOf(request);
    if (user === undefined) throw new ApiError('unauthenticated');
    return { username: user.username, groups: user.groups };
  });

  const read = async <T>(request: FastifyRequest, what: string, run: (reader: DashboardReader) => Promise<T>) => {
    const { namespace, name } = deps.pathParams(request);
    await deps.authorize(request, 'get', namespace, name);
    if (deps.reader === undefined) throw new ApiError('not-found', `This server does not serve ${what}.`);
    try {
      return await run(deps.reader);
    } catch (error) {
      if (error instanceof ApiError) throw error;
      throw deps.unavailable(`read the ${what} of CanaryPolicy ${namespace}/${name}`, error);
    }
  };

  app.get('/api/v1/namespaces/:namespace/releases/:name/charts', api, async (request) => {
    const { namespace, name } = deps.pathParams(request);
    const charts = await read(request, 'charts', (reader) => reader.charts(namespace, name));
    if (charts === undefined) throw new ApiError('release-not-found', `CanaryPolicy ${namespace}/${name} not found.`);
    return charts;
  });

  app.get('/api/v1/namespaces/:namespace/releases/:name/events', api, async (request) => {
    const { namespace, name } = deps.pathParams(request);
    return { items: await read(request, 'events', (reader) => reader.events(namespace, name)) };
  });
}

/** Weak ETags over the JSON of GET /api answers; If-None-Match → 304. Answers depend on the token. */
export function registerEtags(app: FastifyInstance): void {
  app.addHook('onSend', async (request, reply, payload) => {
    if (request.method !== 'GET' || !request.url.startsWith('/api/') || reply.statusCode !== 200) return payload;
    if (typeof payload !== 'string') return payload;
    const etag = `W/"${createHash('sha1').update(payload).digest('base64url')}"`;
    reply.header('etag', etag);
    reply.header('cache-control', 'private, no-cache');
    reply.header('vary', 'authorization');
    const asked = request.headers['if-none-match'];
    if (asked?.split(',').some((tag) => tag.trim() === etag)) {
      reply.code(304);
      return '';
    }
    return payload;
  });
}
