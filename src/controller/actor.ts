// Who asked for a manual operation, as far as canaryd can vouch for it (invariant 7). The
// annotation canaryd.dev/operation-by is only a claim: anyone allowed to patch the policy could
// write any name. The ValidatingAdmissionPolicy of deploy/operation-actor-policy.yaml makes the
// API server refuse a claim that is not the writer's own authenticated username (unless RBAC lets
// the writer act on behalf of others, as canaryd's HTTP API does after TokenReview and
// SubjectAccessReview). canaryd records the name as fact only while that policy and its binding
// are in force; otherwise it records "unverified: <claimed>".
import type { KubeApi } from '../kube/api.ts';
import type { KubeObject } from '../kube/objects.ts';
import { ACTOR_POLICY_NAME, APPROVE_PATTERN } from './names.ts';

export const UNVERIFIED_PREFIX = 'unverified: ';

/** The actor to record: the claim when admission verified it, else marked as unverified. Pure. */
export function recordedActor(claimed: string | undefined, verified: boolean): string {
  const name = claimed === undefined || claimed === '' ? '(nobody named)' : claimed;
  return verified && claimed !== undefined && claimed !== '' ? name : `${UNVERIFIED_PREFIX}${name}`;
}

export interface AdmissionVerdict {
  enforced: boolean;
  /** Why not, for the log. */
  reason: string;
}

interface PolicyObject extends KubeObject {
  spec?: { failurePolicy?: string };
}
interface BindingObject extends KubeObject {
  spec?: { policyName?: string; validationActions?: string[]; paramRef?: unknown };
}

/** Is the actor admission policy installed and enforcing (failurePolicy Fail, binding with Deny)? Pure. */
export function judgeAdmission(policy: PolicyObject | null, binding: BindingObject | null): AdmissionVerdict {
  const name = ACTOR_POLICY_NAME;
  if (policy === null) return { enforced: false, reason: `ValidatingAdmissionPolicy ${name} is not installed` };
  if ((policy.spec?.failurePolicy ?? 'Fail') !== 'Fail') {
    return { enforced: false, reason: `ValidatingAdmissionPolicy ${name} does not have failurePolicy Fail` };
  }
  if (binding === null) return { enforced: false, reason: `ValidatingAdmissionPolicyBinding ${name} is not installed` };
  if (binding.spec?.policyName !== name || !(binding.spec.validationActions ?? []).includes('Deny')) {
    return { enforced: false, reason: `ValidatingAdmissionPolicyBinding ${name} does not bind ${name} with Deny` };
  }
  return { enforced: true, reason: `ValidatingAdmissionPolicy ${name} enforces operation actors` };
}

/**
 * Reads the policy and its binding, at most once per `ttlMs` (operations are rare; a policy
 * removed is noticed within that time). An error reading them (RBAC, API down) counts as not
 * enforced: canaryd never vouches for a name it could not check.
 */
export function admissionChecker(
  kube: KubeApi,
  options: { ttlMs?: number; now?: () => number; onError?: (error: Error) => void } = {},
): () => Promise<AdmissionVerdict> {
  const ttl = options.ttlMs ?? 10_000;
  const now = options.now ?? Date.now;
  let cached: { verdict: AdmissionVerdict; until: number } | undefined;
  return async () => {
    if (cached !== undefined && cached.until > now()) return cached.verdict;
    const ref = (kind: string) => ({ apiVersion: 'admissionregistration.k8s.io/v1', kind, name: ACTOR_POLICY_NAME });
    let verdict: AdmissionVerdict;
    try {
      const [policy, binding] = await Promise.all([
        kube.get<PolicyObject>(ref('ValidatingAdmissionPolicy')),
        kube.get<BindingObject>(ref('ValidatingAdmissionPolicyBinding')),
      ]);
      verdict = judgeAdmission(policy, binding);
    } catch (error) {
      options.onError?.(error as Error);
      verdict = { enforced: false, reason: `could not read the admission policy: ${(error as Error).message}` };
    }
    cached = { verdict, until: now() + ttl };
    return verdict;
  };
}

/**
 * The admission policy checks the approve right when the operation annotation's text matches
 * APPROVE_PATTERN; an approval spelled otherwise (JSON escapes, say) passed no such check and is
 * not taken as verified. Pure.
 */
export function approvalWrittenPlainly(operation: { op: string }, raw: string | undefined): boolean {
  return operation.op !== 'approve' || (raw !== undefined && APPROVE_PATTERN.test(raw));
}
