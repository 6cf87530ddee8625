// One reconcile of one CanaryPolicy: observe → decide → persist → execute. Level-triggered and
// idempotent: it can run any number of times, after a crash at any point, and converges.
// Order matters (see engine/decide.ts): the next state is persisted FIRST, then the actions run,
// so a crash between the two repeats actions (idempotent) but never a step.
import { INITIAL_COUNTERS, resumeCounters } from '../analysis/index.ts';
import {
  type Action,
  decide,
  type HookName,
  nextAnalysisTime,
  nextStepTime,
  nextWakeAt,
  type Observed,
  planSteps,
  type ReleaseState,
} from '../engine/index.ts';
import { routesTesters } from '../engine/plan.ts';
import { type HookAnswers, type HookCall, mergeHookAnswers } from '../hooks/index.ts';
import { isKubeError, type KubeApi, type StatusWriter } from '../kube/api.ts';
import type { EventRecorder } from '../kube/events.ts';
import type { Deployment, KubeObject, Service } from '../kube/objects.ts';
import type { Transition } from '../notify/derive.ts';
import { formatPolicyError } from '../policy/errors.ts';
import { API_VERSION, type CanaryPolicy, canaryPolicy, KIND } from '../policy/schema.ts';
import { validatePolicyObject } from '../policy/validate.ts';
import { AUTO_FALLBACK } from '../traffic/choose.ts';
import { isTrafficError } from '../traffic/errors.ts';
import { findRoutes } from '../traffic/find-routes.ts';
import { POD_TEMPLATE_HASH } from '../traffic/labels.ts';
import { stableBaseline } from '../traffic/replica-ratio.ts';
import type { RouteNames, RouterName, RouteStatus, RouteTarget, TrafficRouter } from '../traffic/router.ts';
import { type AdmissionVerdict, approvalWrittenPlainly, recordedActor } from './actor.ts';
import type { AnalysisRunner } from './analysis-runner.ts';
import { executeAction, managedMark } from './execute.ts';
import { CANARY_SUFFIX, FINALIZER, OPERATION_ANNOTATION, OPERATION_BY_ANNOTATION, policyKeyOf } from './names.ts';
import { observeAnalysis, observeCanary, observeDeployment, observeRoute, parseOperation } from './observe.ts';
import { reconciledCondition } from './reconcile-error.ts';
import { type PolicyStatus, readStatus, setCondition, summarise } from './status.ts';
import { canonicalJson } from './template.ts';

