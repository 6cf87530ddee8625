// Pinning the stable Service to the stable pods for the duration of an ingress-nginx release.
//
// The canary pods are made from the user's new template, so they carry every label the stable
// Service selects on; the Service would send them a share of the *stable* traffic too. Service
// selectors are equality-only, so we cannot say "track != canary", and the stable pods cannot be
// relabelled without restarting them (the Deployment is paused; we never churn its pods). The
// one label only the stable pods carry is the `pod-template-hash` the Deployment controller puts
// on the pods of the stable ReplicaSet (the canary Deployment's template differs by
// canaryd.dev/track, so its hash differs). So, like Argo Rollouts, we add
// `pod-template-hash: <stable hash>` to the selector while a release runs.
//
// The selector as found is recorded in the annotation canaryd.dev/original-selector in the same
// write, so it is restored exactly even by a controller that restarted in between, with the
// policy that pinned it (canaryd.dev/policy), so a policy deleted without its finalizer leaves no
// pin behind (controller/orphan.ts). The pin must be removed before the stable Deployment is
// unpaused for promotion: the roll creates pods with a new hash that a pinned selector would not see.
import { z } from 'zod';
import { canonicalJson } from '../kube/canonical-json.ts';
import type { Deployment, KubeObject, Service } from '../kube/objects.ts';
import { TrafficError } from './errors.ts';
import { ORIGINAL_SELECTOR, POD_TEMPLATE_HASH, RELEASE_SELECTOR } from './labels.ts';
import {
  isMarkedExactly,
  MARK_REMOVAL,
  markAnnotations,
  markIn,
  markReplacement,
  type PolicyMark,
} from './policy-mark.ts';

/** The fields of an apps/v1 ReplicaSet the pin needs. */
export interface ReplicaSet extends KubeObject {
  apiVersion: 'apps/v1';
  kind: 'ReplicaSet';
  spec?: { replicas?: number; [extra: string]: unknown };
  status?: { replicas?: number; readyReplicas?: number; [extra: string]: unknown };
}

const selectorSchema = z.record(z.string(), z.string());

const ownedBy = (replicaSet: ReplicaSet, deployment: Deployment): boolean =>
  (replicaSet.metadata.ownerReferences ?? []).some(
    (owner) =>
      owner.kind === 'Deployment' &&
      owner.name === deployment.metadata.name &&
      (deployment.metadata.uid === undefined || owner.uid === deployment.metadata.uid),
  );

/** A pod template as canonical JSON, without the pod-template-hash label a ReplicaSet adds. */
function templateKey(template: unknown): string {
  const copy = structuredClone(template ?? {}) as { metadata?: { labels?: Record<string, string> } };
  if (copy.metadata?.labels) delete copy.metadata.labels[POD_TEMPLATE_HASH];
  return canonicalJson(copy);
}

/**
 * The pod-template-hash of the ReplicaSet that runs the stable pods. When the Deployment is
 * paused with pods of two ReplicaSets, one of them made from its current template (the new
 * template began to roll just before the pause took: a policy and a new image applied together),
 * the stable pods are the other ReplicaSet's: the new template's pods are left out of the pinned
 * Service, and rollback's restored template lets the Deployment controller remove them. Refuses
 * any other mix (a roll was interrupted): pinning to one would drop the others' pods from the
 * Service.
 */
export const stableTemplateHash = (deployment: Deployment, replicaSets: ReplicaSet[]): string => {
  const name = `Deployment ${deployment.metadata.namespace ?? ''}/${deployment.metadata.name}`;
  let running = replicaSets.filter(
    (rs) => ownedBy(rs, deployment) && Math.max(rs.spec?.replicas ?? 0, rs.status?.replicas ?? 0) > 0,
  );
  if (running.length === 2 && deployment.spec?.paused === true) {
    const current = templateKey(deployment.spec.template);
    const older = running.filter((rs) => templateKey(rs.spec?.template) !== current);
    if (older.length === 1) running = older;
  }
  if (running.length > 1) {
    const names = running.map((rs) => rs.metadata.name).join(', ');
    throw new TrafficError(
      'MidRollout',
      `${name} has pods of several ReplicaSets (${names}); let its rollout finish before a canary release starts`,
    );
  }
  const hash = running[0]?.metadata.labels?.[POD_TEMPLATE_HASH];
  if (hash === undefined) {
    throw new TrafficError(
      'NotFound',
      `${name} has no running ReplicaSet with a ${POD_TEMPLATE_HASH} label; the stable Service cannot be pinned to its pods`,
    );
  }
  return hash;
};

export const isPinned = (service: Service): boolean => service.metadata.annotations?.[ORIGINAL_SELECTOR] !== undefined;

