// The ingress-nginx router: a canary Ingress per stable Ingress, weighted by annotations, in
// front of a canary Service that selects only canary pods; the stable Service is pinned to the
// stable pods meanwhile (selector.ts). The annotations on the canary Ingress are the source of
// truth for the weight. The refusals made before any write are ingress-nginx-checks.ts; observe()
// is ingress-nginx-observe.ts.

import { isKubeError, type KubeApi } from '../kube/api.ts';
import type { Ingress, Service } from '../kube/objects.ts';
import type { RoutingSpec } from '../policy/schema.ts';
import { canaryIngressNames, stableIngressesRecorded, testerAnnotations, weightAnnotations } from './canary-ingress.ts';
import { assertCanaryRoutable, ownCanaryService } from './canary-refusals.ts';
import { buildCanaryService, canarySelector } from './canary-service.ts';
import { getDeployment, getService, ingressRef, labelSelector, patchIfPresent, serviceRef } from './cluster.ts';
import { TrafficError } from './errors.ts';
import { canaryIngressesToCreate, ownedBy } from './ingress-nginx-checks.ts';
import { observeIngressNginx } from './ingress-nginx-observe.ts';
import { MANAGED_BY, MANAGED_BY_CANARYD, NGINX_TESTER_ANNOTATIONS } from './labels.ts';
import {
  policyKey,
  policyMark,
  type RouteLookup,
  type RouteNames,
  type RouteStatus,
  type RouteTarget,
  type SetWeightOptions,
  type TrafficRouter,
} from './router.ts';
import {
  pinSelectorPatch,
  type ReplicaSet,
  restoreSelectorPatch,
  sameSelector,
  selectorPatch,
  stableTemplateHash,
} from './selector.ts';

export class IngressNginxRouter implements TrafficRouter {
  readonly kind = 'ingress-nginx' as const;
  readonly canaryPodsCarryTraffic = false;
  readonly pinsStableService = true;
  readonly canRouteTesters = true;
  readonly #kube: KubeApi;

  constructor(kube: KubeApi) {
    this.#kube = kube;
  }

  async routesOfRelease(lookup: RouteLookup): Promise<RouteNames> {
    const { named } = lookup;
    // A deleted policy hands back every canary Ingress it finds: the user's Ingress may be gone
    // already (a namespace being deleted removes everything at once).
    if (lookup.deleting) return { ...named, ingresses: await this.#canaryIngressesLeft(lookup, named.ingresses) };
    if (named.ingresses.length > 0) return named;
    // The release keeps the Ingresses it made canaries of, even if a user's Ingress went meanwhile
    // (its namespace being deleted, say): cleanup must still find the canary copies.
    const chosen = await lookup.choose().then(
      (choice) => choice.ingresses,
      (error: unknown) => ({ error }),
    );
    const left = await this.#canaryIngressesLeft(lookup, Array.isArray(chosen) ? chosen : []);
    if (left.length === 0 && !Array.isArray(chosen)) throw chosen.error;
    return { ...named, ingresses: left };
  }

  /** The stable Ingresses in `known` or recorded (canary-of) on this policy's canary Ingresses. */
  async #canaryIngressesLeft(lookup: RouteLookup, known: string[]): Promise<string[]> {
    const all = await this.#kube.list<Ingress>('networking.k8s.io/v1', 'Ingress', lookup.namespace);
    const recorded = stableIngressesRecorded(all, `${lookup.namespace}/${lookup.policy}`);
    return [...new Set([...known, ...recorded])].sort();
  }

