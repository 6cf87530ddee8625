// Release transitions → notifications: a pure mapping from what one decision changed (the
// persisted state before and after, the Events the engine asked for, the analysis round that
// decided) to the notifications it means. Derived from persisted facts only, so the same
// transition derived again (a reconcile repeated after a crash) yields the same ids: receivers
// deduplicate on them (at-least-once delivery).
import { createHash } from 'node:crypto';
import type { AnalysisCounters, Measurement } from '../analysis/index.ts';
import { thresholdsOf } from '../analysis/index.ts';
import { operationLabel } from '../engine/history.ts';
import type { Action, CurrentRelease, HistoryEntry, OperationRecord, ReleaseState } from '../engine/index.ts';
import { planSteps } from '../engine/index.ts';
import type { CanaryPolicy } from '../policy/schema.ts';
import type { CheckResult, Notification, NotificationRelease, NotificationType } from './events.ts';

export interface Transition {
  policy: CanaryPolicy;
  before: ReleaseState;
  after: ReleaseState;
  /** The decision's actions; only its recordEvent actions are read. */
  actions: readonly Action[];
  /** The analysis status after the decision (its latest round decided a rollback or a pause). */
  analysis?: { counters: AnalysisCounters; measurements: readonly Measurement[] };
  /** The share the router reported when it set the step's weight, percent. */
  measuredShare?: number;
  /** The decision's clock, ISO 8601. */
  at: string;
}

type Make = ReturnType<typeof base>;
type Rule = (transition: Transition, make: Make, reasons: ReadonlySet<string>) => Notification[];

export function deriveNotifications(transition: Transition): Notification[] {
  const reasons = new Set(
    transition.actions.flatMap((action) => (action.type === 'recordEvent' ? [action.reason] : [])),
  );
  const make = base(transition);
  // Ended releases first (a superseded release ends before the next one starts in one decision).
  const rules: Rule[] = [ended, started, stepAdvanced, paused, resumed, rolledBack, refused];
  return rules.flatMap((rule) => rule(transition, make, reasons));
}

const ended: Rule = ({ before, after }, make) =>
  newHistory(before, after).flatMap((entry) => {
    const id = `${entry.revision}`;
    const { outcome, reason } = entry;
    switch (outcome) {
      case 'succeeded':
        return [make('promoted', entry, id, `promoted: ${reason}`, { outcome })];
      case 'rolledBack':
        return [make('failed', entry, id, `failed, stable revision restored: ${reason}`, { outcome, reason })];
      case 'superseded': {
        // The newer template's release begins in the same decision (or waits for its window).
        const newer = after.current?.revision !== entry.revision ? after.current : undefined;
        const supersededBy =
          newer === undefined
            ? undefined
            : { revision: newer.revision, templateHash: newer.templateHash, changeCause: newer.changeCause };
        const details = { outcome, reason, ...(supersededBy === undefined ? {} : { supersededBy }) };
        return [make('superseded', entry, id, `superseded: ${reason}`, details)];
      }
      case 'cancelled':
        return [make('cancelled', entry, id, `cancelled, stable revision restored: ${reason}`, { outcome, reason })];
      default:
        return [];
    }
  });

const started: Rule = ({ after }, make, reasons) => {
  const current = after.current;
  if (current === undefined || !reasons.has('ReleaseStarted')) return [];
  return [
    make(
      'started',
      current,
      `${current.revision}`,
      `release started (${current.changeCause || current.templateHash})`,
      {},
    ),
  ];
};

/** The release in flight before, when it is the same one as after. */
const sameRelease = ({ before, after }: Transition): CurrentRelease | undefined =>
  before.current?.revision === after.current?.revision ? before.current : undefined;

const stepAdvanced: Rule = (transition, make) => {
  const current = transition.after.current;
  if (current?.stepStartedAt === undefined || current.stepStartedAt === sameRelease(transition)?.stepStartedAt)
    return [];
  const share = transition.measuredShare;
  const measured = share === undefined ? '' : ` (measured ${share} %)`;
  return [
    make(
      'stepAdvanced',
      current,
      `${current.stepIndex}:${current.stepStartedAt}`,
      `step ${current.stepIndex + 1} at ${current.weight} %${measured}`,
      share === undefined ? {} : { measuredShare: share },
    ),
  ];
};

const paused: Rule = (transition, make, reasons) => {
  const current = transition.after.current;
  const pausedBy = current?.pausedBy;
  if (current === undefined || pausedBy === undefined || !reasons.has('Paused')) return [];
  const details = { by: pausedBy.by, cause: pausedBy.cause, reason: pausedBy.reason };
  if (pausedBy.cause === 'analysis') {
    const checks = roundChecks(transition, 'inconclusive');
    return [make('analysisInconclusive', current, pausedBy.at, `paused: ${pausedBy.reason}`, { ...details, checks })];
  }
  return [make('paused', current, pausedBy.at, `paused by ${pausedBy.by}: ${pausedBy.reason}`, details)];
};

