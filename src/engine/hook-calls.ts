// Hooks as data: the hooks a policy may declare, a question the engine asked one of them
// (HookAsk, kept in the release state), its answer as the controller observed it (HookAnswer) and
// what a request tells the hook about the release (HookReleaseContext). Plain JSON, like every
// type the engine speaks; the HTTP calls are src/hooks/'s.

/** The hooks a policy may declare (spec.hooks); see docs/hooks.md. */
export type HookName = 'preRollout' | 'confirmStep' | 'confirmPromotion' | 'during' | 'postRollout' | 'onRollback';

/** approved: {"approved": true}; refused: {"approved": false}; inconclusive: no usable answer (timeout, unreachable, 4xx/5xx, malformed). */
export type HookResult = 'approved' | 'refused' | 'inconclusive';

/** A hook's answer to one call, as the controller observed it (and keeps in status.hooks). */
export interface HookAnswer {
  callId: string;
  /** When the answer came (or the last attempt gave up). */
  at: string;
  result: HookResult;
  message: string;
  latencyMs: number;
  attempts: number;
}

/** One question to a gating hook, persisted so a restarted controller neither asks twice nor forgets it asked. */
export interface HookAsk {
  hook: HookName;
  /** The step it gates (steps.length for confirmPromotion). */
  stepIndex: number;
  callId: string;
  /** Calls made for this hook and step so far (part of callId). */
  seq: number;
  askedAt: string;
  /** Inconclusive answers in a row (spec.analysis.inconclusiveLimit). */
  inconclusive: number;
  /** The answer to callId, once the engine has read it. */
  answered?: { result: HookResult; at: string; message: string };
  /** during: the latest answer of this step, kept while the next call is in flight. */
  last?: { result: HookResult; at: string; message: string };
}

/** What a hook request says about the release (docs/hooks.md, "Request"). Computed by the engine. */
export interface HookReleaseContext {
  revision: number;
  templateHash: string;
  changeCause: string;
  phase: string;
  /** 1-based; 0 before the first step. */
  step: number;
  steps: number;
  /** Weight the canary route carries now, percent. */
  weight: number;
  /** Weight the gated step would set (confirmStep, preRollout), percent; 100 for confirmPromotion. */
  nextWeight?: number;
  reason: string;
}
