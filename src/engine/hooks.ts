// Hooks as the engine sees them: questions it decides to ask (callHook actions) and answers it
// reads back as facts (observed.hooks), matched by callId. Pure: the HTTP call is the
// controller's (src/hooks/), which never holds a reconcile up; a call that never answers (a
// controller restarted mid-call) is taken as inconclusive once its time budget is spent. A hook
// that times out or cannot be reached is inconclusive, never a pass (invariant 3).
import type { GateHookSpec } from '../policy/schema.ts';
import { parseDuration } from '../schedule/duration.ts';
import type { Context } from './context.ts';
import type { HookAsk, HookName, HookReleaseContext, HookResult } from './hook-calls.ts';
import type { CurrentRelease, ReleaseState } from './types.ts';

/** Pause between attempts of one call (the runner waits this, times the attempt number). */
export const HOOK_RETRY_BACKOFF_MS = 1000;
/** Beyond its attempts, how long a call may take before the engine counts it as lost. */
const LOST_CALL_GRACE_MS = 5000;

export type GateName = 'preRollout' | 'confirmStep' | 'confirmPromotion';

export type GateVerdict =
  | { kind: 'open' }
  | { kind: 'waiting'; reason: string }
  | { kind: 'pause'; reason: string }
  | { kind: 'rollback'; reason: string };

/** The longest one call may take: every attempt at its timeout plus the pauses between them. */
export function callBudgetMs(spec: Pick<GateHookSpec, 'timeout' | 'retries'>): number {
  const attempts = spec.retries + 1;
  let backoff = 0;
  for (let attempt = 1; attempt < attempts; attempt++) backoff += HOOK_RETRY_BACKOFF_MS * attempt;
  return attempts * parseDuration(spec.timeout) + backoff;
}

/** The release as a hook request describes it. */
export function releaseContext(state: ReleaseState, context: Context, nextWeight?: number): HookReleaseContext {
  const current = state.current;
  const started = current?.stepStartedAt !== undefined || (current?.stepIndex ?? 0) > 0;
  return {
    revision: current?.revision ?? state.stable?.revision ?? 0,
    templateHash: current?.templateHash ?? state.stable?.templateHash ?? '',
    changeCause: current?.changeCause ?? state.stable?.changeCause ?? '',
    phase: state.phase,
    step: current === undefined ? 0 : Math.min(current.stepIndex + (started ? 1 : 0), context.steps.length),
    steps: context.steps.length,
    weight: current?.weight ?? 0,
    ...(nextWeight === undefined ? {} : { nextWeight }),
    reason: state.reason,
  };
}

function ask(
  state: ReleaseState,
  context: Context,
  hook: HookName,
  stepIndex: number,
  previous: HookAsk | undefined,
  nextWeight?: number,
): HookAsk {
  const current = state.current!;
  const seq = (previous?.seq ?? 0) + 1;
  const callId = `${current.revision}/${hook}/${stepIndex + 1}/${seq}`;
  context.notes.push({ type: 'callHook', hook, callId, release: releaseContext(state, context, nextWeight) });
  return {
    hook,
    stepIndex,
    callId,
    seq,
    askedAt: context.nowIso,
    inconclusive: previous?.inconclusive ?? 0,
    ...(previous?.last === undefined ? {} : { last: previous.last }),
  };
}

/**
 * Reads the answer to `pending.callId` once (counting inconclusive answers in a row); a call
 * past its budget with no answer is inconclusive. Mutates `pending`.
 */
