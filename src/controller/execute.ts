// Execute: the engine's actions against the cluster, in order, each idempotent. The first failure
// stops the list; the reconciler observes again and the engine asks for what is still missing.
import type { Action, ReleaseState } from '../engine/index.ts';
import { isKubeError, type KubeApi } from '../kube/api.ts';
import type { EventRecorder } from '../kube/events.ts';
import type { Deployment, KubeObject, ObjectRef, Service } from '../kube/objects.ts';
import type { CanaryPolicy } from '../policy/schema.ts';
import { markAnnotations } from '../traffic/policy-mark.ts';
import { policyMark, type RouteTarget, type TrafficRouter } from '../traffic/router.ts';
import { restoreSelectorPatch } from '../traffic/selector.ts';
import { buildCanaryDeployment } from './canary-deployment.ts';
import { ADOPTED_TEMPLATE_ANNOTATION, MANAGED_LABEL, UNMARK } from './names.ts';
import { templateHash } from './template.ts';

export interface ExecutionContext {
  kube: KubeApi;
  events: EventRecorder;
  router: TrafficRouter;
  target: RouteTarget;
  policy: CanaryPolicy;
  policyObject: KubeObject;
  next: ReleaseState;
  /** Starts a hook call in the background (its answer is read on a later reconcile). */
  callHook(action: Extract<Action, { type: 'callHook' }>): void;
  /** Runs one analysis round and persists it; the reconciler provides it. */
  analyse(action: Extract<Action, { type: 'analyse' }>): Promise<void>;
  log(message: string, fields?: Record<string, unknown>): void;
  /** The share the router reports after a weight was set (notifications tell it). */
  onWeightSet?(achievedWeight: number): void;
}

const deploymentRef = (namespace: string, name: string): ObjectRef => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  namespace,
  name,
});

/** Replaces the Deployment's pod template (a merge patch could not remove fields). Retries conflicts. */
async function writeTemplate(kube: KubeApi, ref: ObjectRef, template: unknown, paused?: boolean): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const deployment = await kube.get<Deployment>(ref);
    if (deployment === null) throw new Error(`Deployment ${ref.namespace}/${ref.name} is gone`);
    deployment.spec.template = structuredClone(template) as Deployment['spec']['template'];
    if (paused !== undefined) deployment.spec.paused = paused;
    try {
      await kube.replace(deployment);
      return;
    } catch (error) {
      if (!isKubeError(error, 'Conflict') || attempt >= 4) throw error;
    }
  }
}

/**
 * Pauses (and marks) the Deployment being adopted, only while it still has the template the
 * adoption recorded: the write carries the resourceVersion of the copy whose template was
 * checked, so a template changed since then is never paused halfway through its own rollout
 * (the next pass sees the change and adoption starts over, engine/phases/adoption.ts).
 */
async function pauseForAdoption(kube: KubeApi, ref: ObjectRef, target: RouteTarget, hash: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const deployment = await kube.get<Deployment>(ref);
    if (deployment === null) throw new Error(`Deployment ${ref.namespace}/${ref.name} is gone`);
    if (templateHash(deployment.spec.template) !== hash) return;
    // Marked so deploy/'s ValidatingAdmissionPolicy can refuse an unpause by anyone else, and
    // with the template it adopts: the pause is written before the adoption is persisted.
    const mark = managedMark(target);
    const metadata = {
      ...mark,
      annotations: { ...mark.annotations, [ADOPTED_TEMPLATE_ANNOTATION]: hash },
      resourceVersion: deployment.metadata.resourceVersion,
    };
    try {
      await kube.mergePatch(ref, { metadata, spec: { paused: true } });
      return;
    } catch (error) {
      if (!isKubeError(error, 'Conflict') || attempt >= 4) throw error;
    }
  }
}

