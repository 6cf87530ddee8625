// What the replica-ratio router records on the user's objects and reads back: the Service's
// selector (canaryd.dev/release-selector, with the policy that recorded it in canaryd.dev/policy,
// so a policy deleted without its finalizer leaves no record behind), the weight it last wrote (a label of the canary
// Deployment) and, while a surge is in force, the stable Deployment's replicas before it
// (canaryd.dev/original-replicas); with the split for a weight from that baseline
// (replica-solver.ts, its errors as TrafficError). Pure: replica-ratio.ts and its
// replica-ratio-*.ts siblings do the reads and writes.
import type { Deployment, Service } from '../kube/objects.ts';
import { TrafficError } from './errors.ts';
import { INTENDED_WEIGHT, ORIGINAL_REPLICAS, OWNER_POLICY, RELEASE_SELECTOR } from './labels.ts';
import { isMarkedExactly, markIn, markReplacement, type PolicyMark } from './policy-mark.ts';
import { type ReplicaSplit, solveReplicaSplit } from './replica-solver.ts';
import type { RouteTarget } from './router.ts';
import { originalSelector, recordedSelector, restoreSelectorPatch, sameSelector, selectorPatch } from './selector.ts';

/**
 * The patch prepare writes on the stable Service for the policy `mark` names, or undefined
 * when it is as it should be: a pin left by an interrupted ingress-nginx release removed (it would
 * keep the canary pods out), the selector recorded once with the policy, and put back should
 * someone have edited it since.
 */
export const releaseSelectorPatch = (service: Service, mark: PolicyMark): object | undefined => {
  const restore = restoreSelectorPatch(service) as
    | { metadata: { annotations: Record<string, string | null> }; spec: { selector: Record<string, string | null> } }
    | undefined;
  const found = originalSelector(service);
  const recorded = recordedSelector(service, RELEASE_SELECTOR);
  const wanted = recorded ?? found;
  const annotations: Record<string, string | null> = { ...restore?.metadata.annotations };
  if (recorded === undefined) annotations[RELEASE_SELECTOR] = JSON.stringify(found);
  if (!isMarkedExactly(markIn(service.metadata.annotations), mark) || annotations[OWNER_POLICY] === null) {
    Object.assign(annotations, markReplacement(mark));
  }
  const selector = service.spec.selector ?? {};
  const edited = !sameSelector(selector, wanted);
  if (Object.keys(annotations).length === 0 && !edited) return undefined;
  return {
    metadata: { annotations },
    ...(edited ? { spec: { selector: selectorPatch(selector, wanted) } } : {}),
  };
};

/** The split for `weight`; `baseline` overrides target.stableReplicas (a recorded surge wins). */
export const splitFor = (target: RouteTarget, weight: number, baseline = target.stableReplicas): ReplicaSplit => {
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
export const weightRecord = (weight: number) => ({
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
