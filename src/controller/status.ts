// The CanaryPolicy status: where canaryd keeps everything it must not forget (the engine's
// ReleaseState, analysis counters and measurements, the last valid spec) plus a summary for
// people and printer columns. Pure: built from data, written by the reconciler.
import type { AnalysisCounters, Measurement } from '../analysis/index.ts';
import { INITIAL_COUNTERS } from '../analysis/index.ts';
import { type HistoryEntry, initialState, planSteps, type ReleaseState } from '../engine/index.ts';
import type { HookAnswers } from '../hooks/index.ts';
import type { Notification } from '../notify/events.ts';
import type { PolicyOnRecord } from '../notify/recovery.ts';
import type { CanaryPolicy, CanaryPolicySpec } from '../policy/schema.ts';

export interface Condition {
  type: 'Valid' | 'Ready' | 'Progressing' | 'Reconciled';
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
}

export interface AnalysisStatus {
  /** Counters belong to one release (template hash); a new release starts from zero. */
  templateHash?: string;
  counters: AnalysisCounters;
  /** Newest last, bounded. */
  measurements: Measurement[];
}

export interface PolicyStatus {
  phase: string;
  /**
   * The share the canary really gets, percent, as measured: ready pods of the canary template
   * (replica-ratio, wherever they run) or the weight the canary route carries as written.
   */
  weight: number;
  /** The weight canaryd's plan gives the current step (what it asks the router for), percent. */
  intendedWeight?: number;
  /** "2/4" while a release runs. */
  step: string;
  router?: string;
  routerReason?: string;
  message: string;
  observedGeneration?: number;
  conditions: Condition[];
  /** The last spec that passed validation: it stays in force while a newer one is invalid. */
  activeSpec?: CanaryPolicySpec;
  activeGeneration?: number;
  release: ReleaseState;
  analysis: AnalysisStatus;
  /** When the release may next leave its step: the hold's end or a window opening (engine/next.ts). */
  nextStepAt?: string;
  /** When analysis next measures this step. */
  nextAnalysisAt?: string;
  /** The latest answer of each hook (spec.hooks): when, what, why, how long it took. */
  hooks?: HookAnswers;
  /**
   * The notifications of the latest decisions, written with the decision itself (without a
   * measured share): a canaryd killed before its outbox had them sends them after its restart
   * (notify/recovery.ts). Bounded: the last few, of the last minutes.
   */
  notifications?: Notification[];
  updatedAt: string;
}

export function emptyStatus(now: Date): PolicyStatus {
  return {
    phase: 'idle',
    weight: 0,
    step: '',
    message: 'not adopted yet',
    conditions: [],
    release: initialState(),
    analysis: { counters: structuredClone(INITIAL_COUNTERS), measurements: [] },
    updatedAt: now.toISOString(),
  };
}

/**
 * The status as it is stored: the stable revision's pod template is written once. A history
 * entry of the same template (the adopted or promoted revision, the newest good one) carries none;
 * readStatus puts it back. Every status write sends, and every watch event brings, the whole
 * status: after an adoption the template was two of its three kilobytes (docs/scale.md).
 */
export function storedStatus(status: PolicyStatus): PolicyStatus {
  const stable = status.release.stable;
  if (stable === undefined || !status.release.history.some((entry) => sharesStable(entry, stable.templateHash)))
    return status;
  const history = status.release.history.map((entry) => {
    if (!sharesStable(entry, stable.templateHash)) return entry;
    const { template: _stored, ...rest } = entry;
    return rest;
  });
  return { ...status, release: { ...status.release, history } };
}

const sharesStable = (entry: HistoryEntry, stableHash: string) =>
  entry.template !== undefined && entry.templateHash === stableHash;

/** The stable revision's template back on the history entries stored without it (storedStatus). */
function withStableTemplates(release: ReleaseState): ReleaseState {
  const stable = release.stable;
  if (stable === undefined || !Array.isArray(release.history)) return release;
  const missing = (entry: HistoryEntry) => entry.template === undefined && entry.templateHash === stable.templateHash;
  if (!release.history.some(missing)) return release;
  const history = release.history.map((entry) => (missing(entry) ? { ...entry, template: stable.template } : entry));
  return { ...release, history };
}

/** Reads a persisted status defensively: anything missing falls back to a fresh state. */
export function readStatus(raw: unknown, now: Date): PolicyStatus {
  const fresh = emptyStatus(now);
  if (raw === null || typeof raw !== 'object') return fresh;
  const status = raw as Partial<PolicyStatus>;
  const release =
    status.release && typeof status.release === 'object' && status.release.version === 1
      ? withStableTemplates(status.release)
      : fresh.release;
  return {
    ...fresh,
    ...status,
    release,
    conditions: Array.isArray(status.conditions) ? status.conditions : [],
    analysis: {
      templateHash: status.analysis?.templateHash,
      counters: status.analysis?.counters ?? fresh.analysis.counters,
      measurements: Array.isArray(status.analysis?.measurements) ? status.analysis.measurements : [],
    },
  };
}

/** What a restarted canaryd checks against its outbox (notify/recovery.ts). */
export function policyOnRecord(object: {
  metadata: { namespace?: string; name: string };
  status?: unknown;
}): PolicyOnRecord {
  const status = readStatus(object.status, new Date());
  return {
    policy: `${object.metadata.namespace ?? ''}/${object.metadata.name}`,
    notifications: status.activeSpec?.notifications,
    recent: Array.isArray(status.notifications) ? status.notifications : [],
  };
}

export function setCondition(
  conditions: Condition[],
  next: Omit<Condition, 'lastTransitionTime'>,
  now: Date,
): Condition[] {
  const existing = conditions.find((c) => c.type === next.type);
  const lastTransitionTime =
    existing && existing.status === next.status ? existing.lastTransitionTime : now.toISOString();
  return [...conditions.filter((c) => c.type !== next.type), { ...next, lastTransitionTime }];
}

/** The summary fields (phase, weight, step, message) from the engine's state. */
export function summarise(
  policy: CanaryPolicy,
  release: ReleaseState,
  achievedWeight: number,
): Pick<PolicyStatus, 'phase' | 'weight' | 'intendedWeight' | 'step' | 'message'> {
  const current = release.current;
  const steps = planSteps(policy).length;
  const inRelease =
    current !== undefined && ['progressing', 'paused', 'promoting', 'rollingBack'].includes(release.phase);
  return {
    phase: release.phase,
    // Two decimals: 1 of 3 pods is 33.33 %, and sub-percent ingress weights stay visible.
    weight: inRelease ? Math.round(achievedWeight * 100) / 100 : 0,
    intendedWeight: inRelease && current ? current.weight : 0,
    step: inRelease && current ? `${Math.min(current.stepIndex + 1, steps)}/${steps}` : '',
    message: release.reason,
  };
}
