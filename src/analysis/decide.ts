// What the analysis says the release should do. Pure: the engine feeds it the counters it
// persisted and the clock, and acts on the answer.
import type { AnalysisSpec } from '../policy/schema.ts';
import { parseDuration } from '../schedule/duration.ts';
import type { Verdict } from './checks.ts';
import type { Measurement } from './evaluate.ts';
import type { SequentialEvidence } from './sequential-check.ts';

export interface RoundSummary {
  at: string;
  verdict: Verdict;
  /** `check: reason` for every check that did not pass. */
  problems: string[];
  /** Inconclusive only because sequential checks are still gathering evidence (not missing data). */
  gathering?: boolean;
  /** Passed, and every sequential check with advanceOnEvidence proved "no regression" (guards aside). */
  earlyAdvance?: boolean;
}

/**
 * Analysis counters of one release, plain JSON-safe data for the release state.
 * Failed rounds accumulate over the whole release (a flapping canary must not reset its debt by
 * passing once); inconclusive rounds count only while consecutive (a short Prometheus outage
 * should not pause a release an hour later).
 */
export interface AnalysisCounters {
  rounds: number;
  failedRounds: number;
  consecutiveInconclusiveRounds: number;
  lastRound: RoundSummary | null;
  /** The first failure of a critical check or proven regression of a sequential one: it rolls back on its own. */
  criticalFailure: { check: string; at: string; reason: string; sequential?: boolean } | null;
  /** Sequential checks' evidence, by check name: kept across rounds and controller restarts. */
  sequential?: Record<string, SequentialEvidence>;
}

export const INITIAL_COUNTERS: AnalysisCounters = {
  rounds: 0,
  failedRounds: 0,
  consecutiveInconclusiveRounds: 0,
  lastRound: null,
  criticalFailure: null,
};

/**
 * advance-now: the step may end before its hold (a sequential check proved "no regression" with
 * advanceOnEvidence); undecided: continue, a sequential check is still gathering evidence.
 */
export type AnalysisAction = 'continue' | 'undecided' | 'advance-allowed' | 'advance-now' | 'rollback' | 'pause';

export interface AnalysisDecision {
  action: AnalysisAction;
  reason: string;
}

/** A round fails if any check failed, else is inconclusive if any was (or if it is empty), else passes. */
export function roundVerdict(round: readonly Measurement[]): Verdict {
  if (round.some((m) => m.verdict === 'fail')) return 'fail';
  if (round.length === 0 || round.some((m) => m.verdict === 'inconclusive')) return 'inconclusive';
  return 'pass';
}

const advancing = (m: Measurement): boolean => m.sequential?.advanceOnEvidence === true;

/**
 * A step ends early when its advancing checks proved "no regression"; a guard (a sequential check
 * that only rolls back, holdWhileUndecided: false) does not stand in the way, a gate that waits for
 * the hold (neither flag) does.
 */
const allowsEarlyAdvance = (m: Measurement): boolean =>
  advancing(m) ? m.sequential?.outcome === 'no-regression' : m.sequential?.holdWhileUndecided === false;

/** A sequential check that counted its requests but cannot conclude yet: evidence, not missing data. */
const gathering = (m: Measurement): boolean => m.verdict === 'inconclusive' && m.sequential?.outcome === 'undecided';

/** The counters after one more round. */
export function recordRound(counters: AnalysisCounters, round: readonly Measurement[], at: Date): AnalysisCounters {
  const verdict = roundVerdict(round);
  const critical = round.find((m) => m.verdict === 'fail' && (m.critical || m.sequential?.outcome === 'regression'));
  const onlyGathering =
    verdict === 'inconclusive' && round.length > 0 && round.every((m) => m.verdict === 'pass' || gathering(m));
  const sequential = round.filter((m) => m.sequential !== undefined);
  const earlyAdvance = verdict === 'pass' && sequential.some(advancing) && sequential.every(allowsEarlyAdvance);
  const evidence = { ...counters.sequential };
  for (const m of sequential) evidence[m.check] = m.sequential!;
  const lastRound: RoundSummary = {
    at: at.toISOString(),
    verdict,
    problems: round.filter((m) => m.verdict !== 'pass').map((m) => `${m.check}: ${m.reason}`),
  };
  if (onlyGathering) lastRound.gathering = true;
  if (earlyAdvance) lastRound.earlyAdvance = true;
  const next: AnalysisCounters = {
    rounds: counters.rounds + 1,
    failedRounds: counters.failedRounds + (verdict === 'fail' ? 1 : 0),
    consecutiveInconclusiveRounds:
      verdict === 'inconclusive' && !onlyGathering ? counters.consecutiveInconclusiveRounds + 1 : 0,
    lastRound,
    criticalFailure: counters.criticalFailure ?? (critical ? criticalOf(critical) : null),
  };
  if (Object.keys(evidence).length > 0) next.sequential = evidence;
  return next;
}

