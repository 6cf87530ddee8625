// Every error the API answers with: a stable code string, an HTTP status and a default message.
// Bodies are `{ code, message }`. docs/api.md lists each code (a test checks it).

export const API_ERRORS = {
  unauthenticated: {
    status: 401,
    message: 'A valid Kubernetes bearer token is required (header Authorization: Bearer TOKEN).',
  },
  forbidden: { status: 403, message: 'Kubernetes RBAC does not allow this on the CanaryPolicy.' },
  'not-found': { status: 404, message: 'No such route.' },
  'release-not-found': { status: 404, message: 'No CanaryPolicy of that namespace and name.' },
  'invalid-request': { status: 400, message: 'A path or query parameter is not valid.' },
  'invalid-body': { status: 400, message: 'The request body is not valid for this operation.' },
  'unsupported-media-type': { status: 415, message: 'Send bodies as application/json.' },
  'body-too-large': { status: 413, message: 'The request body exceeds the size limit.' },
  'operation-pending': { status: 409, message: 'Another operation on this release is not processed yet.' },
  'not-ready': { status: 503, message: 'canaryd is not ready (caches not synced yet).' },
  'kubernetes-unavailable': {
    status: 503,
    message: 'The Kubernetes API did not answer (authentication, authorization or the write).',
  },
  internal: { status: 500, message: 'An unexpected error; the server log has the details.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ApiErrorCode = keyof typeof API_ERRORS;

export interface ApiErrorBody {
  code: ApiErrorCode;
  message: string;
}

export class ApiError extends Error {
  readonly code: ApiErrorCode;
  readonly status: number;
  constructor(code: ApiErrorCode, message: string = API_ERRORS[code].message) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = API_ERRORS[code].status;
  }

  toJSON(): ApiErrorBody {
    return { code: this.code, message: this.message };
  }
}

export const isApiError = (error: unknown): error is ApiError => error instanceof ApiError;
