// A release as people look at it (the API and `kubectl canary`): a CanaryPolicy object reduced
// to its steps and its status, without the pod templates the status keeps for rollbacks. Pure.
import type { Measurement } from '../analysis/index.ts';
import type { Condition } from '../controller/status.ts';
import { readStatus } from '../controller/status.ts';
import { planSteps } from '../engine/index.ts';
import type { CurrentRelease, HistoryEntry, ReleaseState, Revision } from '../engine/types.ts';
import type { HookAnswers } from '../hooks/index.ts';
import type { KubeApi } from '../kube/api.ts';
import type { KubeObject } from '../kube/objects.ts';
import { byCodeUnits } from '../order.ts';
import { API_VERSION, type CanaryPolicySpec, canaryPolicySpec, KIND } from '../policy/schema.ts';
import type { ReleaseReader } from './ports.ts';

export interface StepView {
  weight: number;
  holdSeconds: number;
  /** Waits for `kubectl canary resume` at this step. */
  pause: boolean;
  /** Only header/cookie testers reach the canary. */
  testersOnly: boolean;
  /** Waits for `kubectl canary approve` before its weight is set. */
  approval?: boolean;
}

export interface ReleaseSpecSummary {
  deployment: string;
  service: string;
  router: string;
  strategy: 'canary' | 'blueGreen';
  steps: StepView[];
  checks: string[];
}

export type CurrentReleaseView = Omit<CurrentRelease, 'template'>;
export type HistoryEntryView = Omit<HistoryEntry, 'template'>;

export interface ReleaseStateView extends Omit<ReleaseState, 'stable' | 'current' | 'history'> {
  stable?: Revision;
  current?: CurrentReleaseView;
  history: HistoryEntryView[];
}

export interface ReleaseStatusView {
  phase: string;
  /** Measured share, percent (see PolicyStatus.weight). */
  weight: number;
  /** The weight the current step intends, percent. */
  intendedWeight?: number;
  step: string;
  router?: string;
  routerReason?: string;
  message: string;
  observedGeneration?: number;
  conditions: Condition[];
  release: ReleaseStateView;
  analysis: {
    measurements: Measurement[];
    /** The verdict and time of the newest analysis round, if any. */
    lastRound?: { at: string; verdict: string };
  };
  /** When the release may next leave its step (hold end, window opening). */
  nextStepAt?: string;
  /** When analysis next measures the step. */
  nextAnalysisAt?: string;
  /** The latest answer of each hook (spec.hooks): docs/hooks.md. */
  hooks?: HookAnswers;
  updatedAt: string;
}

export interface ReleaseView {
  namespace: string;
  name: string;
  generation?: number;
  /** From the policy's spec, or the last valid spec while the current one is invalid; null if neither. */
  spec: ReleaseSpecSummary | null;
  /** True when the object carries a status written by canaryd (false: not seen by the controller yet). */
  observed: boolean;
  status: ReleaseStatusView;
}

/** One line of the release list. */
export interface ReleaseListItem {
  namespace: string;
  name: string;
  deployment: string;
  phase: string;
  weight: number;
  /** The weight the current step intends, percent (while a release runs). */
  intendedWeight?: number;
  step: string;
  /** The newest analysis round's verdict (pass, fail, inconclusive). */
  lastVerdict?: string;
  message: string;
  nextStepAt?: string;
  updatedAt: string;
}

/** Builds the view of a CanaryPolicy object as it comes from the API or an informer cache. */
export function releaseViewOf(policy: KubeObject, now: Date = new Date()): ReleaseView {
  const raw = policy.status as ({ activeSpec?: unknown } & Record<string, unknown>) | undefined;
  const status = readStatus(raw, now);
  const parsed = canaryPolicySpec.safeParse(policy.spec);
  const spec = parsed.success ? parsed.data : status.activeSpec;
  const namespace = policy.metadata.namespace ?? 'default';
  return {
    namespace,
    name: policy.metadata.name,
    ...(policy.metadata.generation === undefined ? {} : { generation: policy.metadata.generation }),
    spec: spec === undefined ? null : specSummary(policy.metadata.name, namespace, spec),
    observed: raw !== undefined && raw !== null,
    status: {
      phase: status.phase,
      weight: status.weight,
      ...(status.intendedWeight === undefined ? {} : { intendedWeight: status.intendedWeight }),
      step: status.step,
      ...(status.router === undefined ? {} : { router: status.router }),
      ...(status.routerReason === undefined ? {} : { routerReason: status.routerReason }),
      message: status.message,
      ...(status.observedGeneration === undefined ? {} : { observedGeneration: status.observedGeneration }),
      conditions: status.conditions,
      release: withoutTemplates(status.release),
      analysis: {
        measurements: status.analysis.measurements,
        ...(status.analysis.counters.lastRound
          ? {
              lastRound: {
                at: status.analysis.counters.lastRound.at,
                verdict: status.analysis.counters.lastRound.verdict,
              },
            }
          : {}),
      },
      ...(status.nextStepAt === undefined ? {} : { nextStepAt: status.nextStepAt }),
      ...(status.nextAnalysisAt === undefined ? {} : { nextAnalysisAt: status.nextAnalysisAt }),
      ...(status.hooks === undefined ? {} : { hooks: status.hooks }),
      updatedAt: status.updatedAt,
    },
  };
}