const resumed: Rule = (transition, make) => {
  const { before, after } = transition;
  const current = after.current;
  const wasPaused = before.phase === 'paused' ? before.current?.pausedBy : undefined;
  if (current === undefined || sameRelease(transition) === undefined || wasPaused === undefined) return [];
  if (after.phase !== 'progressing' && after.phase !== 'promoting') return [];
  const by = resumer(before, after) ?? automaticResumer(wasPaused.cause);
  return [make('resumed', current, wasPaused.at, `resumed by ${by}: ${after.reason}`, { by, reason: after.reason })];
};

const rolledBack: Rule = (transition, make, reasons) => {
  const current = transition.after.current;
  const rollback = current?.rollback;
  if (current === undefined || rollback?.outcome !== 'rolledBack' || !reasons.has('RollingBack')) return [];
  const checks = rollback.reason.startsWith('analysis:') ? roundChecks(transition, 'fail') : [];
  return [
    make('rolledBack', current, `${current.revision}`, `rolling back: ${rollback.reason}`, {
      reason: rollback.reason,
      checks,
    }),
  ];
};

const refused: Rule = ({ before, after }, make) =>
  newOperations(before, after)
    .filter((record) => record.result !== 'applied')
    .map((record) => {
      const operation = operationLabel(record);
      const what = `${operation} by ${record.by} refused: ${record.result}`;
      return make('operationRefused', after.current, record.id, what, {
        by: record.by,
        operation,
        reason: record.result,
      });
    });

type Revisioned = Pick<CurrentRelease, 'revision' | 'changeCause' | 'templateHash'> & Partial<CurrentRelease>;

function base(transition: Transition) {
  const { policy, after, at } = transition;
  const { namespace, name } = policy.metadata;
  const steps = planSteps(policy).length;
  return (
    type: NotificationType,
    release: Revisioned | undefined,
    discriminator: string,
    what: string,
    details: Notification['details'],
  ): Notification => {
    const info: NotificationRelease | undefined =
      release === undefined
        ? undefined
        : {
            revision: release.revision,
            changeCause: release.changeCause,
            templateHash: release.templateHash,
            phase: after.phase,
            ...(release.stepIndex !== undefined && release.startedAt !== undefined
              ? { step: release.stepIndex + 1 }
              : {}),
            steps,
            weight: after.current?.revision === release.revision ? (after.current.weight ?? 0) : 0,
          };
    const revision = release === undefined ? '' : ` revision ${release.revision}`;
    return {
      id: notificationId(`${namespace}/${name}`, release?.revision, type, discriminator),
      type,
      time: at,
      policy: { namespace, name },
      deployment: policy.spec.target.deployment,
      ...(info === undefined ? {} : { release: info }),
      summary: `${namespace}/${name}${revision}: ${what}`,
      details,
    };
  };
}

/** A stable id: the same transition derived twice gets the same one (the idempotency key). */
export function notificationId(
  policy: string,
  revision: number | undefined,
  type: NotificationType,
  discriminator: string,
): string {
  const digest = createHash('sha256')
    .update(`${policy}\n${revision ?? '-'}\n${type}\n${discriminator}`)
    .digest('hex');
  // Shaped like a UUID so receivers that store idempotency keys in a uuid column accept it.
  return `${digest.slice(0, 8)}-${digest.slice(8, 12)}-${digest.slice(12, 16)}-${digest.slice(16, 20)}-${digest.slice(20, 32)}`;
}

function newHistory(before: ReleaseState, after: ReleaseState): HistoryEntry[] {
  const known = new Set(before.history.map((entry) => `${entry.revision}:${entry.endedAt}`));
  return after.history.filter((entry) => !known.has(`${entry.revision}:${entry.endedAt}`));
}

function newOperations(before: ReleaseState, after: ReleaseState): OperationRecord[] {
  const known = new Set((before.recentOperations ?? []).map((record) => record.id));
  return (after.recentOperations ?? []).filter((record) => !known.has(record.id));
}

/** The person whose operation (resume, promote) lifted the pause in this decision. */
function resumer(before: ReleaseState, after: ReleaseState): string | undefined {
  return newOperations(before, after).find(
    (record) => record.result === 'applied' && ['resume', 'promote', 'promoteFull'].includes(record.op),
  )?.by;
}

function automaticResumer(cause: string): string {
  if (cause === 'analysis') return 'analysis';
  if (cause === 'route') return 'gateway';
  return 'policy';
}

/** The checks that did not pass in the latest round, with their values and thresholds. */
function roundChecks(transition: Transition, verdict: CheckResult['verdict']): CheckResult[] {
  const lastAt = transition.analysis?.counters.lastRound?.at;
  if (lastAt === undefined) return [];
  const specs = new Map(transition.policy.spec.analysis.checks.map((check) => [check.name, check]));
  return (transition.analysis?.measurements ?? [])
    .filter((m) => m.at === lastAt && m.verdict === verdict)
    .map((m) => {
      const spec = specs.get(m.check);
      const thresholds = spec === undefined ? {} : definedOnly(thresholdsOf(spec));
      return {
        check: m.check,
        verdict,
        value: m.value,
        ...(m.stableValue === undefined ? {} : { stableValue: m.stableValue }),
        thresholds,
        reason: m.reason,
      };
    });
}

function definedOnly<T extends object>(value: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}
