// Which router a policy gets and what it routes through (RouteTarget): chosen while no release
// runs, kept for the whole release, and found again by the router itself (routesOfRelease) for a
// running release or a deleted policy.
import type { ReleaseState } from '../engine/index.ts';
import { routesTesters } from '../engine/plan.ts';
import type { Deployment, Service } from '../kube/objects.ts';
import type { CanaryPolicy } from '../policy/schema.ts';
import { AUTO_FALLBACK } from '../traffic/choose.ts';
import { findRoutes } from '../traffic/find-routes.ts';
import { stableBaseline } from '../traffic/replica-ratio-records.ts';
import type { RouteNames, RouterName, RouteTarget, TrafficRouter } from '../traffic/router.ts';
import type { ReconcilerDeps } from './deps.ts';
import { CANARY_SUFFIX } from './names.ts';
import { IN_FLIGHT } from './phases.ts';
import type { PolicyStatus } from './status.ts';

export async function routeTargetFor(
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