function readAnswer(pending: HookAsk, spec: GateHookSpec, context: Context): void {
  if (pending.answered !== undefined) return;
  const answer = context.observed.hooks?.[pending.hook];
  let answered: HookAsk['answered'];
  if (answer !== undefined && answer.callId === pending.callId) {
    answered = { result: answer.result, at: answer.at, message: answer.message };
  } else if (context.nowMs >= Date.parse(pending.askedAt) + callBudgetMs(spec) + LOST_CALL_GRACE_MS) {
    answered = { result: 'inconclusive', at: context.nowIso, message: 'no answer came back (the call was lost)' };
  } else {
    return;
  }
  pending.answered = answered;
  pending.last = answered;
  pending.inconclusive = answered.result === 'inconclusive' ? pending.inconclusive + 1 : 0;
}

const said = (hook: HookName, result: HookResult, message: string): string =>
  `${hook} ${result === 'refused' ? 'said no' : 'was inconclusive'}${message === '' ? '' : `: ${message}`}`;

/** Inconclusive past spec.analysis.inconclusiveLimit: the policy's onInconclusive; else null (ask again). */
function inconclusiveVerdict(pending: HookAsk, context: Context): GateVerdict | null {
  const { inconclusiveLimit, onInconclusive } = context.policy.spec.analysis;
  if (pending.inconclusive <= inconclusiveLimit) return null;
  const reason = `${pending.inconclusive} inconclusive answers of hook ${pending.hook} in a row, more than inconclusiveLimit ${inconclusiveLimit} (last: ${pending.answered?.message ?? ''})`;
  return onInconclusive === 'rollback' ? { kind: 'rollback', reason } : { kind: 'pause', reason };
}

/**
 * A gating hook (preRollout, confirmStep, confirmPromotion) for `stepIndex`: asks it when not
 * asked yet, reads its answer, asks again `interval` after a blocking "no" or an inconclusive
 * answer. Keeps its question in current.gates (a gate passed stays passed for that step).
 */
export function gate(
  state: ReleaseState,
  context: Context,
  hook: GateName,
  stepIndex: number,
  nextWeight: number,
): GateVerdict {
  const spec = context.policy.spec.hooks?.[hook];
  if (spec === undefined) return { kind: 'open' };
  const current = state.current!;
  current.gates ??= {};
  const gates = current.gates;
  const pending = gates[hook];
  if (pending === undefined || pending.stepIndex !== stepIndex) {
    gates[hook] = ask(state, context, hook, stepIndex, undefined, nextWeight);
    return { kind: 'waiting', reason: `asking hook ${hook}` };
  }
  readAnswer(pending, spec, context);
  const answered = pending.answered;
  if (answered === undefined)
    return { kind: 'waiting', reason: `waiting for hook ${hook} (asked at ${pending.askedAt})` };
  if (answered.result === 'approved') return { kind: 'open' };
  const reason = said(hook, answered.result, answered.message);
  if (answered.result === 'refused' && spec.onNo === 'rollback') return { kind: 'rollback', reason };
  if (answered.result === 'inconclusive') {
    const verdict = inconclusiveVerdict(pending, context);
    if (verdict !== null) return verdict;
  }
  const againAt = Date.parse(answered.at) + parseDuration(spec.interval);
  if (context.nowMs >= againAt) {
    gates[hook] = ask(state, context, hook, stepIndex, pending, nextWeight);
    return { kind: 'waiting', reason: `${reason}; asking again` };
  }
  return { kind: 'waiting', reason: `${reason}; asking again at ${new Date(againAt).toISOString()}` };
}

/**
 * The during hook of the step that holds its weight: asked every analysis interval; its latest
 * answer is read like a check. Returns a verdict that must act now (rollback, pause) or null.
 */
