// What a hook answers (docs/hooks.md, "Response"): a 2xx with exactly {"approved": boolean,
// "message"?: string}. Anything else is not an answer: inconclusive, never a pass.
import { z } from 'zod';
import type { HookResult } from '../engine/hook-calls.ts';

/** Larger bodies are cut off and the answer is inconclusive. */
export const MAX_RESPONSE_BYTES = 64 * 1024;
/** A message longer than this is shortened in the status. */
export const MAX_MESSAGE_CHARS = 512;

export const hookResponse = z.strictObject({
  approved: z.boolean(),
  message: z.string().optional(),
});

export interface ParsedAnswer {
  result: HookResult;
  message: string;
}

export function shorten(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > MAX_MESSAGE_CHARS ? `${flat.slice(0, MAX_MESSAGE_CHARS - 1)}…` : flat;
}

/** A 2xx body as an answer. Pure. */
export function parseHookResponse(body: string): ParsedAnswer {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    // Not JSON: said in the message, and the answer does not count.
    return { result: 'inconclusive', message: `the response is not JSON: ${shorten(body.slice(0, 80))}` };
  }
  const parsed = hookResponse.safeParse(json);
  if (!parsed.success) {
    const problem = parsed.error.issues
      .map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`)
      .join('; ');
    return {
      result: 'inconclusive',
      message: shorten(`the response is not {"approved": boolean, "message"?: string}: ${problem}`),
    };
  }
  return { result: parsed.data.approved ? 'approved' : 'refused', message: shorten(parsed.data.message ?? '') };
}