  async prepare(target: RouteTarget): Promise<void> {
    if (target.ingresses.length === 0) {
      throw new TrafficError(
        'NoRoute',
        `policy ${policyKey(target)}: the ingress-nginx router needs at least one Ingress`,
      );
    }
    // Every check before the first write, so a refused release leaves nothing behind.
    const service = await getService(this.#kube, target.namespace, target.service);
    const ingresses = await canaryIngressesToCreate(this.#kube, target);
    const existingCanaryService = await ownCanaryService(this.#kube, target);
    const pin = pinSelectorPatch(service, await this.#stableHash(target), policyMark(target));
    if (pin !== undefined) await this.#kube.mergePatch(serviceRef(target.namespace, target.service), pin);
    if (existingCanaryService === null) {
      await this.#kube.create(buildCanaryService(service, target.canaryService, policyKey(target), target.owner));
    } else {
      // Someone edited the canary Service's selector: select exactly the canary pods again.
      const wanted = canarySelector(service);
      const selector = existingCanaryService.spec.selector ?? {};
      if (!sameSelector(selector, wanted)) {
        await this.#kube.mergePatch(serviceRef(target.namespace, target.canaryService), {
          spec: { selector: selectorPatch(selector, wanted) },
        });
      }
    }
    for (const ingress of ingresses) await this.#kube.create(ingress);
  }

  desiredCanaryReplicas(target: RouteTarget, weight: number): number {
    // The Ingress sets the share; size the canary to carry it at the stable pods' load, and
    // keep one pod at weight 0 for testers.
    return Math.max(1, Math.ceil((target.stableReplicas * weight) / 100));
  }

  async setWeight(target: RouteTarget, weight: number, options: SetWeightOptions = {}): Promise<RouteStatus> {
    const annotations: Record<string, string | null> = weightAnnotations(weight); // validates before any call
    if (options.dropTesterRouting === true) {
      for (const key of NGINX_TESTER_ANNOTATIONS) annotations[key] = null;
    }
    if (weight > 0) await assertCanaryRoutable(this.#kube, target, `weight ${weight} %`);
    // Weight 0 reaches here without a read: rollback is one write per canary Ingress.
    // A missing canary Ingress already routes nothing, so weight 0 is reached without it.
    await Promise.all(
      canaryIngressNames(target).map((name) => this.#annotate(target, name, annotations, weight === 0)),
    );
    return this.observe(target);
  }

  async setTesterRouting(target: RouteTarget, routing: RoutingSpec | undefined): Promise<void> {
    const annotations = testerAnnotations(routing); // validates before any call
    if (routing?.header !== undefined || routing?.cookie !== undefined) {
      await assertCanaryRoutable(this.#kube, target, 'header/cookie routing');
    }
    const removing = routing?.header === undefined && routing?.cookie === undefined;
    await Promise.all(canaryIngressNames(target).map((name) => this.#annotate(target, name, annotations, removing)));
  }

  observe(target: RouteTarget): Promise<RouteStatus> {
    return observeIngressNginx(this.#kube, target);
  }

  async cleanup(target: RouteTarget): Promise<void> {
    // Hands back what still exists; anything already gone (a namespace being deleted, a user
    // who removed the Ingress first) is simply done. Reads and deletes only: in a terminating
    // namespace the API refuses creates.
    // Ingresses first, so no canary Ingress ever points at a Service that is gone.
    const ours = await this.#kube.list<Ingress>(
      'networking.k8s.io/v1',
      'Ingress',
      target.namespace,
      labelSelector({ [MANAGED_BY]: MANAGED_BY_CANARYD }),
    );
    for (const ingress of ours.filter((candidate) => ownedBy(candidate, target))) {
      await this.#kube.delete(ingressRef(target.namespace, ingress.metadata.name));
    }
    const canaryService = await this.#kube.get<Service>(serviceRef(target.namespace, target.canaryService));
    if (canaryService !== null && ownedBy(canaryService, target)) {
      await this.#kube.delete(serviceRef(target.namespace, target.canaryService));
    }
    const service = await this.#kube.get<Service>(serviceRef(target.namespace, target.service));
    const restore = service === null ? undefined : restoreSelectorPatch(service);
    if (restore !== undefined) await patchIfPresent(this.#kube, serviceRef(target.namespace, target.service), restore);
  }

  async #stableHash(target: RouteTarget): Promise<string> {
    const deployment = await getDeployment(this.#kube, target.namespace, target.deployment);
    const replicaSets = await this.#kube.list<ReplicaSet>(
      'apps/v1',
      'ReplicaSet',
      target.namespace,
      labelSelector(deployment.spec.selector.matchLabels ?? {}),
    );
    return stableTemplateHash(deployment, replicaSets);
  }

  async #annotate(
    target: RouteTarget,
    name: string,
    annotations: Record<string, string | null>,
    missingOk: boolean,
  ): Promise<void> {
    try {
      await this.#kube.mergePatch(ingressRef(target.namespace, name), { metadata: { annotations } });
    } catch (error) {
      if (isKubeError(error, 'NotFound')) {
        if (missingOk) return;
        throw new TrafficError(
          'NotPrepared',
          `canary Ingress ${target.namespace}/${name} does not exist; call prepare first`,
          {
            cause: error,
          },
        );
      }
      throw error;
    }
  }
}