export function duringRound(state: ReleaseState, context: Context): GateVerdict | null {
  const spec = context.policy.spec.hooks?.during;
  const current = state.current!;
  if (spec === undefined || current.stepStartedAt === undefined) return null;
  let pending = current.during;
  if (pending !== undefined && pending.stepIndex !== current.stepIndex) pending = undefined;
  if (pending !== undefined) readAnswer(pending, spec, context);
  const answered = pending?.answered;
  let verdict: GateVerdict | null = null;
  if (answered !== undefined && answered.result === 'refused' && spec.onNo === 'rollback') {
    verdict = { kind: 'rollback', reason: said('during', 'refused', answered.message) };
  } else if (answered?.result === 'inconclusive') {
    verdict = inconclusiveVerdict(pending!, context);
  }
  if (verdict !== null) {
    current.during = pending;
    return verdict;
  }
  const inFlight = pending !== undefined && answered === undefined;
  const basis = Math.max(Date.parse(current.stepStartedAt), pending ? Date.parse(pending.askedAt) : 0);
  const due = basis + context.times.analysisIntervalMs;
  if (!inFlight && context.nowMs >= due && state.phase === 'progressing') {
    current.during = ask(state, context, 'during', current.stepIndex, pending);
  } else {
    current.during = pending;
  }
  return null;
}

/** What the during hook still owes before the step may advance; null when its latest answer of this step is yes. */
export function duringGate(current: CurrentRelease, context: Context): string | null {
  if (context.policy.spec.hooks?.during === undefined) return null;
  const pending = current.during;
  if (pending === undefined || pending.stepIndex !== current.stepIndex || pending.last === undefined) {
    return 'waiting for an answer of hook during in this step';
  }
  if (pending.last.result !== 'approved') return said('during', pending.last.result, pending.last.message);
  return null;
}

/** The approval gate of the step about to start: null when open (or none), else what it waits for. */
export function approvalGate(current: CurrentRelease, context: Context, approval: boolean | undefined): string | null {
  if (approval !== true) return null;
  if ((current.approvals ?? []).some((entry) => entry.stepIndex === current.stepIndex)) return null;
  return `waiting for \`kubectl canary approve ${context.policy.metadata.name}\``;
}

/** A hook told what happened (postRollout, onRollback): one call, its answer only recorded. */
export function notify(
  state: ReleaseState,
  context: Context,
  hook: 'postRollout' | 'onRollback',
  phase: ReleaseState['phase'],
  reason: string,
): void {
  if (context.policy.spec.hooks?.[hook] === undefined) return;
  const revision = state.current?.revision ?? state.stable?.revision ?? 0;
  const release = { ...releaseContext(state, context), phase, reason };
  context.notes.push({ type: 'callHook', hook, callId: `${revision}/${hook}`, release });
}

/** A person resumed a release a hook paused: inconclusive answers get a fresh allowance. */
export function resetHookPause(current: CurrentRelease): void {
  for (const [hook, pending] of Object.entries(current.gates ?? {})) {
    if (pending.answered?.result !== 'approved') delete current.gates?.[hook as GateName];
  }
  if (current.during !== undefined) current.during.inconclusive = 0;
}

/** Instants at which a hook needs the engine again: a re-ask, a lost call, the next during call. */
export function hookWakeTimes(current: CurrentRelease, context: Pick<Context, 'policy' | 'times'>): number[] {
  const hooks = context.policy.spec.hooks;
  const times: number[] = [];
  for (const pending of [...Object.values(current.gates ?? {}), current.during]) {
    if (pending === undefined) continue;
    const spec = hooks?.[pending.hook];
    if (spec === undefined || !('interval' in spec)) continue;
    if (pending.answered === undefined) {
      times.push(Date.parse(pending.askedAt) + callBudgetMs(spec) + LOST_CALL_GRACE_MS);
    } else if (pending.hook !== 'during' && pending.answered.result !== 'approved') {
      times.push(Date.parse(pending.answered.at) + parseDuration(spec.interval));
    }
  }
  if (hooks?.during !== undefined && current.stepStartedAt !== undefined) {
    const pending = current.during?.stepIndex === current.stepIndex ? current.during : undefined;
    const basis = Math.max(Date.parse(current.stepStartedAt), pending ? Date.parse(pending.askedAt) : 0);
    times.push(basis + context.times.analysisIntervalMs);
  }
  return times;
}
