// The replica-ratio router: no proxy, so the canary's share is its share of the Service's ready
// endpoints. Canary pods carry the Service's selector labels and join it; the router sizes the
// canary (and, within the surge budget, the stable side) with replica-solver.ts, and reports
// the share the ready endpoints give — never the one it asked for.
//
// Scaling order keeps capacity: the stable side only grows first; it shrinks back (never below
// the baseline) only once the canary pods of the new split are ready. A surge is recorded on
// the stable Deployment (canaryd.dev/original-replicas) so cleanup restores spec.replicas even
// after a restart.
import { isKubeError, type KubeApi } from '../kube/api.ts';
import type { Deployment, KubeObject, Service } from '../kube/objects.ts';
import type { RoutingSpec } from '../policy/schema.ts';
import {
  canaryTemplateHashesIn,
  currentTemplateHashes,
  type ReplicaSet,
  runsCanaryTemplate,
} from './canary-template.ts';
import {
  deploymentRef,
  endpointSlicesOf,
  getDeployment,
  getService,
  labelSelector,
  patchIfPresent,
  serviceRef,
} from './cluster.ts';
import { TrafficError } from './errors.ts';
import { INTENDED_WEIGHT, ORIGINAL_REPLICAS, RELEASE_SELECTOR } from './labels.ts';
import { formatShare, type ReplicaSplit, solveReplicaSplit } from './replica-solver.ts';
import { replicaRatioRoutePieces } from './route-pieces.ts';
import type {
  ObserveOptions,
  RouteLookup,
  RouteNames,
  RoutePieces,
  RouteStatus,
  RouteTarget,
  SetWeightOptions,
  TrafficRouter,
} from './router.ts';
import {
  isPinned,
  originalSelector,
  recordedSelector,
  restoreSelectorPatch,
  sameSelector,
  selectorPatch,
} from './selector.ts';
import { endpointShare } from './share.ts';

/** The fields of a v1 Pod the share needs. */
export interface Pod extends KubeObject {
  apiVersion: 'v1';
  kind: 'Pod';
}

/**
 * The patch prepare writes on the stable Service, or undefined when it is as it should be: a pin
 * left by an interrupted ingress-nginx release removed (it would keep the canary pods out), the
 * selector recorded once, and put back should someone have edited it since.
 */
const releaseSelectorPatch = (service: Service): object | undefined => {
  const restore = restoreSelectorPatch(service) as
    | { metadata: { annotations: Record<string, string | null> }; spec: { selector: Record<string, string | null> } }
    | undefined;
  const found = originalSelector(service);
  const recorded = recordedSelector(service, RELEASE_SELECTOR);
  const wanted = recorded ?? found;
  const annotations: Record<string, string | null> = { ...restore?.metadata.annotations };
  if (recorded === undefined) annotations[RELEASE_SELECTOR] = JSON.stringify(found);
  const selector = service.spec.selector ?? {};
  const edited = !sameSelector(selector, wanted);
  if (Object.keys(annotations).length === 0 && !edited) return undefined;
  return {
    metadata: { annotations },
    ...(edited ? { spec: { selector: selectorPatch(selector, wanted) } } : {}),
  };
};

/** The split for `weight`; `baseline` overrides target.stableReplicas (a recorded surge wins). */
const splitFor = (target: RouteTarget, weight: number, baseline = target.stableReplicas): ReplicaSplit => {
  try {
    return solveReplicaSplit(weight, baseline, { surgeBudget: target.surgeBudget ?? 0 });
  } catch (error) {
    throw new TrafficError('InvalidWeight', `replica-ratio: ${(error as Error).message}`, { cause: error });
  }
};

/**
 * The weight canaryd last wrote for this canary, recorded as a label of the canary Deployment:
 * an annotation change bumps a Deployment's generation (the Deployment controller copies
 * annotations to its ReplicaSets), and until that controller caught up the canary's pods did not
 * count as ready, so every step's weight write held up the next step. Canaries made before
 * carry it as an annotation.
 */
export const recordedWeight = (canary: Deployment | null): string | undefined =>
  canary?.metadata.labels?.[INTENDED_WEIGHT] ?? canary?.metadata.annotations?.[INTENDED_WEIGHT];

/** Records `weight` as the label (and drops an older canary's annotation; a no-op when absent). */
const weightRecord = (weight: number) => ({
  metadata: { labels: { [INTENDED_WEIGHT]: String(weight) }, annotations: { [INTENDED_WEIGHT]: null } },
});

export const recordedBaseline = (stable: Deployment): number | undefined => {
  const recorded = stable.metadata.annotations?.[ORIGINAL_REPLICAS];
  const value = recorded === undefined ? Number.NaN : Number(recorded);
  return Number.isInteger(value) && value >= 0 ? value : undefined;
};

/**
 * The stable Deployment's replicas before the release (RouteTarget.stableReplicas): the recorded
 * ones while a surge is in force, else spec.replicas. Sizing from a surged spec.replicas would
 * give the controller another split than setWeight, and the two would scale the canary back and
 * forth.
 */
