// One delivery attempt to one receiver: the body for its type, the headers (idempotency key,
// signature), Node's fetch with an AbortSignal timeout, and what the answer means for a retry.

import type { SecretSource } from '../kube/secrets.ts';
import { parseDuration } from '../schedule/duration.ts';
import type { ReceiverSettings } from '../settings/notifications.ts';
import { slackMessage, teamsMessage } from './chat.ts';
import type { Notification } from './events.ts';
import type { AttemptResult } from './queue.ts';
import { IDEMPOTENCY_HEADER, SIGNATURE_HEADER, signature } from './sign.ts';
import { cloudEvent, webhookBody } from './webhook.ts';

export const EVENT_HEADER = 'x-canaryd-event';

export interface SendDeps {
  secrets: SecretSource;
  fetch?: typeof fetch;
  nowMs?: () => number;
}

export interface PreparedRequest {
  body: string;
  headers: Record<string, string>;
}

/** The request body and headers for a receiver (no I/O but reading the signing key). */
export function requestFor(
  receiver: ReceiverSettings,
  notification: Notification,
  signingKey: string | undefined,
  nowMs: number,
): PreparedRequest {
  let payload: object;
  let contentType = 'application/json';
  if (receiver.type === 'slack') payload = slackMessage(notification);
  else if (receiver.type === 'teams') payload = teamsMessage(notification);
  else if (receiver.cloudEvents) {
    payload = cloudEvent(notification);
    contentType = 'application/cloudevents+json';
  } else payload = webhookBody(notification);
  const body = JSON.stringify(payload);
  const headers: Record<string, string> = {
    'content-type': contentType,
    'user-agent': 'canaryd',
    [IDEMPOTENCY_HEADER]: notification.id,
    [EVENT_HEADER]: notification.type,
  };
  if (signingKey !== undefined) headers[SIGNATURE_HEADER] = signature(signingKey, body, Math.floor(nowMs / 1000));
  return { body, headers };
}

export async function sendOnce(
  receiver: ReceiverSettings,
  notification: Notification,
  deps: SendDeps,
  stop: AbortSignal,
): Promise<AttemptResult> {
  let url: string;
  let signingKey: string | undefined;
  try {
    url = await deps.secrets.value(receiver.url.secretKeyRef);
    if (receiver.signingSecret !== undefined)
      signingKey = await deps.secrets.value(receiver.signingSecret.secretKeyRef);
  } catch (error) {
    // The Secret may be created or fixed meanwhile: retried until the deadline.
    return { ok: false, retry: true, reason: (error as Error).message };
  }
  if (!/^https?:\/\//.test(url)) {
    return {
      ok: false,
      retry: true,
      reason: `the URL in Secret ${receiver.url.secretKeyRef.namespace}/${receiver.url.secretKeyRef.name} is not http(s)`,
    };
  }
  const request = requestFor(receiver, notification, signingKey, (deps.nowMs ?? Date.now)());
  const timeoutMs = parseDuration(receiver.timeout);
  let response: Response;
  try {
    response = await (deps.fetch ?? fetch)(url, {
      method: 'POST',
      body: request.body,
      headers: request.headers,
      // A redirect could carry the signed body elsewhere: not followed, reported as a refusal.
      redirect: 'manual',
      signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), stop]),
    });
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'TimeoutError') return { ok: false, retry: true, reason: `no answer within ${receiver.timeout}` };
    const cause = (error as Error & { cause?: Error }).cause;
    return { ok: false, retry: true, reason: `request failed: ${cause?.message ?? (error as Error).message}` };
  }
  // The body is not read (nothing in it changes what canaryd does); release the connection.
  await response.body?.cancel().catch(() => {
    // Already closed by the peer: nothing to release.
  });
  return outcomeOf(response.status, response.headers.get('retry-after'));
}

/** 2xx: delivered. 408, 425, 429, 5xx: retried. Anything else (4xx, 3xx): refused, not retried. */
export function outcomeOf(status: number, retryAfter: string | null): AttemptResult {
  if (status >= 200 && status < 300) return { ok: true };
  const retry = status === 408 || status === 425 || status === 429 || status >= 500;
  const seconds = retryAfter === null ? Number.NaN : Number(retryAfter);
  return {
    ok: false,
    retry,
    reason: `HTTP ${status}`,
    ...(retry && Number.isFinite(seconds) && seconds >= 0 ? { retryAfterMs: seconds * 1000 } : {}),
  };
}