export function listItemOf(view: ReleaseView): ReleaseListItem {
  return {
    namespace: view.namespace,
    name: view.name,
    deployment: view.spec?.deployment ?? '',
    phase: view.status.phase,
    weight: view.status.weight,
    ...(view.status.intendedWeight === undefined ? {} : { intendedWeight: view.status.intendedWeight }),
    step: view.status.step,
    ...(view.status.analysis.lastRound === undefined ? {} : { lastVerdict: view.status.analysis.lastRound.verdict }),
    message: view.status.message,
    ...(view.status.nextStepAt === undefined ? {} : { nextStepAt: view.status.nextStepAt }),
    updatedAt: view.status.updatedAt,
  };
}

function specSummary(name: string, namespace: string, spec: CanaryPolicySpec): ReleaseSpecSummary {
  const steps = planSteps({ apiVersion: API_VERSION, kind: KIND, metadata: { name, namespace }, spec });
  return {
    deployment: spec.target.deployment,
    service: spec.target.service,
    router: spec.target.router,
    strategy: spec.strategy.type,
    steps: steps.map((step) => ({
      weight: step.weight,
      holdSeconds: step.holdMs / 1000,
      pause: step.pause,
      testersOnly: step.testersOnly,
      ...(step.approval === true ? { approval: true } : {}),
    })),
    checks: spec.analysis.checks.map((check) => check.name),
  };
}

// Pod templates are kilobytes each and only matter to the controller.
function withoutTemplates(release: ReleaseState): ReleaseStateView {
  const { stable, current, history, ...rest } = release;
  const view: ReleaseStateView = { ...rest, history: history.map(({ template: _, ...entry }) => entry) };
  if (stable !== undefined) {
    const { template: _, ...revision } = stable;
    view.stable = revision;
  }
  if (current !== undefined) {
    const { template: _, ...running } = current;
    view.current = running;
  }
  return view;
}

/** A ReleaseReader over anything that holds CanaryPolicy objects (an informer cache, a list). */
export function releaseReaderOf(
  policies: () => Iterable<KubeObject>,
  now: () => Date = () => new Date(),
): ReleaseReader {
  const all = () => [...policies()].filter((object) => object.kind === KIND);
  return {
    list: (namespace) =>
      all()
        .filter((policy) => namespace === undefined || policy.metadata.namespace === namespace)
        .map((policy) => releaseViewOf(policy, now()))
        .sort(byNamespaceAndName),
    get: (namespace, name) => {
      const policy = all().find((p) => p.metadata.namespace === namespace && p.metadata.name === name);
      return policy === undefined ? undefined : releaseViewOf(policy, now());
    },
  };
}

/** A ReleaseReader that reads the API on every call (the kubectl plugin; a server without a cache). */
export function kubeReleaseReader(kube: KubeApi, now: () => Date = () => new Date()): ReleaseReader {
  return {
    async list(namespace) {
      // "" lists across namespaces.
      const policies = await kube.list(API_VERSION, KIND, namespace ?? '');
      return policies.map((policy) => releaseViewOf(policy, now())).sort(byNamespaceAndName);
    },
    async get(namespace, name) {
      const policy = await kube.get({ apiVersion: API_VERSION, kind: KIND, namespace, name });
      return policy === null ? undefined : releaseViewOf(policy, now());
    },
  };
}

const byNamespaceAndName = (a: ReleaseView, b: ReleaseView): number =>
  byCodeUnits(a.namespace, b.namespace) || byCodeUnits(a.name, b.name);