export interface Logger {
  debug?(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export interface ReconcilerDeps {
  kube: KubeApi & StatusWriter;
  events: EventRecorder;
  router(kind: RouterName): TrafficRouter;
  analysis: AnalysisRunner;
  now(): Date;
  log: Logger;
  /** Called with every status written (metrics). */
  onStatus?(namespace: string, name: string, status: PolicyStatus): void;
  /** While a release runs, look again at least this often (drift, readiness), in ms. */
  resyncMs?: number;
  /** Told every persisted decision; must return at once (src/notify/: notifications). */
  notify?(transition: Transition): void;
  /** Is the operation-actor admission policy enforced (controller/actor.ts)? Absent: never. */
  admission?: () => Promise<AdmissionVerdict>;
  /** Calls hooks in the background (src/hooks/runner.ts). Absent: no call is made (each is inconclusive). */
  hooks?: {
    start(call: HookCall): void;
    answers(namespace: string, name: string): HookAnswers;
    /** The hooks the policy configures (their metric series start at 0). */
    configured?(hooks: Iterable<HookName>): void;
  };
}

export interface ReconcileResult {
  /** Reconcile again after this many ms (0: at once); null: only when something changes. */
  requeueAfterMs: number | null;
}

export interface PolicyObject extends KubeObject {
  spec?: unknown;
  status?: unknown;
}

const policyRef = (namespace: string, name: string) => ({ apiVersion: API_VERSION, kind: KIND, namespace, name });
const IN_FLIGHT = new Set(['waiting', 'progressing', 'paused', 'promoting', 'rollingBack']);
/** Phases whose steps need a complete route before they start. */
const STEP_PHASES = new Set(['waiting', 'progressing', 'paused']);

export async function reconcile(deps: ReconcilerDeps, namespace: string, name: string): Promise<ReconcileResult> {
  const { kube, log } = deps;
  let object = await kube.get<PolicyObject>(policyRef(namespace, name));
  if (object === null) return { requeueAfterMs: null };
  const now = deps.now();
  const status = readStatus(object.status, now);
  const valid = activePolicy(object, status, now, deps);
  if (valid === undefined) {
    await writeStatus(deps, object, status);
    return { requeueAfterMs: null };
  }
  const deleting = object.metadata.deletionTimestamp !== undefined;
  if (!deleting && !(object.metadata.finalizers as string[] | undefined)?.includes(FINALIZER)) {
    // The finalizer lets a deleted policy hand the Deployment back (unpaused, canary removed).
    const finalizers = [...((object.metadata.finalizers as string[] | undefined) ?? []), FINALIZER];
    // Go on with the answer (not a trip to the back of the queue: at 1,000 policies adopted at
    // once, each waited for all the others twice).
    object = await kube.mergePatch<PolicyObject>(policyRef(namespace, name), { metadata: { finalizers } });
  }

  const release = status.release;
  const deployment = await kube.get<Deployment>({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    namespace,
    name: valid.spec.target.deployment,
  });
  let routing: Awaited<ReturnType<typeof routeTargetFor>>;
  try {
    routing = await routeTargetFor(deps, valid, status, release, deployment, deleting);
  } catch (error) {
    if (!isTrafficError(error)) throw error;
    await refuseRouter(deps, object, status, error.message, now);
    return { requeueAfterMs: ROUTER_RETRY_MS };
  }
  const { router, target } = routing;
  // The canary Service and Ingress are the policy's, like the canary Deployment: a force-deleted
  // policy (finalizer removed by hand) leaves nothing behind.
  if (object.metadata.uid) target.owner = { apiVersion: API_VERSION, kind: KIND, name, uid: object.metadata.uid };
  const policy = policyForRouter(valid, router, status);
  const canary = await kube.get<Deployment>({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    namespace,
    name: target.canaryDeployment,
  });
  const stepNeedsRoute = !deleting && STEP_PHASES.has(release.phase);
  const observeRouteNow = () => observeRouteOf(deps, router, target, canary !== null, stepNeedsRoute);
  let route = await observeRouteNow();
  // Drift is corrected only once canaryd's own intent is on the cluster: a controller restarted
  // between saving a step and writing its weight is not drift (the engine writes it next).
  const ownIntentWritten = route.status?.requestedWeight === release.current?.weight;
  const driftCorrected =
    route.status?.drift !== undefined &&
    ownIntentWritten &&
    !deleting &&
    (await correctDrift(deps, router, target, release, route.status.drift));
  if (driftCorrected) route = await observeRouteNow();

  // Analysis counters belong to one release: a new template starts from zero.
  if (release.current && status.analysis.templateHash !== release.current.templateHash) {
    status.analysis = {
      templateHash: release.current.templateHash,
      counters: structuredClone(INITIAL_COUNTERS),
      measurements: [],
    };
  }
  const parsedOperation = parseOperation(object.metadata.annotations?.[OPERATION_ANNOTATION]);
  if (parsedOperation.error)
    log.warn('ignoring malformed operation', { policy: policyKeyOf(namespace, name), error: parsedOperation.error });
  const operation = await withActor(deps, parsedOperation.operation, object.metadata.annotations, release);
  // Hook answers that came in since the last pass are facts now (and kept in the status).
  status.hooks = mergeHookAnswers(status.hooks, deps.hooks?.answers(namespace, name) ?? {});
  declareHooks(deps, policy);
  const observed: Observed = {
    policyDeleted: deleting,
    deployment: deployment ? observeDeployment(deployment, release) : undefined,
    canary: observeCanary(canary, route.status),
    route: route.observed,
    analysis: observeAnalysis(policy, release, status.analysis, now),
    // Passed through even when already processed: the engine re-sends a lost ack by itself.
    operation,
    ...(status.hooks === undefined ? {} : { hooks: status.hooks }),
    canaryPodsCarryTraffic: router.canaryPodsCarryTraffic,
  };
  if (observed.deployment) {
    observed.canaryReplicasPerStep = planSteps(policy).map((step) =>
      step.fullSize ? observed.deployment!.replicas : router.desiredCanaryReplicas(target, step.weight),
    );
  }

  if (!driftCorrected) await reportCanaryResized(deps, target, release, observed);
  // A Deployment adopted before the mark existed gets it (deploy/'s admission policy selects on it).
  if (!deleting && release.stable !== undefined && observed.deployment?.marked === false) {
    await kube.mergePatch(
      { apiVersion: 'apps/v1', kind: 'Deployment', namespace, name: target.deployment },
      { metadata: managedMark(target) },
    );
  }

  const pass = { deps, namespace, name, policy, router, target, canary, route, now, uid: object.metadata.uid };
  let outcome = await decideAndAct(pass, object, status, release, observed);
  // A completed analysis round may decide a rollback. Decide again at once on what was just
  // observed (no second read of the cluster), so weight 0 follows the failing measurement
  // within the second of invariant 2.
  if (outcome.kind === 'done' && outcome.analysed) {
    const after = readStatus(outcome.latest.status, deps.now());
    const fresh = { ...observed, analysis: observeAnalysis(policy, outcome.next, after.analysis, deps.now()) };
    outcome = await decideAndAct({ ...pass, now: deps.now() }, outcome.latest, after, outcome.next, fresh);
  }
  if (outcome.kind === 'conflict') return { requeueAfterMs: 0 }; // someone else wrote first: observe again
  // The controller backs off per key and shows the error as Reconciled=False.
  if (outcome.kind === 'failed') throw outcome.error;
  const { next, actions, latest, wake } = outcome;
  if (
    deleting &&
    !IN_FLIGHT.has(next.phase) &&
    actions.every((a) => a.type === 'recordEvent' || a.type === 'ackOperation')
  ) {
    const finalizers = ((latest.metadata.finalizers as string[] | undefined) ?? []).filter((f) => f !== FINALIZER);
    await kube.mergePatch(policyRef(namespace, name), { metadata: { finalizers } });
    return { requeueAfterMs: null };
  }
  if (outcome.analysed) return { requeueAfterMs: 0 };
  // After writes, look again soon: the cluster answers with watch events, but some waits (pods
  // becoming ready, a roll) are only visible by looking. Not at once: an action the engine keeps
  // asking for while the cluster converges must not spin the controller.
  if (actions.some((a) => a.type !== 'recordEvent' && a.type !== 'ackOperation')) return { requeueAfterMs: 250 };
  const untilWake = wake ? Math.max(0, wake.getTime() - deps.now().getTime()) : null;
  // A canary being removed (drained, then deleted) is watched for until it is gone, also after
  // the release ended: the route's cleanup (a surge undone, a selector restored) waits for it,
  // and the delete of the canary's Deployment may reach us before its pods are gone.
  const removing = next.drain !== undefined ? CANARY_REMOVAL_POLL_MS : null;
  const resync = IN_FLIGHT.has(next.phase) ? (deps.resyncMs ?? 5000) : removing;
  const candidates = [untilWake, resync].filter((v): v is number => v !== null);
  return { requeueAfterMs: candidates.length ? Math.min(...candidates) : null };
}

interface Pass {
  deps: ReconcilerDeps;
  namespace: string;
  name: string;
  policy: CanaryPolicy;
  router: TrafficRouter;
  target: RouteTarget;
  canary: Deployment | null;
  route: { status?: RouteStatus };
  now: Date;
  uid: string | undefined;
}

type PassOutcome =
  | { kind: 'conflict' }
  | { kind: 'failed'; error: unknown }
  | { kind: 'done'; next: ReleaseState; actions: Action[]; latest: PolicyObject; analysed: boolean; wake: Date | null };

/** decide → persist the next state → execute its actions in order (stopping at the first failure). */
async function decideAndAct(
  pass: Pass,
  object: PolicyObject,
  status: PolicyStatus,
  release: ReleaseState,
  observed: Observed,
): Promise<PassOutcome> {
  const { deps, namespace, name, policy, now } = pass;
  const { log } = deps;
  const key = policyKeyOf(namespace, name);
  const { next, actions } = decide(policy, release, observed, now);
  log.debug?.('decided', {
    policy: key,
    phase: next.phase,
    reason: next.reason,
    actions: actions.map((a) => a.type),
  });
  if (observed.operation?.op === 'resume' && next.recentOperationIds?.includes(observed.operation.id)) {
    // A person resumed: inconclusive analysis gets a fresh allowance.
    status.analysis.counters = resumeCounters(status.analysis.counters);
  }
  const wake = nextWakeAt(next, policy, now);
  const written = await writeStatus(deps, object, {
    ...status,
    ...summarise(policy, next, pass.route.status?.achievedWeight ?? 0),
    release: next,
    nextStepAt: nextStepTime(next, policy, now)?.toISOString(),
    nextAnalysisAt: nextAnalysisTime(next, policy)?.toISOString(),
    conditions: reconciledCondition(setCondition(status.conditions, readyCondition(next), now), now),
    updatedAt: now.toISOString(),
  });
  if (written === null) return { kind: 'conflict' };

  let latest: PolicyObject = written;
  let analysed = false;
  let measuredShare: number | undefined;
  // After the actions (weight 0 is written first; a notification never waits before it), also
  // when one failed: the decision is persisted, so its notifications are due either way.
  const notify = () =>
    deps.notify?.({
      policy,
      before: release,
      after: next,
      actions,
      analysis: readStatus(latest.status, now).analysis,
      ...(measuredShare === undefined ? {} : { measuredShare }),
      at: now.toISOString(),
    });
  const ctx = {
    onWeightSet: (achieved: number) => {
      measuredShare = achieved;
    },
    kube: deps.kube,
    events: deps.events,
    router: pass.router,
    target: pass.target,
    policy,
    policyObject: latest,
    next,
    log: (message: string, fields?: Record<string, unknown>) => log.info(message, { policy: key, ...fields }),
    callHook: (action: Extract<Action, { type: 'callHook' }>) => {
      const spec = policy.spec.hooks?.[action.hook];
      if (spec !== undefined) deps.hooks?.start({ namespace, name, ...action, spec });
    },
    analyse: async (action: Extract<Action, { type: 'analyse' }>) => {
      const current = readStatus(latest.status, now);
      const analysis = await deps.analysis.run(
        policy,
        await analysisTargetOf(deps, pass.target, pass.canary),
        current.analysis,
        deps.now(),
        {
          releaseStartedAt: dateOrUndefined(next.current?.startedAt),
          stepStartedAt: dateOrUndefined(action.since),
        },
      );
      const after = await writeStatus(deps, latest, { ...current, analysis, updatedAt: deps.now().toISOString() });
      if (after) latest = after;
      analysed = true;
      log.info('analysis round', {
        policy: key,
        step: action.stepIndex + 1,
        verdict: analysis.counters.lastRound?.verdict,
        problems: analysis.counters.lastRound?.problems,
      });
    },
  };
  for (const action of actions) {
    try {
      await executeAction(action, ctx);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      log.error('action failed', { policy: key, action: action.type, error: message });
      await deps.events
        .record(
          { ...policyRef(namespace, name), uid: pass.uid },
          'Warning',
          'ActionFailed',
          `${action.type}: ${message}`,
        )
        .catch(() => {
          // The Event is only a report; the failure itself is logged above and retried below.
        });
      notify();
      return { kind: 'failed', error };
    }
  }
  notify();
  return { kind: 'done', next, actions, latest, analysed, wake };
}

/**
 * Someone else changed what canaryd routes (edited the canary weight, the Service selector,
 * deleted a canary Ingress): write canaryd's intent back and say so in an Event. Only while a
 * step carries its weight; elsewhere the engine's own actions converge. Returns true if it wrote.
 */
async function correctDrift(
  deps: ReconcilerDeps,
  router: TrafficRouter,
  target: RouteTarget,
  release: ReleaseState,
  drift: string,
): Promise<boolean> {
  const current = release.current;
  if (current === undefined || !carryingStep(release)) return false;
  const key = `${target.namespace}/${target.policy}`;
  try {
    await router.prepare(target);
    await router.setWeight(target, current.weight);
  } catch (error) {
    // gateway-api: prepare put the route back as canaryd recorded it (the weight the Gateway
    // accepted before the edit); the Gateway has not reported on that write yet. It is
    // corrected; a Gateway that now refuses it pauses the release on the next look.
    // OlderCanaryPods: prepare put the canary Service's selector back, and its endpoints still
    // list the pods the edited selector chose until the endpoint controller catches up. The
    // objects are corrected; the next look sees the endpoints as they are.
    if (!isTrafficError(error, 'RouteNotAccepted') && !isTrafficError(error, 'OlderCanaryPods')) {
      deps.log.warn('could not correct route drift', { policy: key, drift, error: (error as Error).message });
      return false;
    }
  }
  deps.log.warn('route drift corrected', { policy: key, drift, weight: current.weight });
  await recordDriftCorrected(deps, target, `${drift}; canaryd put its route back (weight ${current.weight} %)`);
  return true;
}

/** A step carries its weight: the only time drift is corrected (elsewhere the engine converges). */
/** The hooks the policy configures get their metric series (at 0) before their first call. */
function declareHooks(deps: ReconcilerDeps, policy: CanaryPolicy): void {
  const hooks = policy.spec.hooks;
  if (hooks !== undefined) deps.hooks?.configured?.(Object.keys(hooks) as HookName[]);
}

const carryingStep = (release: ReleaseState): boolean =>
  release.current?.stepStartedAt !== undefined && (release.phase === 'progressing' || release.phase === 'paused');

async function recordDriftCorrected(deps: ReconcilerDeps, target: RouteTarget, message: string): Promise<void> {
  await deps.events
    .record({ ...policyRef(target.namespace, target.policy) }, 'Warning', 'DriftCorrected', message)
    .catch(() => {
      // Logged by the caller; the Event is only a report.
    });
}

/**
 * Someone else resized the canary Deployment while a step carries its weight (the engine scales
 * it back with its next action): say so in an Event, as for route drift. A router that counts
 * the canary's replicas as part of the route (replica-ratio) has reported and corrected it already.
 */
async function reportCanaryResized(
  deps: ReconcilerDeps,
  target: RouteTarget,
  release: ReleaseState,
  observed: Observed,
): Promise<void> {
  const current = release.current;
  const canary = observed.canary;
  if (current === undefined || !carryingStep(release)) return;
  const wanted = observed.canaryReplicasPerStep?.[current.stepIndex];
  if (canary === undefined || wanted === undefined || canary.templateHash !== current.templateHash) return;
  if (canary.replicas === wanted) return;
  const drift = `canary Deployment ${target.canaryDeployment} has ${canary.replicas} replicas but step ${current.stepIndex + 1} needs ${wanted}`;
  deps.log.warn('canary resized by someone else', { policy: `${target.namespace}/${target.policy}`, drift });
  await recordDriftCorrected(deps, target, `${drift}; canaryd resizes it to ${wanted}`);
}

/** The policy in force: the object's spec when valid, else the last valid one (status.activeSpec). */
function activePolicy(
  object: PolicyObject,
  status: PolicyStatus,
  now: Date,
  deps: ReconcilerDeps,
): CanaryPolicy | undefined {
  const source = `CanaryPolicy ${object.metadata.namespace}/${object.metadata.name}`;
  const validation = validatePolicyObject(object, source);
  const generation = object.metadata.generation;
  if (validation.policy) {
    status.activeSpec = validation.policy.spec;
    status.activeGeneration = generation;
    status.observedGeneration = generation;
    status.conditions = setCondition(
      status.conditions,
      { type: 'Valid', status: 'True', reason: 'Valid', message: 'policy is valid' },
      now,
    );
    return validation.policy;
  }
  const message = validation.errors.map((e) => formatPolicyError(e)).join('\n');
  if (status.observedGeneration !== generation) {
    deps.log.warn('policy rejected', { policy: source, errors: message });
    void deps.events
      .record(
        {
          apiVersion: API_VERSION,
          kind: KIND,
          namespace: object.metadata.namespace,
          name: object.metadata.name,
          uid: object.metadata.uid,
        },
        'Warning',
        'InvalidPolicy',
        `${message}${status.activeSpec ? `\nthe last valid version (generation ${status.activeGeneration}) stays in force` : ''}`,
      )
      .catch(() => {
        // Reported in the status condition and the log as well.
      });
  }
  status.observedGeneration = generation;
  status.conditions = setCondition(
    status.conditions,
    {
      type: 'Valid',
      status: 'False',
      reason: 'InvalidPolicy',
      message: status.activeSpec
        ? `${message}\nthe last valid version (generation ${status.activeGeneration}) stays in force`
        : message,
    },
    now,
  );
  if (status.activeSpec === undefined) {
    // Nothing is in force: say so where `kubectl get canarypolicies` looks, not only in a condition.
    status.phase = 'invalid';
    status.message = `invalid policy: ${message}`;
    return undefined;
  }
  const restored = canaryPolicy.safeParse({
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name: object.metadata.name, namespace: object.metadata.namespace },
    spec: status.activeSpec,
  });
  return restored.success ? restored.data : undefined;
}

function readyCondition(next: ReleaseState) {
  const failed = next.phase === 'failed' || next.phase === 'rollingBack';
  return {
    type: 'Ready' as const,
    status: failed ? ('False' as const) : ('True' as const),
    reason: next.phase.charAt(0).toUpperCase() + next.phase.slice(1),
    message: next.reason,
  };
}

/**
 * Writes the status; null when the object changed meanwhile (conflict) or is gone. An unchanged
 * status (ignoring updatedAt) is not written: every write is a watch event, and writing on every
 * reconcile would make the controller wake itself forever.
 */
async function writeStatus(
  deps: ReconcilerDeps,
  object: PolicyObject,
  status: PolicyStatus,
): Promise<PolicyObject | null> {
  const { updatedAt: _before, ...previous } = (object.status ?? {}) as Partial<PolicyStatus>;
  const { updatedAt: _after, ...next } = status;
  if (canonicalJson(previous) === canonicalJson(JSON.parse(JSON.stringify(next)))) return object;
  try {
    const written = await deps.kube.replaceStatus<PolicyObject>({ ...object, status });
    deps.onStatus?.(object.metadata.namespace ?? '', object.metadata.name, status);
    return written;
  } catch (error) {
    if (isKubeError(error, 'Conflict') || isKubeError(error, 'NotFound')) {
      deps.log.debug?.('status not written', { error: (error as Error).message });
      return null;
    }
    throw error;
  }
}

/** How soon a policy whose router was refused (ambiguous, missing route) looks again. */
/** How often a canary being removed is looked at until it is gone. */
const CANARY_REMOVAL_POLL_MS = 1000;
const ROUTER_RETRY_MS = 30_000;

/**
 * No router can be chosen (auto sees an Ingress and an HTTPRoute, a named route is missing):
 * nothing starts; the reason goes to the status and, once per new reason, to an Event.
 */
async function refuseRouter(
  deps: ReconcilerDeps,
  object: PolicyObject,
  status: PolicyStatus,
  reason: string,
  now: Date,
): Promise<void> {
  const { namespace = '', name } = object.metadata;
  const routerReason = `refused: ${reason}`;
  if (status.routerReason !== routerReason) {
    deps.log.warn('no traffic router', { policy: policyKeyOf(namespace, name), reason });
    await deps.events
      .record({ ...policyRef(namespace, name), uid: object.metadata.uid }, 'Warning', 'RouterRefused', reason)
      .catch(() => {
        // Reported in the status as well.
      });
  }
  await writeStatus(deps, object, {
    ...status,
    routerReason,
    message: reason,
    conditions: setCondition(
      status.conditions,
      { type: 'Ready', status: 'False', reason: 'RouterRefused', message: reason },
      now,
    ),
    updatedAt: now.toISOString(),
  });
}

async function routeTargetFor(
  deps: ReconcilerDeps,
  policy: CanaryPolicy,
  status: PolicyStatus,
  release: ReleaseState,
  deployment: Deployment | null,
  deleting: boolean,
): Promise<{ router: TrafficRouter; target: RouteTarget }> {
  const { namespace, name } = policy.metadata;
  const { target: spec } = policy.spec;
  const query = { namespace, service: spec.service, ingresses: spec.ingresses, httpRoutes: spec.httpRoutes };
  const named: RouteNames = { ingresses: spec.ingresses ?? [], httpRoutes: spec.httpRoutes ?? [] };
  let kind = status.router as RouterName | undefined;
  let routes = named;
  /** The routes of the router already chosen, found again (RouteTarget's lists). */
  const routesOfRelease = (chosen: RouterName) =>
    deps.router(chosen).routesOfRelease({
      namespace,
      policy: name,
      named,
      choose: () => findRoutes(deps.kube, query, chosen),
      deleting,
    });
  if (deleting) {
    // A deleted policy hands back what its router left: the router it had, and the canary
    // Ingresses (or routes) it finds, never a new choice. The user's Ingress may be gone already
    // (a namespace being deleted removes everything at once), and choosing again would fail, or
    // pick another router whose cleanup leaves the first one's objects behind (issue 12).
    kind ??= spec.router === 'auto' ? AUTO_FALLBACK : spec.router;
    routes = await routesOfRelease(kind);
  } else if (kind === undefined || !IN_FLIGHT.has(release.phase)) {
    // The router is chosen when no release runs and kept for the whole release.
    const service = await deps.kube.get<Service>({ apiVersion: 'v1', kind: 'Service', namespace, name: spec.service });
    const choice = await findRoutes(deps.kube, query, spec.router);
    kind = choice.kind;
    routes = { ingresses: choice.ingresses, httpRoutes: choice.httpRoutes };
    status.router = kind;
    status.routerReason = choice.reason + (service === null ? ` (Service ${spec.service} not found)` : '');
  } else {
    // The release keeps the routes it made canaries of, even if a user's route went meanwhile.
    routes = await routesOfRelease(kind);
  }
  const stableReplicas = release.stable && deployment !== null ? stableBaseline(deployment) : 1;
  const target: RouteTarget = {
    namespace,
    policy: name,
    deployment: spec.deployment,
    service: spec.service,
    ingresses: routes.ingresses,
    httpRoutes: routes.httpRoutes,
    canaryDeployment: `${spec.deployment}${CANARY_SUFFIX}`,
    canaryService: `${spec.service}${CANARY_SUFFIX}`,
    stableReplicas,
    surgeBudget: policy.spec.replicaRatio.surgeBudget,
  };
  return { router: deps.router(kind), target };
}

/**
 * The policy as this router can carry it out. Header and cookie routing need an Ingress: when
 * `router: auto` found none (replica-ratio), the release runs by weight alone and the status
 * says that spec.routing is not applied, instead of failing every step or dropping it silently.
 */
export function policyForRouter(
  policy: CanaryPolicy,
  router: Pick<TrafficRouter, 'kind' | 'canRouteTesters'>,
  status: PolicyStatus,
): CanaryPolicy {
  if (router.canRouteTesters || !routesTesters(policy)) return policy;
  const note = `; spec.routing (header/cookie${policy.spec.routing?.testersFirst ? ', testersFirst' : ''}) is not applied: ${router.kind} cannot route by header or cookie`;
  if (status.routerReason !== undefined && !status.routerReason.endsWith(note)) status.routerReason += note;
  const { routing: _unused, ...spec } = policy.spec;
  return { ...policy, spec };
}

async function observeRouteOf(
  deps: ReconcilerDeps,
  router: TrafficRouter,
  target: RouteTarget,
  canaryExists: boolean,
  stepNeedsRoute: boolean,
): Promise<{ observed: Observed['route']; status?: RouteStatus }> {
  try {
    const status = await router.observe(target, { canaryExists });
    return { observed: observeRoute(status, stepNeedsRoute), status };
  } catch (error) {
    deps.log.warn('could not observe the route', {
      policy: `${target.namespace}/${target.policy}`,
      error: (error as Error).message,
    });
    return { observed: observeRoute(undefined, stepNeedsRoute) };
  }
}

const dateOrUndefined = (iso: string | undefined): Date | undefined => (iso === undefined ? undefined : new Date(iso));

async function analysisTargetOf(deps: ReconcilerDeps, target: RouteTarget, canary: Deployment | null) {
  const sets = await deps.kube.list<KubeObject & { spec?: { replicas?: number } }>(
    'apps/v1',
    'ReplicaSet',
    target.namespace,
  );
  const hashOf = (deployment: string) =>
    sets.find(
      (rs) =>
        rs.metadata.ownerReferences?.some((o) => o.kind === 'Deployment' && o.name === deployment) &&
        (rs.spec?.replicas ?? 0) > 0,
    )?.metadata.labels?.[POD_TEMPLATE_HASH];
  return {
    namespace: target.namespace,
    deployment: target.deployment,
    canary: target.canaryDeployment,
    service: target.service,
    canaryService: target.canaryService,
    ingresses: target.ingresses,
    // gateway-api: the routes whose backends carry the split (Traefik names its Gateway backends
    // httproute-<ns>-<route>-...); for built-in checks over a Gateway's own metrics.
    httpRoutes: target.httpRoutes ?? [],
    stableHash: hashOf(target.deployment),
    canaryHash: canary ? hashOf(target.canaryDeployment) : undefined,
  };
}

/**
 * The operation with the actor to record: its canaryd.dev/operation-by claim, as fact only while
 * the admission policy guarantees the API server checked it against the writer's identity.
 */
async function withActor(
  deps: ReconcilerDeps,
  operation: Observed['operation'],
  annotations: Record<string, string> | undefined,
  release: ReleaseState,
): Promise<Observed['operation']> {
  if (operation === undefined) return undefined;
  // Processed already: only its id matters (the engine re-acks it); no need to ask the API server.
  if (operation.id === release.lastOperationId || release.recentOperationIds?.includes(operation.id)) {
    return operation;
  }
  const claimed = annotations?.[OPERATION_BY_ANNOTATION];
  const verdict = claimed === undefined || deps.admission === undefined ? undefined : await deps.admission();
  if (verdict?.enforced !== true) {
    deps.log.warn('operation actor not verified', {
      id: operation.id,
      claimed: claimed ?? operation.by,
      reason: verdict?.reason ?? `no ${OPERATION_BY_ANNOTATION} annotation, or no admission check configured`,
    });
  }
  const verified = verdict?.enforced === true && approvalWrittenPlainly(operation, annotations?.[OPERATION_ANNOTATION]);
  return { ...operation, by: recordedActor(claimed ?? operation.by, verdict?.enforced === true), verified };
}
