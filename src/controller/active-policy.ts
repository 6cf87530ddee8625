// The policy in force: a bad spec is rejected with its errors (Valid=False, an Event once per
// generation) and the last valid one stays in force (invariant 4).
import { formatPolicyError } from '../policy/errors.ts';
import { API_VERSION, type CanaryPolicy, canaryPolicy, KIND } from '../policy/schema.ts';
import { validatePolicyObject } from '../policy/validate.ts';
import type { PolicyObject, ReconcilerDeps } from './deps.ts';
import { type PolicyStatus, setCondition } from './status.ts';

/** The policy in force: the object's spec when valid, else the last valid one (status.activeSpec). */
export function activePolicy(
  object: PolicyObject,
  status: PolicyStatus,
  now: Date,
  deps: ReconcilerDeps,
): CanaryPolicy | undefined {
  const source = `CanaryPolicy ${object.metadata.namespace}/${object.metadata.name}`;
  const validation = validatePolicyObject(object, source);
  const generation = object.metadata.generation;
  if (validation.policy) {
    status.activeSpec = validation.policy.spec;
    status.activeGeneration = generation;
    status.observedGeneration = generation;
    status.conditions = setCondition(
      status.conditions,
      { type: 'Valid', status: 'True', reason: 'Valid', message: 'policy is valid' },
      now,
    );
    return validation.policy;
  }
  const message = validation.errors.map((e) => formatPolicyError(e)).join('\n');
  if (status.observedGeneration !== generation) {
    deps.log.warn('policy rejected', { policy: source, errors: message });
    void deps.events
      .record(
        {
          apiVersion: API_VERSION,
          kind: KIND,
          namespace: object.metadata.namespace,
          name: object.metadata.name,
          uid: object.metadata.uid,
        },
        'Warning',
        'InvalidPolicy',
        `${message}${status.activeSpec ? `\nthe last valid version (generation ${status.activeGeneration}) stays in force` : ''}`,
      )
      .catch(() => {
        // Reported in the status condition and the log as well.
      });
  }
  status.observedGeneration = generation;
  status.conditions = setCondition(
    status.conditions,
    {
      type: 'Valid',
      status: 'False',
      reason: 'InvalidPolicy',
      message: status.activeSpec
        ? `${message}\nthe last valid version (generation ${status.activeGeneration}) stays in force`
        : message,
    },
    now,
  );
  if (status.activeSpec === undefined) {
    // Nothing is in force: say so where `kubectl get canarypolicies` looks, not only in a condition.
    status.phase = 'invalid';
    status.message = `invalid policy: ${message}`;
    return undefined;
  }
  const restored = canaryPolicy.safeParse({
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name: object.metadata.name, namespace: object.metadata.namespace },
    spec: status.activeSpec,
  });
  return restored.success ? restored.data : undefined;
}
