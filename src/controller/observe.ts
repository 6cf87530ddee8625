// Observe: what the cluster shows about one policy, in the engine's terms (Observed). Reads
// only; every value comes from the cluster or the persisted status, never from memory.
import { decide as analysisDecide } from '../analysis/index.ts';
import type {
  JsonValue,
  ManualOperation,
  Observed,
  ObservedCanary,
  ObservedDeployment,
  ObservedRoute,
  ReleaseState,
} from '../engine/index.ts';
import { OWN_FIELD_MANAGER } from '../engine/index.ts';
import { lastWriterOf } from '../kube/managed-fields.ts';
import type { Deployment } from '../kube/objects.ts';
import type { CanaryPolicy } from '../policy/schema.ts';
import { isOwnMark, type PolicyMark } from '../traffic/policy-mark.ts';
import type { RouteStatus } from '../traffic/router.ts';
import { ADOPTED_TEMPLATE_ANNOTATION, MANAGED_LABEL, TEMPLATE_HASH_ANNOTATION } from './names.ts';
import { markedBy } from './orphan.ts';
import type { AnalysisStatus } from './status.ts';
import { describeChange, templateHash } from './template.ts';

const CHANGE_CAUSE = 'kubernetes.io/change-cause';

/**
 * The kubernetes.io/change-cause annotation when it belongs to this template, else undefined.
 * The annotation outlives the template it was written with (`kubectl annotate`, or `--record`,
 * then a later `kubectl set image` or Helm upgrade that leaves it alone): when a revision with
 * another template already carried the same text, the text is stale and must not label this one.
 */
export function freshChangeCause(deployment: Deployment, release: ReleaseState | undefined): string | undefined {
  const annotation = deployment.metadata.annotations?.[CHANGE_CAUSE];
  if (annotation === undefined || annotation === '' || release === undefined) return annotation || undefined;
  const hash = templateHash(deployment.spec.template);
  const known = [release.stable, release.current, ...release.history];
  const stale = known.some((revision) => revision?.templateHash !== hash && revision?.changeCause === annotation);
  return stale ? undefined : annotation;
}

/**
 * The Deployment in the engine's terms; `self` is the policy observing it, to tell its own mark
 * from an earlier policy's of the same name (traffic/policy-mark.ts).
 */
export function observeDeployment(
  deployment: Deployment,
  release?: ReleaseState,
  self?: PolicyMark,
): ObservedDeployment {
  const stableTemplate = release?.stable?.template;
  const replicas = deployment.spec.replicas ?? 1;
  const status = deployment.status ?? {};
  const generationSeen = (status.observedGeneration ?? 0) >= (deployment.metadata.generation ?? 0);
  const rolloutComplete =
    generationSeen &&
    (status.updatedReplicas ?? 0) === replicas &&
    (status.availableReplicas ?? 0) === replicas &&
    (status.replicas ?? 0) === replicas;
  return {
    templateHash: templateHash(deployment.spec.template),
    changeCause: describeChange(
      stableTemplate as Deployment['spec']['template'] | undefined,
      deployment.spec.template,
      freshChangeCause(deployment, release),
    ),
    template: deployment.spec.template as unknown as JsonValue,
    paused: deployment.spec.paused === true,
    replicas,
    readyReplicas: status.readyReplicas ?? 0,
    rolloutComplete,
    ...(generationSeen ? { updatedReplicas: status.updatedReplicas ?? 0 } : {}),
    statusObserved: generationSeen,
    marked: deployment.metadata.labels?.[MANAGED_LABEL] !== undefined,
    ...(self !== undefined && markedByEarlier(deployment, self) ? { markedByEarlierPolicy: true } : {}),
    ...adoptedTemplateOf(deployment),
    writers: writersOf(deployment),
  };
}

/** Marked by a policy of this name with another uid: one deleted without its finalizer before this one was created. */
function markedByEarlier(deployment: Deployment, self: PolicyMark): boolean {
  const mark = markedBy(deployment);
  return mark !== undefined && mark.policy === self.policy && !isOwnMark(mark, self);
}

/**
 * Who last wrote the fields canaryd guards: the template (someone else than canaryd, to name
 * in an Event) and replicas (canaryd included, so its own surge is not taken for a person's scale).
 */
function writersOf(deployment: Deployment): NonNullable<ObservedDeployment['writers']> {
  const managed = deployment.metadata.managedFields;
  const template = lastWriterOf(managed, ['spec', 'template'], [OWN_FIELD_MANAGER]);
  const replicas = lastWriterOf(managed, ['spec', 'replicas']);
  return { ...(template ? { template } : {}), ...(replicas ? { replicas } : {}) };
}

/**
 * The canary as the engine sees it. `route` is what the router found behind the canary route:
 * ready endpoints of another template than the canary's (a previous canary's pods) keep the
 * canary from counting as ready, so no step gives it a weight that would reach them; and a pod
 * counts as ready only once it is a ready endpoint behind the route (the Deployment's status
 * can count it a moment before its EndpointSlice does: a step started then would give its
 * weight to a route with no ready endpoints, or, replica-ratio, report 0 % measured).
 */
