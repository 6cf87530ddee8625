// The OpenAPI 3.1 document served at /openapi.json. Written by hand (the API is small); request
// bodies come from the zod schemas the routes validate with, so they cannot drift. A test checks
// that every route is documented and nothing else is.
import { z } from 'zod';
import { OPERATION_ROUTES } from './bodies.ts';
import { API_ERRORS } from './errors.ts';

const jsonSchema = (schema: z.ZodType): Record<string, unknown> => {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io: 'input' }) as Record<string, unknown>;
  return rest;
};

const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

const authErrors = {
  '401': errorResponse('No valid bearer token (code unauthenticated).'),
  '403': errorResponse('RBAC denies the request (code forbidden).'),
  '503': errorResponse('The Kubernetes API did not answer (code kubernetes-unavailable).'),
};

const pathParameters = [
  { name: 'namespace', in: 'path', required: true, schema: { type: 'string' } },
  { name: 'name', in: 'path', required: true, schema: { type: 'string' }, description: 'The CanaryPolicy.' },
];

const operationPaths = Object.fromEntries(
  Object.entries(OPERATION_ROUTES).map(([route, { body, summary }]) => [
    `/api/v1/namespaces/{namespace}/releases/{name}/${route}`,
    {
      post: {
        operationId: route,
        summary,
        description:
          'Needs RBAC `patch` on canarypolicies (as kubectl canary). The operation records the caller as `by`.',
        security: [{ bearer: [] }],
        parameters: pathParameters,
        requestBody: { required: false, content: { 'application/json': { schema: jsonSchema(body) } } },
        responses: {
          '202': {
            description: 'Accepted: the controller applies it on its next reconcile.',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/OperationAccepted' } } },
          },
          '400': errorResponse('Invalid path or body (codes invalid-request, invalid-body).'),
          ...authErrors,
          '404': errorResponse('No such CanaryPolicy (code release-not-found).'),
          '409': errorResponse('An earlier operation is not processed yet (code operation-pending).'),
          '413': errorResponse('Body larger than the limit (code body-too-large).'),
          '415': errorResponse('Body is not JSON (code unsupported-media-type).'),
        },
      },
    },
  ]),
);

const open = (summary: string, extra: Record<string, unknown> = {}) => ({
  get: { summary, security: [], responses: { '200': { description: 'OK' }, ...extra } },
});

