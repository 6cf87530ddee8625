// The side effect of a callHook action: the HTTP call runs in the background (the reconcile that
// asked for it goes on at once), and its answer is kept here until the next reconcile reads it
// as a fact (observed.hooks) and persists it in status.hooks. A call is made once per callId;
// a controller restarted mid-call loses it, and the engine counts it as inconclusive when its
// time budget is spent (engine/hooks.ts).
import type { HookAnswer, HookName, HookReleaseContext } from '../engine/hook-calls.ts';
import type { GateHookSpec, NoticeHookSpec } from '../policy/schema.ts';
import { parseDuration } from '../schedule/duration.ts';
import { type CallOptions, type CallOutcome, callHook } from './call.ts';
import type { HookCallResult, HookMetrics } from './metrics.ts';
import { buildHookRequest } from './request.ts';

export interface HookCall {
  namespace: string;
  name: string;
  hook: HookName;
  callId: string;
  release: HookReleaseContext;
  spec: GateHookSpec | NoticeHookSpec;
}

export type HookAnswers = Partial<Record<HookName, HookAnswer>>;

export interface HookRunnerOptions {
  /** The URL stored in a Secret of the policy's namespace (spec.hooks.*.urlSecretRef). */
  readSecret(namespace: string, name: string, key: string): Promise<string>;
  /** An answer is in: reconcile this policy again. */
  onAnswer(namespace: string, name: string): void;
  now?: () => Date;
  /** Test seam: the HTTP call. */
  call?: (url: string, body: unknown, options: CallOptions) => Promise<CallOutcome>;
  log?: (message: string, fields: Record<string, unknown>) => void;
  metrics?: HookMetrics;
  /** Test seam: a monotonic clock in ms (call durations). */
  monotonicMs?: () => number;
}

/** What a call came to, for metrics (the engine only knows approved, refused, inconclusive). */
export function callResult(outcome: Pick<CallOutcome, 'result' | 'responded'>): HookCallResult {
  if (outcome.result === 'approved') return 'yes';
  if (outcome.result === 'refused') return 'no';
  return outcome.responded ? 'inconclusive' : 'error';
}

export class HookRunner {
  readonly #options: HookRunnerOptions;
  readonly #inFlight = new Set<string>();
  readonly #answers = new Map<string, HookAnswers>();

  constructor(options: HookRunnerOptions) {
    this.#options = options;
  }

  /** Starts the call unless this callId is in flight or answered; returns at once. */
  start(call: HookCall): void {
    const key = `${call.namespace}/${call.name}`;
    if (this.#inFlight.has(call.callId) || this.#answers.get(key)?.[call.hook]?.callId === call.callId) return;
    this.#inFlight.add(call.callId);
    void this.#run(call)
      .then((answer) => {
        this.#answers.set(key, { ...this.#answers.get(key), [call.hook]: answer });
        this.#options.log?.('hook answered', { policy: key, hook: call.hook, ...answer });
      })
      .finally(() => {
        this.#inFlight.delete(call.callId);
        this.#options.onAnswer(call.namespace, call.name);
      });
  }

  /** The hooks a policy configures (each reconcile): their metric series exist from now on, at 0. */
  configured(hooks: Iterable<HookName>): void {
    this.#options.metrics?.declare(hooks);
  }

  /** The latest answer of each hook of a policy since this process started. */
  answers(namespace: string, name: string): HookAnswers {
    return { ...this.#answers.get(`${namespace}/${name}`) };
  }

  /** The policy is gone: drop what is kept for it. */
  forget(namespace: string, name: string): void {
    this.#answers.delete(`${namespace}/${name}`);
  }

  async #run(call: HookCall): Promise<HookAnswer> {
    const clock = this.#options.monotonicMs ?? (() => performance.now());
    const started = clock();
    const outcome = await this.#outcome(call);
    this.#options.metrics?.observe(call.hook, callResult(outcome), (clock() - started) / 1000);
    const { responded: _responded, ...answer } = outcome;
    return { callId: call.callId, at: (this.#options.now ?? (() => new Date()))().toISOString(), ...answer };
  }

  async #outcome(call: HookCall): Promise<CallOutcome> {
    const now = this.#options.now ?? (() => new Date());
    let url: string;
    try {
      url = await this.#url(call);
    } catch (error) {
      return { result: 'inconclusive', message: (error as Error).message, latencyMs: 0, attempts: 0, responded: false };
    }
    const body = buildHookRequest(call.hook, call.callId, call, call.release, now());
    return (this.#options.call ?? callHook)(url, body, {
      timeoutMs: parseDuration(call.spec.timeout),
      retries: call.spec.retries,
    });
  }

  async #url(call: HookCall): Promise<string> {
    const { url, urlSecretRef } = call.spec;
    if (url !== undefined) return url;
    if (urlSecretRef === undefined) throw new Error(`spec.hooks.${call.hook} has no url`);
    const key = urlSecretRef.key ?? 'url';
    const where = `Secret ${call.namespace}/${urlSecretRef.name} key ${key}`;
    let value: string;
    try {
      value = (await this.#options.readSecret(call.namespace, urlSecretRef.name, key)).trim();
    } catch (error) {
      throw new Error(`could not read the hook URL from ${where}: ${(error as Error).message}`);
    }
    if (!/^https?:\/\/\S+$/.test(value)) throw new Error(`${where} does not hold an http(s) URL`);
    return value;
  }
}
