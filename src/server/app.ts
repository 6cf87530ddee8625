// The canaryd HTTP service: build(deps) makes the fastify app without listening (tests use
// inject()); listen.ts binds it. /healthz, /readyz and /metrics are open (probes and Prometheus
// scrapes carry no token; the metrics hold no secrets); /api/ needs a Kubernetes bearer token and
// RBAC on canarypolicies (canaryd.dev). /ui serves the dashboard's files (ui.ts), which hold no
// data: the page asks /api with the person's own token.
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import type { z } from 'zod';
import { isKubeError } from '../kube/api.ts';
import { OPERATION_ROUTES, type OperationRoute, objectName, operationRequestOf } from './bodies.ts';
import { registerDashboardRoutes, registerEtags } from './dashboard.ts';
import type { DashboardReader } from './dashboard-kube.ts';
import { API_ERRORS, ApiError, type ApiErrorCode } from './errors.ts';
import { openApiDocument } from './openapi.ts';
import { newOperation, OperationError } from './operations.ts';
import type {
  ApiVerb,
  Authenticator,
  Authorizer,
  OperationRequester,
  Readiness,
  ReleaseReader,
  UserInfo,
} from './ports.ts';
import { registerUi } from './ui.ts';
import { listItemOf } from './views.ts';

export const DEFAULT_BODY_LIMIT = 16 * 1024;

export interface ServerLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export interface ServerDeps {
  releases: ReleaseReader;
  operations: OperationRequester;
  authenticator: Authenticator;
  authorizer: Authorizer;
  readiness: () => Readiness;
  /** The registry /metrics exposes (createMetrics().registry). */
  registry: Registry;
  now?: () => Date;
  /** Operation ids; default randomUUID. */
  newId?: () => string;
  log?: ServerLogger;
  bodyLimit?: number;
  /** The dashboard's charts and Events (dashboard-kube.ts); without it those routes answer 404. */
  dashboard?: DashboardReader;
  /** Serve the dashboard's files under /ui from this directory (ui.ts); false: no /ui. */
  uiDir?: string | false;
}

export interface RouteInfo {
  method: string;
  url: string;
}

const quiet: ServerLogger = { info: () => {}, error: () => {} };

export function build(deps: ServerDeps): FastifyInstance & { routeList: RouteInfo[] } {
  const now = deps.now ?? (() => new Date());
  const log = deps.log ?? quiet;
  const app = Fastify({ bodyLimit: deps.bodyLimit ?? DEFAULT_BODY_LIMIT, logger: false });
  // JSON only: a text/plain body is a 415, not a string the body schemas then reject.
  app.removeContentTypeParser('text/plain');
  const routeList: RouteInfo[] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      if (method !== 'HEAD') routeList.push({ method, url: route.url });
    }
  });
  const users = new WeakMap<FastifyRequest, UserInfo>();

  app.setErrorHandler((error, request, reply) => {
    const apiError = toApiError(error);
    if (apiError.code === 'internal') {
      log.error('request failed', { method: request.method, url: request.url, error: String(error) });
    }
    return sendError(reply, apiError);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, new ApiError('not-found', `No route ${request.method} ${request.url.split('?')[0]}`)),
  );

  // Open endpoints.
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const readiness = deps.readiness();
    if (!readiness.ready) return sendError(reply, new ApiError('not-ready', `not ready: ${readiness.reason}`));
    return { status: 'ready', reason: readiness.reason };
  });
  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', deps.registry.contentType);
    return deps.registry.metrics();
  });
  app.get('/openapi.json', async () => openApiDocument);

  // Authentication runs before the body is read, so a caller without a token learns nothing
  // from body errors.
  const authenticate = async (request: FastifyRequest) => {
    const match = /^Bearer +(\S+)\s*$/i.exec(request.headers.authorization ?? '');
    if (match?.[1] === undefined) throw new ApiError('unauthenticated');
    let user: UserInfo | null;
    try {
      user = await deps.authenticator.authenticate(match[1]);
    } catch (error) {
      throw unavailable('authenticate the token', error);
    }
    if (user === null) throw new ApiError('unauthenticated', 'The bearer token is not valid (TokenReview).');
    users.set(request, user);
  };

  const authorize = async (request: FastifyRequest, verb: ApiVerb, namespace: string, name?: string) => {
    const user = users.get(request);
    if (user === undefined) throw new ApiError('unauthenticated');
    let allowed: boolean;
    try {
      allowed = await deps.authorizer.allowed(user, verb, namespace, name);
    } catch (error) {
      throw unavailable('authorize the request', error);
    }
    if (!allowed) {
      const what = name === undefined ? 'canarypolicies' : `canarypolicies/${name}`;
      const where = namespace === '' ? 'across all namespaces' : `in namespace ${namespace}`;
      throw new ApiError('forbidden', `User "${user.username}" cannot ${verb} ${what}.canaryd.dev ${where}.`);
    }
    return user;
  };

  const api = { onRequest: authenticate };

  app.get('/api/v1/releases', api, async (request) => {
    const query = request.query as { namespace?: unknown };
    const namespace = query.namespace === undefined ? '' : param('namespace', query.namespace);
    await authorize(request, 'list', namespace);
    const views = await deps.releases.list(namespace === '' ? undefined : namespace);
    return { items: views.map(listItemOf) };
  });

  app.get('/api/v1/namespaces/:namespace/releases/:name', api, async (request) => {
    const { namespace, name } = pathParams(request);
    await authorize(request, 'get', namespace, name);
    const view = await deps.releases.get(namespace, name);
    if (view === undefined) throw notFound(namespace, name);
    return view;
  });

  for (const route of Object.keys(OPERATION_ROUTES) as OperationRoute[]) {
    app.post(`/api/v1/namespaces/:namespace/releases/:name/${route}`, api, async (request, reply) => {
      const { namespace, name } = pathParams(request);
      // The same verb the CLI path needs to write the annotation (docs/operations.md, "Who may operate");
      // approving is a right of its own, which the admission policy checks on the CLI path (docs/hooks.md).
      const user = await authorize(request, route === 'approve' ? 'approve' : 'patch', namespace, name);
      const body = validBody(OPERATION_ROUTES[route].body, request.body);
      const operation = newOperation(
        operationRequestOf(route, body),
        user.username,
        now(),
        ...(deps.newId ? [deps.newId()] : []),
      );
      try {
        await deps.operations.request(namespace, name, operation);
      } catch (error) {
        if (error instanceof OperationError) throw new ApiError(error.code, error.message);
        throw unavailable(`write the operation to CanaryPolicy ${namespace}/${name}`, error);
      }
      log.info('operation requested', { namespace, name, op: operation.op, id: operation.id, by: operation.by });
      return reply.code(202).send({
        operation,
        message: `${operation.op} accepted for ${namespace}/${name}; canaryd applies it on its next reconcile`,
      });
    });
  }

  registerDashboardRoutes(app, {
    onRequest: authenticate,
    userOf: (request) => users.get(request),
    authorize,
    pathParams,
    unavailable,
    reader: deps.dashboard,
  });
  registerEtags(app);
  if (deps.uiDir !== false) registerUi(app, deps.uiDir);

  return Object.assign(app, { routeList });
}