function criticalOf(m: Measurement): NonNullable<AnalysisCounters['criticalFailure']> {
  const failure = { check: m.check, at: m.at, reason: m.reason };
  return m.sequential ? { ...failure, sequential: true } : failure;
}

/** After a person resumes a release paused for inconclusive analysis, it gets a fresh allowance. */
export function resumeCounters(counters: AnalysisCounters): AnalysisCounters {
  return { ...counters, consecutiveInconclusiveRounds: 0 };
}

export interface DecideContext {
  now: Date;
  /** When the current step reached its weight: evidence from before it does not count for it. */
  stepStartedAt: Date;
}

type DecideSpec = Pick<AnalysisSpec, 'checks' | 'failureLimit' | 'inconclusiveLimit' | 'onInconclusive' | 'interval'>;

/** A round older than this many intervals is stale: the analysis loop has stopped or lags. */
export const STALE_AFTER_INTERVALS = 2;

export function decide(spec: DecideSpec, counters: AnalysisCounters, context: DecideContext): AnalysisDecision {
  const last = counters.lastRound;
  const latest = last && last.problems.length > 0 ? `; latest round: ${last.problems.join('; ')}` : '';
  if (counters.criticalFailure) {
    const { check, reason, sequential } = counters.criticalFailure;
    const what = sequential ? `sequential check ${check} proved a regression` : `critical check ${check} failed`;
    return { action: 'rollback', reason: `${what}: ${reason}` };
  }
  if (counters.failedRounds > spec.failureLimit) {
    return {
      action: 'rollback',
      reason: `${counters.failedRounds} failed analysis rounds, more than failureLimit ${spec.failureLimit}${latest}`,
    };
  }
  if (counters.consecutiveInconclusiveRounds > spec.inconclusiveLimit) {
    return {
      action: spec.onInconclusive === 'rollback' ? 'rollback' : 'pause',
      reason: `${counters.consecutiveInconclusiveRounds} inconclusive analysis rounds in a row, more than inconclusiveLimit ${spec.inconclusiveLimit}${latest}`,
    };
  }
  if (spec.checks.length === 0) {
    return {
      action: 'advance-allowed',
      reason: 'the policy has no analysis checks; steps advance on their hold alone',
    };
  }
  if (last === null) return { action: 'continue', reason: 'no analysis round yet' };
  const lastAt = Date.parse(last.at);
  if (lastAt < context.stepStartedAt.getTime()) {
    return { action: 'continue', reason: 'no analysis round at this step yet' };
  }
  const maxAgeMs = STALE_AFTER_INTERVALS * parseDuration(spec.interval);
  if (context.now.getTime() - lastAt > maxAgeMs) {
    return {
      action: 'continue',
      reason: `latest analysis round (${last.at}) is older than ${STALE_AFTER_INTERVALS} intervals`,
    };
  }
  if (last.gathering) {
    return { action: 'undecided', reason: `sequential analysis is still gathering evidence${latest}` };
  }
  if (last.verdict !== 'pass') {
    return { action: 'continue', reason: `latest analysis round is ${last.verdict}${latest}` };
  }
  if (last.earlyAdvance) {
    return {
      action: 'advance-now',
      reason: 'every check passed and the sequential checks proved no regression beyond delta (advanceOnEvidence)',
    };
  }
  return { action: 'advance-allowed', reason: 'every check passed in the latest round' };
}
