export { type CallOptions, type CallOutcome, callHook } from './call.ts';
export { HOOK_CALL_RESULTS, type HookCallResult, type HookMetrics, hookMetrics } from './metrics.ts';
export { buildHookRequest, HOOK_REQUEST_API_VERSION, type HookRequest, hookRequest } from './request.ts';
export { hookResponse, MAX_RESPONSE_BYTES, parseHookResponse } from './response.ts';
export { callResult, type HookAnswers, type HookCall, HookRunner, type HookRunnerOptions } from './runner.ts';
export { mergeHookAnswers } from './status.ts';