function sendError(reply: FastifyReply, error: ApiError) {
  if (error.code === 'unauthenticated') reply.header('www-authenticate', 'Bearer');
  return reply.code(error.status).send(error.toJSON());
}

// fastify's own errors (body parsing) onto our codes.
const FASTIFY_CODES: Record<string, ApiErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'body-too-large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported-media-type',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid-body',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid-body',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid-body',
};

function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  const fastifyCode = (error as { code?: string }).code;
  const mapped = fastifyCode === undefined ? undefined : FASTIFY_CODES[fastifyCode];
  if (mapped !== undefined) return new ApiError(mapped, `${API_ERRORS[mapped].message} (${(error as Error).message})`);
  const status = (error as { statusCode?: number }).statusCode;
  if (status !== undefined && status >= 400 && status < 500)
    return new ApiError('invalid-body', (error as Error).message);
  return new ApiError('internal');
}

function unavailable(what: string, error: unknown): ApiError {
  if (isKubeError(error, 'Forbidden')) {
    // canaryd's own ServiceAccount lacks a permission: an install problem, not the caller's.
    return new ApiError('internal', `canaryd could not ${what}: ${error.message}`);
  }
  return new ApiError('kubernetes-unavailable', `canaryd could not ${what}: ${(error as Error).message}`);
}

const notFound = (namespace: string, name: string) =>
  new ApiError('release-not-found', `CanaryPolicy ${namespace}/${name} not found.`);

function param(field: string, value: unknown): string {
  const parsed = objectName.safeParse(value);
  if (!parsed.success) {
    throw new ApiError(
      'invalid-request',
      `${field}: ${parsed.error.issues[0]?.message ?? 'invalid'}, got ${JSON.stringify(value)}`,
    );
  }
  return parsed.data;
}

function pathParams(request: FastifyRequest): { namespace: string; name: string } {
  const params = request.params as { namespace?: unknown; name?: unknown };
  return { namespace: param('namespace', params.namespace), name: param('name', params.name) };
}

function validBody<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  // No body at all is the same as {}.
  const parsed = schema.safeParse(body ?? {});
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => {
    const path = issue.path.length > 0 ? issue.path.join('.') : 'body';
    return `${path}: ${issue.message}`;
  });
  throw new ApiError('invalid-body', issues.join('; '));
}
