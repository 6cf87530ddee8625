// Which CanaryPolicy left a record on a user's object (a Deployment's mark, a Service's pin or
// selector record, an HTTPRoute's record): its "namespace/name" in canaryd.dev/policy and, since
// 2026-12-05, its uid in canaryd.dev/policy-uid. The uid tells a policy created again under the
// same name (GitOps re-applying it after it was deleted without its finalizer) from the one that
// left the record: the earlier one's records are the orphan sweep's to hand back, not the new
// policy's to take for its own. A record without a uid (made by a canaryd before the uid was
// recorded) is told apart by name alone, as before. Policies from files are CanaryPolicy objects
// too, with a uid of their own. Pure.
import { OWNER_POLICY, OWNER_POLICY_UID } from './labels.ts';

export interface PolicyMark {
  /** "namespace/name". */
  policy: string;
  /** The policy's metadata.uid; absent when unknown. */
  uid?: string;
}

/** The mark of policy "namespace/name", with its uid when known. */
export const markOf = (policy: string, uid: string | undefined): PolicyMark => (uid ? { policy, uid } : { policy });

/** The annotations that record `mark` on an object. */
export const markAnnotations = (mark: PolicyMark): Record<string, string> => ({
  [OWNER_POLICY]: mark.policy,
  ...(mark.uid === undefined ? {} : { [OWNER_POLICY_UID]: mark.uid }),
});

/** Merge-patch values that take the record of a policy off an object. */
export const MARK_REMOVAL = { [OWNER_POLICY]: null, [OWNER_POLICY_UID]: null } as const;

/** Merge-patch values that record exactly `mark`, over whichever policy's record is there. */
export const markReplacement = (mark: PolicyMark): Record<string, string | null> => ({
  ...MARK_REMOVAL,
  ...markAnnotations(mark),
});

/** The mark recorded in these annotations, undefined when none. */
export const markIn = (annotations: Readonly<Record<string, string>> | undefined): PolicyMark | undefined => {
  const policy = annotations?.[OWNER_POLICY];
  return policy === undefined ? undefined : markOf(policy, annotations?.[OWNER_POLICY_UID]);
};

/**
 * Is `recorded` this policy's own: the same name, and the same uid when both are known. A record
 * without a uid is taken by name (an older canaryd wrote it); a policy whose uid is unknown takes
 * any record of its name.
 */
export const isOwnMark = (recorded: PolicyMark | undefined, self: PolicyMark): boolean =>
  recorded !== undefined &&
  recorded.policy === self.policy &&
  (recorded.uid === undefined || self.uid === undefined || recorded.uid === self.uid);

/** Is the record exactly `mark` (nothing to write to record it again)? */
export const isMarkedExactly = (recorded: PolicyMark | undefined, mark: PolicyMark): boolean =>
  recorded?.policy === mark.policy && recorded.uid === mark.uid;

/** A key naming one policy instance: "namespace/name" with "#uid" when the uid is known. */
export const markIdentity = (mark: PolicyMark): string =>
  mark.uid === undefined ? mark.policy : `${mark.policy}#${mark.uid}`;
