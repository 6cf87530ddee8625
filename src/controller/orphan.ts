// What a CanaryPolicy gone without handing back leaves on the user's objects: the policy's
// finalizer was removed by hand (a deletion that hung while canaryd was down, `kubectl patch …
// finalizers: null`), or it was force-deleted. Left alone,
// - its Deployment stays paused and marked (canaryd.dev/managed, canaryd.dev/policy), and
//   deploy/'s admission policy refuses anyone else's unpause: the next `kubectl set image` would
//   silently never roll;
// - mid-release, its stable Service stays pinned to the stable pods' pod-template-hash: the next
//   roll replaces those pods and the Service is left with no endpoints at all;
// - mid-release, its HTTPRoute keeps a weighted backendRef to the canary Service, which the
//   garbage collector removes with the policy: that share of requests fails (Gateway API: 500);
// - mid-release with replica-ratio, its record of the Service's selector stays, and a policy
//   created later would put that old selector back as if it were an edit to undo.
// Each record names the policy and its uid (traffic/policy-mark.ts): a policy of the same name
// created again is not the one that left them, and they are handed back all the same.
// What canaryd does with each, decided here (pure); orphan-sweep.ts finds them and writes.
import type { Deployment, KubeObject, Service } from '../kube/objects.ts';
import type { HTTPRoute } from '../traffic/httproute.ts';
import { readRecordOrUndefined } from '../traffic/httproute-apply.ts';
import { markOfRecord } from '../traffic/httproute-record.ts';
import { ORIGINAL_REPLICAS, RELEASE_SELECTOR } from '../traffic/labels.ts';
import { MARK_REMOVAL, markIn, type PolicyMark } from '../traffic/policy-mark.ts';
import { recordedBaseline } from '../traffic/replica-ratio-records.ts';
import { isPinned, originalSelector, recordedBy, restoreSelectorPatch } from '../traffic/selector.ts';
import { ADOPTED_TEMPLATE_ANNOTATION, MANAGED_LABEL, UNMARK } from './names.ts';
import { templateHash } from './template.ts';

export type OrphanDecision =
  /** The Deployment controller has not looked at the last change yet: decide on its next status. */
  | { kind: 'wait' }
  | { kind: 'handBack'; patch: object; event: { type: 'Normal' | 'Warning'; reason: string; message: string } };

/** The policy whose mark the Deployment carries, if canaryd marked it. */
export const markedBy = (deployment: Deployment): PolicyMark | undefined =>
  deployment.metadata.labels?.[MANAGED_LABEL] === undefined ? undefined : markIn(deployment.metadata.annotations);

/**
 * The policy that left this object changed: a Deployment it marked, a Service it pinned, an
 * HTTPRoute carrying its record. Undefined for anything else.
 */
export const leftBy = (object: Readonly<KubeObject>): PolicyMark | undefined => {
  switch (object.kind) {
    case 'Deployment':
      return markedBy(object as Deployment);
    case 'Service':
      return recordedBy(object as Service);
    case 'HTTPRoute': {
      const record = readRecordOrUndefined(object as HTTPRoute);
      return record === undefined ? undefined : markOfRecord(record);
    }
    default:
      return undefined;
  }
};

/**
 * Does this CanaryPolicy own what `mark` names: a mark without a uid (an older canaryd's) names
 * any policy of its name; one with a uid, the policy with that uid, or one of the name that has
 * adopted the Deployment (a stable revision in its status): created again with its status under
 * a new uid (a backup restored), it takes the marks for its own and records its uid on them.
 */
export const ownsMarked = (policy: Readonly<KubeObject>, mark: PolicyMark): boolean =>
  mark.uid === undefined ||
  policy.metadata.uid === mark.uid ||
  (policy as { status?: { release?: { stable?: unknown } } }).status?.release?.stable !== undefined;

const goneWithout = ({ policy, uid }: PolicyMark, what: string) =>
  `CanaryPolicy ${policy}${uid === undefined ? '' : ` (uid ${uid})`} is gone without handing this ${what} back ` +
  '(its finalizer was removed)';

/**
 * The stable Service of a vanished policy: a pin removed (its selector as recorded), and the
 * records canaryd kept on it (the pin's, replica-ratio's, the policy's name) removed.
 */
