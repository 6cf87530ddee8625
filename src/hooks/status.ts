// status.hooks: the latest answer of each hook, as persisted in the CanaryPolicy status and
// shown by `kubectl canary status` and the API. Pure.
import type { HookAnswer, HookName } from '../engine/hook-calls.ts';
import type { HookAnswers } from './runner.ts';

/** The newer answer of each hook (by time) from what was persisted and what came in since. */
export function mergeHookAnswers(persisted: HookAnswers | undefined, fresh: HookAnswers): HookAnswers | undefined {
  const merged: HookAnswers = { ...persisted };
  for (const [hook, answer] of Object.entries(fresh) as Array<[HookName, HookAnswer]>) {
    const known = merged[hook];
    if (known === undefined || (known.callId !== answer.callId && Date.parse(answer.at) >= Date.parse(known.at))) {
      merged[hook] = answer;
    }
  }
  return Object.keys(merged).length === 0 ? undefined : merged;
}