/**
 * The policy that left its record of the selector on the Service: the pin
 * (canaryd.dev/original-selector) or replica-ratio's (canaryd.dev/release-selector). Undefined
 * when there is none, or it was left by a canaryd before 2026-12-05 (no policy recorded).
 */
export const recordedBy = (service: Service): PolicyMark | undefined => {
  const annotations = service.metadata.annotations ?? {};
  const recorded = annotations[ORIGINAL_SELECTOR] !== undefined || annotations[RELEASE_SELECTOR] !== undefined;
  return recorded ? markIn(annotations) : undefined;
};

/** A selector canaryd recorded in annotation `key` (JSON), or undefined when none is recorded. */
export const recordedSelector = (service: Service, key: string): Record<string, string> | undefined => {
  const recorded = service.metadata.annotations?.[key];
  if (recorded === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(recorded);
  } catch (cause) {
    throw new TrafficError(
      'NotManaged',
      `Service ${service.metadata.name}: annotation ${key} is not JSON; restore the selector by hand and remove the annotation`,
      { cause },
    );
  }
  const result = selectorSchema.safeParse(parsed);
  if (!result.success) {
    throw new TrafficError(
      'NotManaged',
      `Service ${service.metadata.name}: annotation ${key} is not a map of labels; restore the selector by hand and remove the annotation`,
    );
  }
  return result.data;
};

/** The selector as the user wrote it, whether or not it is pinned now. */
export const originalSelector = (service: Service): Record<string, string> =>
  recordedSelector(service, ORIGINAL_SELECTOR) ?? { ...(service.spec.selector ?? {}) };

/** Do two selectors select the same labels? */
export const sameSelector = (a: Record<string, string>, b: Record<string, string>): boolean => {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => b[key] === a[key]);
};

/** The merge patch that turns selector `now` into exactly `wanted` (extra keys removed). */
export const selectorPatch = (
  now: Record<string, string>,
  wanted: Record<string, string>,
): Record<string, string | null> => {
  const patch: Record<string, string | null> = {};
  for (const key of Object.keys(now)) if (!(key in wanted)) patch[key] = null;
  return Object.assign(patch, wanted);
};

/**
 * How a pinned Service's selector differs from the recorded one plus the pin, in words, or
 * undefined when it is exactly that (whatever pod-template-hash it pins to).
 */
export const pinnedSelectorDrift = (service: Service): string | undefined => {
  if (!isPinned(service)) return undefined;
  const selector = service.spec.selector ?? {};
  if (selector[POD_TEMPLATE_HASH] === undefined) return 'is no longer pinned to the stable pods';
  const { [POD_TEMPLATE_HASH]: _pin, ...rest } = selector;
  const original = originalSelector(service);
  if (sameSelector(rest, original)) return undefined;
  return `selector was changed to ${JSON.stringify(rest)} (canaryd pins ${JSON.stringify(original)} plus ${POD_TEMPLATE_HASH} during a release)`;
};

/**
 * The merge patch that pins the Service to pods with `hash` for the policy `mark` names, or
 * undefined when it already is. On a pinned Service it also puts back the recorded selector,
 * should someone have edited it, and records the policy on a pin an older canaryd made.
 */
export const pinSelectorPatch = (service: Service, hash: string, mark: PolicyMark): object | undefined => {
  const selector = service.spec.selector ?? {};
  if (Object.keys(selector).length === 0) {
    throw new TrafficError(
      'NotManaged',
      `Service ${service.metadata.name} has no selector (its endpoints are managed by hand); canaryd cannot split its traffic`,
    );
  }
  if (!isPinned(service)) {
    return {
      metadata: { annotations: { [ORIGINAL_SELECTOR]: JSON.stringify(selector), ...markAnnotations(mark) } },
      spec: { selector: { [POD_TEMPLATE_HASH]: hash } },
    };
  }
  const wanted = { ...originalSelector(service), [POD_TEMPLATE_HASH]: hash };
  const owner = isMarkedExactly(markIn(service.metadata.annotations), mark)
    ? {}
    : { metadata: { annotations: markReplacement(mark) } };
  const edited = sameSelector(selector, wanted) ? {} : { spec: { selector: selectorPatch(selector, wanted) } };
  return Object.keys(owner).length === 0 && Object.keys(edited).length === 0 ? undefined : { ...owner, ...edited };
};

/** The merge patch that puts the recorded selector back exactly, or undefined when not pinned. */
export const restoreSelectorPatch = (service: Service): object | undefined => {
  if (!isPinned(service)) return undefined;
  const selector = selectorPatch(service.spec.selector ?? {}, originalSelector(service));
  const owner = markIn(service.metadata.annotations) === undefined ? {} : MARK_REMOVAL;
  return { metadata: { annotations: { [ORIGINAL_SELECTOR]: null, ...owner } }, spec: { selector } };
};
