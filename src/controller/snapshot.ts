// Snapshot: everything one pass decides on, read from the caches (the reader port answers from
// informers) and put in the engine's terms (Observed), with what the later steps need: the
// router, its target, the canary Deployment and the route as read. It writes nothing but the
// status fields it derives (the router chosen, analysis counters reset, hook answers merged).
import { evidenceForRelease, type HookName, type Observed, planSteps, type ReleaseState } from '../engine/index.ts';
import { mergeHookAnswers } from '../hooks/index.ts';
import type { Deployment } from '../kube/objects.ts';
import { API_VERSION, type CanaryPolicy, KIND } from '../policy/schema.ts';
import { isTrafficError } from '../traffic/errors.ts';
import { policyMark, type RouteStatus, type RouteTarget, type TrafficRouter } from '../traffic/router.ts';
import { approvalWrittenPlainly, recordedActor } from './actor.ts';
import type { PolicyObject, ReconcilerDeps } from './deps.ts';
import { OPERATION_ANNOTATION, OPERATION_BY_ANNOTATION, policyKeyOf } from './names.ts';
import { observeAnalysis, observeCanary, observeDeployment, observeRoute, parseOperation } from './observe.ts';
import { STEP_PHASES } from './phases.ts';
import { policyForRouter, routeTargetFor } from './route-target.ts';
import type { PolicyStatus } from './status.ts';

/** The route as the engine sees it, and as the router reported it (none when it could not look). */
export interface RouteObservation {
  observed: Observed['route'];
  status?: RouteStatus;
}

export interface Snapshot {
  deleting: boolean;
  release: ReleaseState;
  /** The policy as its router can carry it out (policyForRouter). */
  policy: CanaryPolicy;
  router: TrafficRouter;
  target: RouteTarget;
  canary: Deployment | null;
  route: RouteObservation;
  observed: Observed;
  /** A step needs a complete route (RoutePieces.complete); elsewhere any piece asks for cleanup. */
  stepNeedsRoute: boolean;
  /** The user's Deployment as read. */
  stable: Deployment | null;
}

export interface SnapshotInput {
  namespace: string;
  name: string;
  object: PolicyObject;
  /** Read from the object; the snapshot updates what it derives (see above). */
  status: PolicyStatus;
  /** The policy in force (activePolicy). */
  policy: CanaryPolicy;
  deleting: boolean;
  now: Date;
}

/** The snapshot, or the reason no router can be chosen (nothing starts then). */
export async function takeSnapshot(
  deps: ReconcilerDeps,
  input: SnapshotInput,
): Promise<Snapshot | { refused: string }> {
  const { kube, log } = deps;
  const { namespace, name, object, status, deleting, now } = input;
  const valid = input.policy;
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
    return { refused: error.message };
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
  const route = await observeRouteOf(deps, router, target, canary !== null, stepNeedsRoute);

  // Analysis evidence belongs to one release: a new template starts from zero.
  status.analysis = evidenceForRelease(status.analysis, release);
  const parsedOperation = parseOperation(object.metadata.annotations?.[OPERATION_ANNOTATION]);
  if (parsedOperation.error)
    log.warn('ignoring malformed operation', { policy: policyKeyOf(namespace, name), error: parsedOperation.error });
  const operation = await withActor(deps, parsedOperation.operation, object.metadata.annotations, release);
  // Hook answers that came in since the last pass are facts now (and kept in the status).
  status.hooks = mergeHookAnswers(status.hooks, deps.hooks?.answers(namespace, name) ?? {});
  declareHooks(deps, policy);
  const observed: Observed = {
    policyDeleted: deleting,
    deployment: deployment ? observeDeployment(deployment, release, policyMark(target)) : undefined,
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
  return { deleting, release, policy, router, target, stable: deployment, canary, route, observed, stepNeedsRoute };
}

/** The route observed again (after drift was put back), in the snapshot and its Observed. */
export async function observeRouteAgain(deps: ReconcilerDeps, snapshot: Snapshot): Promise<void> {
  const { router, target, canary, stepNeedsRoute } = snapshot;
  snapshot.route = await observeRouteOf(deps, router, target, canary !== null, stepNeedsRoute);
  snapshot.observed.route = snapshot.route.observed;
  snapshot.observed.canary = observeCanary(canary, snapshot.route.status);
}

async function observeRouteOf(
  deps: ReconcilerDeps,
  router: TrafficRouter,
  target: RouteTarget,
  canaryExists: boolean,
  stepNeedsRoute: boolean,
): Promise<RouteObservation> {
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

/** The hooks the policy configures get their metric series (at 0) before their first call. */
function declareHooks(deps: ReconcilerDeps, policy: CanaryPolicy): void {
  const hooks = policy.spec.hooks;
  if (hooks !== undefined) deps.hooks?.configured?.(Object.keys(hooks) as HookName[]);
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