export function orphanServiceDecision(service: Service, policy: PolicyMark): OrphanDecision {
  const pinned = isPinned(service);
  const restore = (restoreSelectorPatch(service) ?? { metadata: { annotations: {} } }) as {
    metadata: { annotations: Record<string, string | null> };
    spec?: object;
  };
  const annotations: Record<string, string | null> = { ...restore.metadata.annotations, ...MARK_REMOVAL };
  if (service.metadata.annotations?.[RELEASE_SELECTOR] !== undefined) annotations[RELEASE_SELECTOR] = null;
  const done = pinned
    ? `canaryd put its selector back to ${JSON.stringify(originalSelector(service))}`
    : `canaryd removed its record of the selector (${RELEASE_SELECTOR})`;
  const message = `${goneWithout(policy, 'Service')}: ${done}`;
  const patch = { metadata: { annotations }, spec: restore.spec ?? {} };
  return handBack(patch, 'Normal', 'Released', message, service.metadata.resourceVersion);
}

/** The Event on an HTTPRoute of a vanished policy once its record was applied back (httproute-apply.ts). */
export const routeReleased = (policy: PolicyMark) => ({
  type: 'Normal' as const,
  reason: 'Released',
  message: `${goneWithout(policy, 'HTTPRoute')}: canaryd removed its canary backendRefs and put back the weights it recorded`,
});

/**
 * Hand the Deployment of a vanished policy back. Its mark goes in every case (so its owner can
 * act on it again), and the replicas a replica-ratio surge changed return to those recorded. It is
 * unpaused only if that rolls nothing new: its template is the one it runs. A paused Deployment
 * holding a template it never rolled was mid-release; unpausing it would roll that template to
 * every pod unverified, so it stays paused and the Event says how to go on.
 */
export function orphanDecision(deployment: Deployment, policy: PolicyMark): OrphanDecision {
  const { spec, metadata } = deployment;
  const status = deployment.status ?? {};
  // The surge's record goes too: without the policy, no router undoes it.
  const unmark = { ...UNMARK, annotations: { ...UNMARK.annotations, [ORIGINAL_REPLICAS]: null } };
  const baseline = recordedBaseline(deployment);
  const replicas = baseline === undefined || baseline === spec.replicas ? {} : { replicas: baseline };
  const name = `deployment/${metadata.name}`;
  const gone = goneWithout(policy, 'Deployment');
  const restored = 'replicas' in replicas ? `, its replicas set back to ${baseline}` : '';
  if (spec.paused !== true) {
    const message = `${gone}: canaryd removed its mark${restored}`;
    return handBack({ metadata: unmark, spec: replicas }, 'Normal', 'Released', message, metadata.resourceVersion);
  }
  const adoptedAsIs = metadata.annotations?.[ADOPTED_TEMPLATE_ANNOTATION] === templateHash(spec.template);
  const statusSeen = (status.observedGeneration ?? 0) >= (metadata.generation ?? 0);
  if (!adoptedAsIs && !statusSeen) return { kind: 'wait' };
  // Paused with a new template, the Deployment controller makes no ReplicaSet for it: none of
  // its pods run the template (updatedReplicas 0).
  const rolled = adoptedAsIs || (spec.replicas ?? 1) === 0 || (status.updatedReplicas ?? 0) > 0;
  if (rolled) {
    const message = `${gone}: canaryd unpaused it and removed its mark${restored}`;
    const patch = { metadata: unmark, spec: { ...replicas, paused: false } };
    return handBack(patch, 'Normal', 'Released', message, metadata.resourceVersion);
  }
  const message =
    `${gone} while a release was in flight: canaryd removed its mark${restored} and left it paused, so its new ` +
    `template does not roll to every pod unverified. Roll it with \`kubectl rollout resume ${name}\`, or go back ` +
    'to the revision its pods run: set the template back (re-apply your previous manifest, or `kubectl set image` ' +
    'to the image its pods run), then resume it (`kubectl rollout undo` refuses a paused Deployment)';
  return handBack(
    { metadata: unmark, spec: replicas },
    'Warning',
    'ReleaseAbandoned',
    message,
    metadata.resourceVersion,
  );
}

function handBack(
  patch: { metadata: object; spec: object },
  type: 'Normal' | 'Warning',
  reason: string,
  message: string,
  resourceVersion: string | undefined,
): OrphanDecision {
  // Against the version decided on: a policy re-created meanwhile may be adopting it again.
  const metadata = resourceVersion === undefined ? patch.metadata : { ...patch.metadata, resourceVersion };
  const spec = Object.keys(patch.spec).length === 0 ? {} : { spec: patch.spec };
  return { kind: 'handBack', patch: { metadata, ...spec }, event: { type, reason, message } };
}
