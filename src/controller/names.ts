// Names and keys the controller itself writes (the routers' keys are in traffic/labels.ts).
import { API_VERSION, KIND } from '../policy/schema.ts';
import { MARK_REMOVAL } from '../traffic/policy-mark.ts';

export const OPERATION_ANNOTATION = 'canaryd.dev/operation';
/**
 * Who asked for the operation, in an annotation of its own so that an admission policy (CEL,
 * which cannot parse the operation's JSON) can compare it with the writer's identity.
 */
export const OPERATION_BY_ANNOTATION = 'canaryd.dev/operation-by';
/** The ValidatingAdmissionPolicy (and its binding) of deploy/operation-actor-policy.yaml. */
export const ACTOR_POLICY_NAME = 'canaryd-operation-actor';
/** RBAC verb on canarypolicies that lets a writer record another user as the actor (canaryd's API). */
export const OPERATE_ON_BEHALF_VERB = 'operate-on-behalf';
/** RBAC verb on canarypolicies that `kubectl canary approve` (and POST .../approve) needs. */
export const APPROVE_VERB = 'approve';
/**
 * An approve operation as the admission policy recognises it in canaryd.dev/operation (the same
 * RE2 expression is in deploy/operation-actor-policy.yaml; a test keeps them equal).
 */
export const APPROVE_PATTERN_SOURCE = '"op"\\s*:\\s*"approve"';
export const APPROVE_PATTERN = new RegExp(APPROVE_PATTERN_SOURCE);
export const TEMPLATE_HASH_ANNOTATION = 'canaryd.dev/template-hash';
export const FINALIZER = 'canaryd.dev/cleanup';
export const CANARY_SUFFIX = '-canary';
/**
 * On the user's Deployment while a policy manages it (with canaryd.dev/policy naming the policy):
 * what the ValidatingAdmissionPolicy in deploy/ selects to refuse an unpause by anyone but canaryd.
 */
export const MANAGED_LABEL = 'canaryd.dev/managed';
/**
 * On the user's Deployment, written with the pause that adopts it: the hash of the template
 * canaryd adopts. The pause goes before the adoption's status write, so a canaryd stopped between
 * the two finds its record here (engine/phases/adoption.ts). Removed when the Deployment is handed back.
 */
export const ADOPTED_TEMPLATE_ANNOTATION = 'canaryd.dev/adopted-template';

/** The metadata patch that takes canaryd's mark (and the adoption's record) off a Deployment handed back. */
export const UNMARK = {
  labels: { [MANAGED_LABEL]: null },
  annotations: { ...MARK_REMOVAL, [ADOPTED_TEMPLATE_ANNOTATION]: null },
} as const;

export const policyKeyOf = (namespace: string, name: string): string => `${namespace}/${name}`;
export const policyRef = (namespace: string, name: string) => ({
  apiVersion: API_VERSION,
  kind: KIND,
  namespace,
  name,
});

export function splitKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf('/');
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}