export const stableBaseline = (stable: Deployment): number => recordedBaseline(stable) ?? stable.spec.replicas ?? 1;

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
    const patch = releaseSelectorPatch(service);
    if (patch !== undefined) await this.#kube.mergePatch(serviceRef(target.namespace, target.service), patch);
  }

  desiredCanaryReplicas(target: RouteTarget, weight: number): number {
    return splitFor(target, weight).canaryReplicas;
  }

  async setWeight(target: RouteTarget, weight: number, _options: SetWeightOptions = {}): Promise<RouteStatus> {
    splitFor(target, weight); // validates before any call
    const canaryRef = deploymentRef(target.namespace, target.canaryDeployment);
    const intent = weightRecord(weight);
    if (weight === 0) {
      // Rollback path: one write, no read. The stable side keeps any surge until cleanup.
      await this.#kube.mergePatch(canaryRef, { ...intent, spec: { replicas: 0 } }).catch((error: unknown) => {
        if (!isKubeError(error, 'NotFound')) throw error; // no canary Deployment: nothing to route
      });
      // The Service may be gone (its namespace is being deleted): observe says nothing routes.
      return this.observe(target);
    }
    const stableRef = deploymentRef(target.namespace, target.deployment);
    const stable = await getDeployment(this.#kube, target.namespace, target.deployment);
    const canary = await this.#canaryDeployment(target);
    // After a restart the recorded baseline is the truth, whatever the caller remembers.
    const baseline = recordedBaseline(stable) ?? target.stableReplicas;
    const split = splitFor(target, weight, baseline);
    const stableNow = stable.spec.replicas ?? 1;
    if (split.stableReplicas > stableNow) {
      const record = recordedBaseline(stable) === undefined ? { [ORIGINAL_REPLICAS]: String(baseline) } : {};
      await this.#kube.mergePatch(stableRef, {
        metadata: { annotations: record },
        spec: { replicas: split.stableReplicas },
      });
    }
    if (
      (canary.spec.replicas ?? 1) !== split.canaryReplicas ||
      canary.metadata.labels?.[INTENDED_WEIGHT] !== String(weight) ||
      canary.metadata.annotations?.[INTENDED_WEIGHT] !== undefined
    ) {
      await this.#kube.mergePatch(canaryRef, { ...intent, spec: { replicas: split.canaryReplicas } });
    }
    let waiting: string | undefined;
    if (split.stableReplicas < stableNow) {
      const canaryReady = canary.status?.readyReplicas ?? 0;
      if (canaryReady >= split.canaryReplicas && (canary.spec.replicas ?? 1) === split.canaryReplicas) {
        const unrecord = split.stableReplicas === baseline ? { [ORIGINAL_REPLICAS]: null } : {};
        await this.#kube.mergePatch(stableRef, {
          metadata: { annotations: unrecord },
          spec: { replicas: split.stableReplicas },
        });
      } else {
        waiting = `waiting for ${split.canaryReplicas} ready canary pods before scaling stable from ${stableNow} to ${split.stableReplicas}`;
      }
    }
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

  async observe(target: RouteTarget, options: ObserveOptions = {}): Promise<RouteStatus> {
    const service = await this.#kube.get<Service>(serviceRef(target.namespace, target.service));
    const canary = await this.#kube.get<Deployment>(deploymentRef(target.namespace, target.canaryDeployment));
    const stable = await this.#kube.get<Deployment>(deploymentRef(target.namespace, target.deployment));
    const pieces = replicaRatioRoutePieces({
      canaryDeployment: options.canaryExists ?? canary !== null,
      pinned: service === null || isPinned(service),
      selectorRecorded: service?.metadata.annotations?.[RELEASE_SELECTOR] !== undefined,
      surged: stable?.metadata.annotations?.[ORIGINAL_REPLICAS] !== undefined,
    });
    // The Service is gone (its namespace is being deleted): nothing routes to the canary, and
    // a surge may still be left for cleanup.
    if (service === null) {
      const missing = `Service ${target.namespace}/${target.service} does not exist; check target.service of the policy`;
      return this.#nothingRouted(target, missing, pieces);
    }
    const { names, uids, strays } = await this.#canaryTemplatePods(target, service, canary, stable);
    const slices = await endpointSlicesOf(this.#kube, target.namespace, target.service);
    const share = endpointShare(slices, (endpoint) => {
      const ref = endpoint.targetRef;
      return (
        ref !== undefined &&
        ((ref.uid !== undefined && uids.has(ref.uid)) || (ref.name !== undefined && names.has(ref.name)))
      );
    });
    const requested = Number(recordedWeight(canary) ?? '0');
    const drift: string[] = [];
    if (isPinned(service)) {
      drift.push(`Service ${target.service} is pinned to the stable pods, so canary pods receive no traffic`);
    }
    const recorded = recordedSelector(service, RELEASE_SELECTOR);
    const selector = service.spec.selector ?? {};
    if (recorded !== undefined && !isPinned(service) && !sameSelector(selector, recorded)) {
      drift.push(
        `Service ${target.service} selector was changed to ${JSON.stringify(selector)} during the release (it was ${JSON.stringify(recorded)}), so the split no longer holds`,
      );
    }
    if (Number.isFinite(requested) && canary !== null) {
      const split = splitFor(
        target,
        requested,
        (stable === null ? undefined : recordedBaseline(stable)) ?? target.stableReplicas,
      );
      if ((canary.spec.replicas ?? 1) !== split.canaryReplicas) {
        drift.push(
          `canary Deployment ${target.canaryDeployment} has ${canary.spec.replicas ?? 1} replicas but ${formatShare(requested)} needs ${split.canaryReplicas}`,
        );
      }
      if (stable !== null && (stable.spec.replicas ?? 1) < split.stableReplicas) {
        drift.push(
          `Deployment ${target.deployment} has ${stable.spec.replicas ?? 1} replicas, fewer than the ${split.stableReplicas} ${formatShare(requested)} needs (scaled down by someone or an autoscaler)`,
        );
      }
    }
    const status: RouteStatus = {
      router: this.kind,
      requestedWeight: Number.isFinite(requested) ? requested : 0,
      achievedWeight: share.share,
      canaryReplicas: share.canaryReady,
      stableReplicas: share.stableReady,
      detail:
        `${share.canaryReady} canary of ${share.canaryReady + share.stableReady} ready endpoints: ${formatShare(share.share)} (requested ${formatShare(requested)})` +
        (strays ? '; the stable Deployment runs pods of the canary template too (unpaused during the release)' : ''),
      pieces,
      // No header or cookie routing: it cannot pick requests.
      testersRouting: false,
    };
    if (drift.length > 0) status.drift = drift.join('; ');
    return status;
  }

  /** The pods of the Service that run the canary's current template, by name and uid. */
  async #canaryTemplatePods(
    target: RouteTarget,
    service: Service,
    canary: Deployment | null,
    stable: Deployment | null,
  ) {
    if (canary === null) return { names: new Set<string>(), uids: new Set<string>(), strays: false };
    // The stable Deployment's selector also selects the canary's ReplicaSets (their labels add the track).
    const replicaSets = await this.#kube.list<ReplicaSet>(
      'apps/v1',
      'ReplicaSet',
      target.namespace,
      labelSelector((stable ?? canary).spec.selector.matchLabels ?? {}),
    );
    // Only pods of the canary's current template count: a previous canary's pods, still there
    // while a new template replaces it, are not the canary of this release (issue 11).
    const canaryHashes = currentTemplateHashes(canary, replicaSets);
    // Pods of the canary template in the stable Deployment (an unpause during the release) count too.
    const strayHashes =
      stable === null
        ? new Set<string>()
        : canaryTemplateHashesIn(target.deployment, replicaSets, canary.spec.template);
    const pods = await this.#kube.list<Pod>('v1', 'Pod', target.namespace, labelSelector(originalSelector(service)));
    const canaryPods = pods.filter((pod) => runsCanaryTemplate(pod.metadata.labels, canaryHashes, strayHashes));
    return {
      names: new Set(canaryPods.map((pod) => pod.metadata.name)),
      uids: new Set(canaryPods.flatMap((pod) => (pod.metadata.uid === undefined ? [] : [pod.metadata.uid]))),
      strays: strayHashes.size > 0,
    };
  }

  async cleanup(target: RouteTarget): Promise<void> {
    // The canary Deployment is the controller's; here the record on the Service goes and the
    // surge is undone. A Service or Deployment already gone (its namespace is being deleted)
    // has nothing left to restore.
    const service = await this.#kube.get<Service>(serviceRef(target.namespace, target.service));
    if (service?.metadata.annotations?.[RELEASE_SELECTOR] !== undefined) {
      await patchIfPresent(this.#kube, serviceRef(target.namespace, target.service), {
        metadata: { annotations: { [RELEASE_SELECTOR]: null } },
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

  #nothingRouted(target: RouteTarget, why: string, pieces: RoutePieces): RouteStatus {
    return {
      router: this.kind,
      requestedWeight: 0,
      achievedWeight: 0,
      canaryReplicas: 0,
      stableReplicas: 0,
      detail: `nothing routed to ${target.canaryDeployment}: ${why}`,
      pieces,
      testersRouting: false,
    };
  }

  async #canaryDeployment(target: RouteTarget): Promise<Deployment> {
    const canary = await this.#kube.get<Deployment>(deploymentRef(target.namespace, target.canaryDeployment));
    if (canary === null) {
      throw new TrafficError(
        'NotPrepared',
        `canary Deployment ${target.namespace}/${target.canaryDeployment} does not exist; create it before setting a weight`,
      );
    }
    return canary;
  }
}
