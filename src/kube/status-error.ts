// The apiserver's error answers (a Status object with a reason) as KubeError codes a caller can
// act on: shared by both clients (client.ts over @kubernetes/client-node, rest/ over node:https).
import { KubeError, type KubeErrorCode } from './api.ts';
import type { ObjectRef } from './objects.ts';

export function codeOf(status: number, reason: string | undefined): KubeErrorCode {
  if (status === 409) return reason === 'AlreadyExists' ? 'AlreadyExists' : 'Conflict';
  const byStatus: Record<number, KubeErrorCode> = {
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'NotFound',
    422: 'Invalid',
    429: 'Unavailable',
  };
  return byStatus[status] ?? (status >= 500 ? 'Unavailable' : 'Unknown');
}

export function parseBody(body: unknown): { reason?: string; message?: string } | undefined {
  if (typeof body === 'string') {
    try {
      return JSON.parse(body) as { reason?: string; message?: string };
    } catch {
      // Not JSON (a proxy's HTML error page, say): there is no reason to extract.
      return undefined;
    }
  }
  return typeof body === 'object' && body !== null ? (body as { reason?: string; message?: string }) : undefined;
}

export const describeRef = (ref: ObjectRef | undefined) =>
  ref ? `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}` : 'object';

/** An HTTP error answer of the apiserver → KubeError ("<action> <object>: <its message>"). */
export function statusError(
  status: number,
  body: unknown,
  action: string,
  ref?: ObjectRef,
  cause?: unknown,
): KubeError {
  const parsed = parseBody(body);
  const detail = parsed?.message ?? `HTTP ${status}`;
  return new KubeError(codeOf(status, parsed?.reason), `${action} ${describeRef(ref)}: ${detail}`, {
    status,
    ref,
    cause,
  });
}
