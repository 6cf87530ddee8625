// The replica-ratio router: no proxy, so the canary's share is its share of the Service's ready
// endpoints. Canary pods carry the Service's selector labels and join it; the router sizes the
// canary (and, within the surge budget, the stable side) with replica-solver.ts, and reports
// the share the ready endpoints give — never the one it asked for.
//
// The scaling, in the order that keeps capacity, is replica-ratio-scale.ts; observe() is
// replica-ratio-observe.ts; what the router records on your objects (the Service's selector, the
// weight, a surge) and reads back is replica-ratio-records.ts.
import { isKubeError, type KubeApi } from '../kube/api.ts';
import type { Deployment, Service } from '../kube/objects.ts';
import type { RoutingSpec } from '../policy/schema.ts';
import { deploymentRef, getDeployment, getService, patchIfPresent, serviceRef } from './cluster.ts';
import { TrafficError } from './errors.ts';
import { ORIGINAL_REPLICAS, RELEASE_SELECTOR } from './labels.ts';
import { MARK_REMOVAL } from './policy-mark.ts';
import { observeReplicaRatio } from './replica-ratio-observe.ts';
import { recordedBaseline, releaseSelectorPatch, splitFor, weightRecord } from './replica-ratio-records.ts';
import { scaleToWeight } from './replica-ratio-scale.ts';
import {
  type ObserveOptions,
  policyMark,
  type RouteLookup,
  type RouteNames,
  type RouteStatus,
  type RouteTarget,
  type SetWeightOptions,
  type TrafficRouter,
} from './router.ts';

export class ReplicaRatioRouter implements TrafficRouter {
  readonly kind = 'replica-ratio' as const;
  /** The canary's ready pods are its share: they join the stable Service. */
  readonly canaryPodsCarryTraffic = true;
  readonly pinsStableService = false;
  /** No proxy picks requests: header and cookie routing cannot be carried out. */
  readonly canRouteTesters = false;
  readonly #kube: KubeApi;

  constructor(kube: KubeApi) {
    this.#kube = kube;
  }

  /** No routing objects: the routes the policy names are all there is. */
  async routesOfRelease(lookup: RouteLookup): Promise<RouteNames> {
    return lookup.named;
  }

  async prepare(target: RouteTarget): Promise<void> {
    const service = await getService(this.#kube, target.namespace, target.service);
    if (Object.keys(service.spec.selector ?? {}).length === 0) {
      throw new TrafficError(
        'NotManaged',
        `Service ${target.namespace}/${target.service} has no selector; replica-ratio needs canary pods to join it by labels`,
      );
    }
    await getDeployment(this.#kube, target.namespace, target.deployment);
    const patch = releaseSelectorPatch(service, policyMark(target));
    if (patch !== undefined) await this.#kube.mergePatch(serviceRef(target.namespace, target.service), patch);
  }

  desiredCanaryReplicas(target: RouteTarget, weight: number): number {
    return splitFor(target, weight).canaryReplicas;
  }

  async setWeight(target: RouteTarget, weight: number, _options: SetWeightOptions = {}): Promise<RouteStatus> {
    splitFor(target, weight); // validates before any call
    if (weight === 0) {
      const canaryRef = deploymentRef(target.namespace, target.canaryDeployment);
      const intent = weightRecord(weight);
      // Rollback path: one write, no read. The stable side keeps any surge until cleanup.
      await this.#kube.mergePatch(canaryRef, { ...intent, spec: { replicas: 0 } }).catch((error: unknown) => {
        if (!isKubeError(error, 'NotFound')) throw error; // no canary Deployment: nothing to route
      });
      // The Service may be gone (its namespace is being deleted): observe says nothing routes.
      return this.observe(target);
    }
    const waiting = await scaleToWeight(this.#kube, target, weight);
    // A weight needs the Service: one gone meanwhile fails the write (observe alone would only
    // report that nothing is routed).
    await getService(this.#kube, target.namespace, target.service);
    const status = await this.observe(target);
    if (waiting !== undefined) status.detail = `${status.detail}; ${waiting}`;
    return status;
  }

  async setTesterRouting(_target: RouteTarget, routing: RoutingSpec | undefined): Promise<void> {
    if (routing?.header !== undefined || routing?.cookie !== undefined) {
      throw new TrafficError(
        'InvalidRouting',
        'header and cookie routing need an Ingress (router ingress-nginx); replica-ratio cannot pick requests',
      );
    }
  }

  observe(target: RouteTarget, options: ObserveOptions = {}): Promise<RouteStatus> {
    return observeReplicaRatio(this.#kube, target, options);
  }

  async cleanup(target: RouteTarget): Promise<void> {
    // The canary Deployment is the controller's; here the record on the Service goes and the
    // surge is undone. A Service or Deployment already gone (its namespace is being deleted)
    // has nothing left to restore.
    const service = await this.#kube.get<Service>(serviceRef(target.namespace, target.service));
    if (service?.metadata.annotations?.[RELEASE_SELECTOR] !== undefined) {
      await patchIfPresent(this.#kube, serviceRef(target.namespace, target.service), {
        metadata: { annotations: { [RELEASE_SELECTOR]: null, ...MARK_REMOVAL } },
      });
    }
    const stable = await this.#kube.get<Deployment>(deploymentRef(target.namespace, target.deployment));
    if (stable === null) return;
    const baseline = recordedBaseline(stable);
    if (baseline === undefined) return;
    await patchIfPresent(this.#kube, deploymentRef(target.namespace, target.deployment), {
      metadata: { annotations: { [ORIGINAL_REPLICAS]: null } },
      spec: { replicas: baseline },
    });
  }
}