export function observeCanary(
  canary: Deployment | null,
  route?: Pick<RouteStatus, 'olderCanaryEndpoints' | 'canaryReplicas'>,
): ObservedCanary | undefined {
  if (canary === null) return undefined;
  const status = canary.status ?? {};
  if (canary.metadata.deletionTimestamp) {
    return {
      templateHash: canary.metadata.annotations?.[TEMPLATE_HASH_ANNOTATION] ?? '',
      replicas: canary.spec.replicas ?? 1,
      readyReplicas: 0,
      servingReplicas: status.readyReplicas ?? 0,
      removing: true,
    };
  }
  const generationSeen = (status.observedGeneration ?? 0) >= (canary.metadata.generation ?? 0);
  // Only ready pods of this template count. The status counts the ready pods of every
  // ReplicaSet, so while pods of an older template remain (a template replaced in place between
  // two releases: replicas > updatedReplicas) the ready ones may all be old ones (issue 11: the
  // v2 canary pod answered v3's 1 %). None counts until the roll has replaced them.
  const olderPods = (status.replicas ?? 0) - (status.updatedReplicas ?? 0);
  const onlyThisTemplate = olderPods <= 0 && (route?.olderCanaryEndpoints ?? 0) === 0;
  const ready =
    generationSeen && onlyThisTemplate ? Math.min(status.readyReplicas ?? 0, status.updatedReplicas ?? 0) : 0;
  const behindRoute = route?.canaryReplicas ?? Number.POSITIVE_INFINITY;
  return {
    templateHash: canary.metadata.annotations?.[TEMPLATE_HASH_ANNOTATION] ?? '',
    replicas: canary.spec.replicas ?? 1,
    readyReplicas: Math.min(ready, behindRoute),
    ...(behindRoute < ready ? { readyInDeployment: ready } : {}),
    servingReplicas: status.readyReplicas ?? 0,
  };
}

/**
 * The route as the engine sees it. `prepared` is what of it exists (RoutePieces): all of it when a
 * step needs the route, any of it elsewhere (then it asks for cleanup). Without the router's
 * answer, assume something is left for cleanup (cleanup is idempotent) and nothing is ready for
 * a step.
 */
export function observeRoute(status: RouteStatus | undefined, stepNeedsRoute: boolean): ObservedRoute {
  if (status === undefined) return { prepared: !stepNeedsRoute, weight: 0, achievedWeight: 0, testersRouting: false };
  const observed: ObservedRoute = {
    prepared: stepNeedsRoute ? status.pieces.complete : status.pieces.any,
    weight: status.requestedWeight,
    achievedWeight: status.achievedWeight,
    testersRouting: status.testersRouting,
  };
  if (status.rejected !== undefined) observed.rejected = status.rejected;
  return observed;
}

/** The latest analysis round as the engine wants it, judged now by the analysis module. */
export function observeAnalysis(
  policy: CanaryPolicy,
  release: ReleaseState,
  analysis: AnalysisStatus,
  now: Date,
): Observed['analysis'] {
  const current = release.current;
  const last = analysis.counters.lastRound;
  if (current === undefined || last === null || analysis.templateHash !== current.templateHash) return undefined;
  const stepStartedAt = new Date(current.stepStartedAt ?? current.startedAt ?? current.noticedAt);
  const judged = analysisDecide(policy.spec.analysis, analysis.counters, { now, stepStartedAt });
  return { round: analysis.counters.rounds, at: last.at, decision: judged.action, reason: judged.reason };
}

/** The manual operation in the policy's annotation, or an error message when it is malformed. */
export function parseOperation(raw: string | undefined): { operation?: ManualOperation; error?: string } {
  if (raw === undefined || raw.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    return { error: `annotation canaryd.dev/operation is not JSON: ${(error as Error).message}` };
  }
  const ops = ['pause', 'resume', 'promote', 'promoteFull', 'abort', 'retry', 'undo', 'approve'];
  const candidate = value as Partial<ManualOperation>;
  if (
    typeof candidate !== 'object' ||
    candidate === null ||
    typeof candidate.id !== 'string' ||
    candidate.id === '' ||
    typeof candidate.op !== 'string' ||
    !ops.includes(candidate.op) ||
    (candidate.by !== undefined && typeof candidate.by !== 'string') ||
    typeof candidate.at !== 'string'
  ) {
    return {
      error: `annotation canaryd.dev/operation must be {"id","op" (one of ${ops.join(', ')}),"at"}; got ${raw.slice(0, 200)}`,
    };
  }
  if (candidate.toRevision !== undefined && (!Number.isInteger(candidate.toRevision) || candidate.toRevision < 1)) {
    return { error: `annotation canaryd.dev/operation: toRevision must be a whole number >= 1` };
  }
  // `by` is only a claim here (older writers put it in the JSON); the reconciler sets the actor
  // to record from canaryd.dev/operation-by and the admission policy (controller/actor.ts).
  return { operation: { ...candidate, by: candidate.by ?? '' } as ManualOperation };
}

function adoptedTemplateOf(deployment: Deployment): { adoptedTemplate?: string } {
  const hash = deployment.metadata.annotations?.[ADOPTED_TEMPLATE_ANNOTATION];
  return hash === undefined ? {} : { adoptedTemplate: hash };
}