export async function executeAction(action: Action, ctx: ExecutionContext): Promise<void> {
  const { kube, target, router } = ctx;
  const stableRef = deploymentRef(target.namespace, target.deployment);
  const canaryRef = deploymentRef(target.namespace, target.canaryDeployment);
  switch (action.type) {
    case 'adoptDeployment':
      await pauseForAdoption(kube, stableRef, target, action.templateHash);
      return;
    case 'repauseStable':
      await kube.mergePatch(stableRef, { spec: { paused: true } });
      return;
    case 'applyTemplate':
    case 'restoreStableTemplate':
      // The Deployment is paused: a new template rolls no pod until promotion unpauses it.
      await writeTemplate(kube, stableRef, action.template, true);
      return;
    case 'createCanary': {
      // A router that pins the stable Service (ingress-nginx, gateway-api) pins it before any
      // canary pod exists, so the stable route never reaches a canary pod (prepare is idempotent).
      if (router.pinsStableService) await router.prepare(target);
      const stable = await kube.get<Deployment>(stableRef);
      if (stable === null) throw new Error(`Deployment ${target.namespace}/${target.deployment} is gone`);
      const desired = buildCanaryDeployment({
        stable,
        name: target.canaryDeployment,
        policyKey: `${target.namespace}/${target.policy}`,
        templateHash: action.templateHash,
        template: action.template,
        replicas: action.replicas,
        owner: ownerOf(ctx.policyObject),
      });
      const existing = await kube.get<Deployment>(canaryRef);
      if (existing === null) {
        await kube.create(desired);
      } else {
        // A canary of an older template: replace its template in place (selector is immutable).
        existing.metadata.annotations = { ...existing.metadata.annotations, ...desired.metadata.annotations };
        existing.spec.template = desired.spec.template;
        existing.spec.replicas = desired.spec.replicas;
        await kube.replace(existing);
      }
      return;
    }
    case 'scaleCanary':
      await kube.mergePatch(canaryRef, { spec: { replicas: action.replicas } });
      return;
    case 'prepareRoute':
      await router.prepare(target);
      return;
    case 'setTesterRouting':
      await router.setTesterRouting(target, action.enabled ? ctx.policy.spec.routing : undefined);
      return;
    case 'setWeight': {
      const rollingBack = ctx.next.phase === 'rollingBack';
      const started = performance.now();
      const status = await router.setWeight(target, action.weight, { dropTesterRouting: rollingBack });
      // How long the route's write took: under load, the part of a step's latency that is the API server's.
      const tookMs = Math.round(performance.now() - started);
      ctx.log('weight set', { weight: action.weight, achieved: status.achievedWeight, detail: status.detail, tookMs });
      ctx.onWeightSet?.(status.achievedWeight);
      return;
    }
    case 'analyse':
      await ctx.analyse(action);
      return;
    case 'promoteStable': {
      // Unpin the stable Service first: the roll creates pods with a new pod-template-hash that a
      // pinned selector would not see, and the route must never lose its ready endpoints.
      const service = await kube.get<Service>({
        apiVersion: 'v1',
        kind: 'Service',
        namespace: target.namespace,
        name: target.service,
      });
      const restore = service === null ? undefined : restoreSelectorPatch(service);
      if (restore !== undefined) {
        await kube.mergePatch(
          { apiVersion: 'v1', kind: 'Service', namespace: target.namespace, name: target.service },
          restore,
        );
      }
      await kube.mergePatch(stableRef, { spec: { paused: false } });
      return;
    }
    case 'deleteCanary': {
      // Dependents first: the Deployment stays until its pods are gone, and the route is cleaned
      // up only then. One delete: the engine asks again while it is going (see drain.ts).
      const existing = await kube.get<Deployment>(canaryRef);
      if (existing === null || existing.metadata.deletionTimestamp) return;
      await kube.delete(canaryRef, { dependentsFirst: true });
      return;
    }
    case 'cleanupRoute':
      await router.cleanup(target);
      return;
    case 'releaseDeployment': {
      await kube.mergePatch(stableRef, { metadata: UNMARK, spec: { paused: false } }).catch((error: unknown) => {
        if (!isKubeError(error, 'NotFound')) throw error; // the Deployment is gone too: nothing to release
      });
      return;
    }
    case 'callHook':
      ctx.callHook(action);
      return;
    case 'recordEvent': {
      const about = [
        {
          apiVersion: ctx.policyObject.apiVersion,
          kind: ctx.policyObject.kind,
          namespace: target.namespace,
          name: target.policy,
          uid: ctx.policyObject.metadata.uid,
        },
        { ...stableRef },
      ];
      // Events are best effort: a lost Event must not stop a rollback.
      await Promise.all(
        about.map((ref) =>
          ctx.events.record(ref, action.eventType, action.reason, action.message).catch((error: Error) => {
            ctx.log('could not record event', { reason: action.reason, error: error.message });
          }),
        ),
      );
      return;
    }
    case 'ackOperation':
      // The id is in the persisted state already (the engine recorded it); nothing else to write.
      return;
  }
}

/** The label and annotation that say which policy manages the user's Deployment. */
export const managedMark = (target: RouteTarget) => ({
  labels: { [MANAGED_LABEL]: 'true' },
  annotations: markAnnotations(policyMark(target)),
});

const ownerOf = (object: KubeObject) =>
  object.metadata.uid
    ? { apiVersion: object.apiVersion, kind: object.kind, name: object.metadata.name, uid: object.metadata.uid }
    : undefined;