export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'canaryd API',
    version: 'v1',
    description:
      'Releases managed by canaryd and their manual operations. Authenticate with a Kubernetes bearer token ' +
      '(checked by TokenReview); access is decided by Kubernetes RBAC on canarypolicies.canaryd.dev ' +
      '(SubjectAccessReview). See docs/api.md.',
  },
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'A Kubernetes token.' } },
    schemas: {
      Error: {
        type: 'object',
        required: ['code', 'message'],
        properties: { code: { type: 'string', enum: Object.keys(API_ERRORS) }, message: { type: 'string' } },
      },
      ManualOperation: {
        type: 'object',
        required: ['id', 'op', 'by', 'at'],
        properties: {
          id: { type: 'string' },
          op: {
            type: 'string',
            enum: ['pause', 'resume', 'promote', 'promoteFull', 'abort', 'retry', 'undo', 'approve'],
          },
          toRevision: { type: 'integer', minimum: 1 },
          skipCanary: { type: 'boolean' },
          by: { type: 'string', description: 'The caller, as Kubernetes authenticated them.' },
          at: { type: 'string', format: 'date-time' },
        },
      },
      OperationAccepted: {
        type: 'object',
        properties: { operation: { $ref: '#/components/schemas/ManualOperation' }, message: { type: 'string' } },
      },
      ReleaseListItem: {
        type: 'object',
        properties: {
          namespace: { type: 'string' },
          name: { type: 'string' },
          deployment: { type: 'string' },
          phase: { type: 'string' },
          weight: {
            type: 'number',
            description:
              'Measured canary share, percent: ready pods of the canary template (replica-ratio) or the weight the canary route carries as written (ingress-nginx); never the intended one.',
          },
          intendedWeight: { type: 'number', description: 'The weight the current step intends, percent.' },
          step: { type: 'string', description: '"2/4" while a release runs.' },
          lastVerdict: {
            type: 'string',
            enum: ['pass', 'fail', 'inconclusive'],
            description: 'The newest analysis round.',
          },
          message: { type: 'string' },
          nextStepAt: {
            type: 'string',
            format: 'date-time',
            description: 'When the release may next leave its step (hold end, window opening); not the next analysis.',
          },
          updatedAt: { type: 'string', format: 'date-time' },
        },
      },
      Release: {
        type: 'object',
        description:
          'A release: spec summary (steps and weights, checks) and status (phase, weight, step, router, ' +
          'conditions, the release state with history, analysis measurements). Pod templates are left out.',
        properties: {
          namespace: { type: 'string' },
          name: { type: 'string' },
          generation: { type: 'integer' },
          observed: { type: 'boolean' },
          spec: { type: ['object', 'null'] },
          status: { type: 'object' },
        },
      },
    },
  },
  paths: {
    '/healthz': open('Liveness: the process serves HTTP. No authentication.'),
    '/readyz': open('Readiness: 200 once the caches are synced, else 503 (code not-ready). No authentication.', {
      '503': errorResponse('Not ready.'),
    }),
    '/metrics': open('Prometheus metrics (text exposition). No authentication; no secrets.'),
    '/openapi.json': open('This document. No authentication.'),
    '/api/v1/releases': {
      get: {
        operationId: 'listReleases',
        summary: 'List releases, in one namespace or (RBAC `list` across the cluster) all.',
        security: [{ bearer: [] }],
        parameters: [{ name: 'namespace', in: 'query', required: false, schema: { type: 'string' } }],
        responses: {
          '200': {
            description: 'The releases.',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  properties: { items: { type: 'array', items: { $ref: '#/components/schemas/ReleaseListItem' } } },
                },
              },
            },
          },
          '400': errorResponse('Invalid namespace (code invalid-request).'),
          ...authErrors,
        },
      },
    },
    '/api/v1/namespaces/{namespace}/releases/{name}': {
      get: {
        operationId: 'getRelease',
        summary: 'One release with its steps, weights, analysis measurements and history.',
        security: [{ bearer: [] }],
        parameters: pathParameters,
        responses: {
          '200': {
            description: 'The release.',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Release' } } },
          },
          '400': errorResponse('Invalid namespace or name (code invalid-request).'),
          ...authErrors,
          '404': errorResponse('No such CanaryPolicy (code release-not-found).'),
        },
      },
    },
    '/api/v1/whoami': {
      get: {
        operationId: 'whoAmI',
        summary: 'Who the bearer token belongs to (TokenReview): the dashboard sign-in. Needs no RBAC.',
        security: [{ bearer: [] }],
        responses: { '200': { description: '{ username, groups }' }, ...authErrors },
      },
    },
    '/api/v1/namespaces/{namespace}/releases/{name}/charts': {
      get: {
        operationId: 'getReleaseCharts',
        summary:
          'Each check over the release: the PromQL canaryd last ran for canary and stable, as range queries canaryd ' +
          'runs against Prometheus (points [unix seconds, value|null]), with the thresholds. RBAC `get`.',
        security: [{ bearer: [] }],
        parameters: pathParameters,
        responses: {
          '200': {
            description: '{ start, end, stepSeconds, checks: [{ name, thresholds, canary, stable?, error? }] }',
          },
          ...authErrors,
          '404': errorResponse('No such CanaryPolicy (code release-not-found).'),
        },
      },
    },
    '/api/v1/namespaces/{namespace}/releases/{name}/events': {
      get: {
        operationId: 'getReleaseEvents',
        summary: 'The newest Kubernetes Events on the policy and its Deployments (at most 50). RBAC `get`.',
        security: [{ bearer: [] }],
        parameters: pathParameters,
        responses: {
          '200': { description: '{ items: [{ type, reason, message, object, count, lastSeen }] }' },
          ...authErrors,
        },
      },
    },
    '/ui': open('Redirects to /ui/.'),
    '/ui/*': open('The dashboard (static files; it signs in with a bearer token and reads /api). No authentication.'),
    ...operationPaths,
  },
} as const;
