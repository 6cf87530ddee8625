// One hook call: POST the request, up to 1 + retries attempts (each with its own timeout), the
// response read to at most MAX_RESPONSE_BYTES. Never throws: every failure is an inconclusive
// answer whose message says what happened.

import type { HookResult } from '../engine/hook-calls.ts';
import { HOOK_RETRY_BACKOFF_MS } from '../engine/hooks.ts';
import { MAX_RESPONSE_BYTES, parseHookResponse, shorten } from './response.ts';

export interface CallOptions {
  timeoutMs: number;
  retries: number;
  /** Test seam; the default waits with setTimeout. */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

export interface CallOutcome {
  result: HookResult;
  message: string;
  latencyMs: number;
  attempts: number;
  /** An HTTP answer came back to the last attempt (for metrics: inconclusive vs no answer at all). */
  responded: boolean;
}

type Attempt = CallOutcome & { retry: boolean };

export async function callHook(url: string, body: unknown, options: CallOptions): Promise<CallOutcome> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const now = options.now ?? (() => performance.now());
  const payload = JSON.stringify(body);
  let last: Attempt | undefined;
  for (let attempt = 1; attempt <= options.retries + 1; attempt++) {
    if (attempt > 1) await sleep(HOOK_RETRY_BACKOFF_MS * (attempt - 1));
    const started = now();
    const outcome = await once(url, payload, options.timeoutMs);
    last = { ...outcome, latencyMs: Math.round(now() - started), attempts: attempt };
    if (!last.retry) break;
  }
  const { retry: _retry, ...answer } = last!;
  return answer;
}

async function once(url: string, payload: string, timeoutMs: number): Promise<Omit<Attempt, 'latencyMs' | 'attempts'>> {
  const inconclusive = (message: string, retry: boolean, responded = true) => ({
    result: 'inconclusive' as const,
    message,
    retry,
    responded,
  });
  const signal = AbortSignal.timeout(timeoutMs);
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'canaryd-hooks/1' },
      body: payload,
      redirect: 'manual',
      signal,
    });
  } catch (error) {
    return inconclusive(describeFailure(error, signal, timeoutMs), true, false);
  }
  let text: string;
  try {
    text = await readLimited(response, signal);
  } catch (error) {
    // Too large is an answer (unusable); a body cut off by the timeout or the connection is none.
    const tooLarge = error instanceof TooLarge;
    return inconclusive(describeFailure(error, signal, timeoutMs), !tooLarge, tooLarge);
  }
  if (response.status >= 500) return inconclusive(`HTTP ${response.status}: ${shorten(text.slice(0, 200))}`, true);
  if (response.status < 200 || response.status >= 300) {
    // A 4xx or a redirect is a receiver or a URL that is wrong: asking again now will not help.
    return inconclusive(`HTTP ${response.status}: ${shorten(text.slice(0, 200))}`, false);
  }
  return { ...parseHookResponse(text), retry: false, responded: true };
}

class TooLarge extends Error {}

async function readLimited(response: Response, signal: AbortSignal): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > MAX_RESPONSE_BYTES) {
    await response.body?.cancel();
    throw new TooLarge(`the response is larger than ${MAX_RESPONSE_BYTES} bytes`);
  }
  const reader = response.body?.getReader();
  if (reader === undefined) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    if (signal.aborted) throw signal.reason;
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_RESPONSE_BYTES) {
      await reader.cancel();
      throw new TooLarge(`the response is larger than ${MAX_RESPONSE_BYTES} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function describeFailure(error: unknown, signal: AbortSignal, timeoutMs: number): string {
  if (error instanceof TooLarge) return error.message;
  if (signal.aborted) return `no answer within the timeout (${timeoutMs} ms)`;
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const detail = cause?.code ?? cause?.message ?? (error as Error).message;
  return `unreachable: ${detail}`;
}
