// The dashboard's only way to data: canaryd's /api with the signed-in person's bearer token.
// GETs remember each answer's ETag and send If-None-Match, so polling an unchanged release costs
// a 304 without a body. Behind `kubectl canary dashboard` the local proxy adds the token, and
// the page needs none.

const TOKEN_KEY = 'canaryd.token';

export interface ApiFailure {
  status: number;
  code: string;
  message: string;
}

export class ApiRefusal extends Error {
  readonly status: number;
  readonly code: string;
  constructor(failure: ApiFailure) {
    super(failure.message);
    this.status = failure.status;
    this.code = failure.code;
  }
}

export const token = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (value: string) => sessionStorage.setItem(TOKEN_KEY, value.trim()),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

const cache = new Map<string, { etag: string; body: unknown }>();

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const bearer = token.get();
  return { accept: 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}), ...extra };
}

async function refusal(response: Response): Promise<ApiRefusal> {
  let body: { code?: string; message?: string } = {};
  try {
    body = (await response.json()) as typeof body;
  } catch {
    // Not our JSON (a proxy's page): the status line says enough.
  }
  return new ApiRefusal({
    status: response.status,
    code: body.code ?? `http-${response.status}`,
    message: body.message ?? `HTTP ${response.status} ${response.statusText}`,
  });
}

/** GET with ETag revalidation; rejects with ApiRefusal on a non-2xx answer. */
export async function get<T>(path: string): Promise<T> {
  const known = cache.get(path);
  const response = await fetch(path, {
    headers: headers(known ? { 'if-none-match': known.etag } : {}),
    cache: 'no-store',
  });
  if (response.status === 304 && known) return known.body as T;
  if (!response.ok) throw await refusal(response);
  const body = (await response.json()) as T;
  const etag = response.headers.get('etag');
  if (etag) cache.set(path, { etag, body });
  return body;
}

export async function post<T>(path: string, body: object): Promise<T> {
  const response = await fetch(path, {
    method: 'POST',
    headers: headers({ 'content-type': 'application/json' }),
    body: JSON.stringify(body),
    cache: 'no-store',
  });
  if (!response.ok) throw await refusal(response);
  return (await response.json()) as T;
}

export const forgetCache = () => cache.clear();

export const releasePath = (namespace: string, name: string) =>
  `/api/v1/namespaces/${encodeURIComponent(namespace)}/releases/${encodeURIComponent(name)}`;
