// Which policies a watch event concerns. The index holds this replica's CanaryPolicies (its shard:
// the policy informer selects them, and policy files are applied as CanaryPolicies too) by
// namespace, with the names of what each one targets, so an event costs a look at its own
// namespace only, and an object owned by another shard's policy (canaryd.dev/policy) wakes
// nothing here. An Ingress wakes the policies whose Service it sends to, or sent to before this
// event (a policy's router finds its Ingresses by their backends), and those naming it: not every
// policy of its namespace. Pure: no I/O.
import type { Ingress, KubeObject } from '../kube/objects.ts';
import { OWNER_POLICY, SERVICE_NAME } from '../traffic/labels.ts';
import { CANARY_SUFFIX, policyKeyOf, splitKey } from './names.ts';

export interface PolicyTargets {
  deployment: string;
  service: string;
  /** Named in the policy; empty: the router finds the Ingresses that send to the Service. */
  ingresses: string[];
}

export class PolicyIndex {
  /** namespace → policy name → targets */
  readonly #byNamespace = new Map<string, Map<string, PolicyTargets>>();
  /** "namespace/name" of an Ingress → the Services (canary suffix removed) it sent to at its last event. */
  readonly #ingressServices = new Map<string, Set<string>>();

  /** Keep the index in step with a CanaryPolicy's watch event. */
  onPolicy(event: 'add' | 'update' | 'delete', policy: KubeObject): void {
    const namespace = policy.metadata.namespace ?? '';
    const { name } = policy.metadata;
    if (event === 'delete') {
      const policies = this.#byNamespace.get(namespace);
      policies?.delete(name);
      if (policies?.size === 0) this.#byNamespace.delete(namespace);
      return;
    }
    const target = (policy as { spec?: { target?: Partial<PolicyTargets> } }).spec?.target;
    const policies = this.#byNamespace.get(namespace) ?? new Map<string, PolicyTargets>();
    this.#byNamespace.set(namespace, policies);
    policies.set(name, {
      deployment: target?.deployment ?? '',
      service: target?.service ?? '',
      ingresses: target?.ingresses ?? [],
    });
  }

  has(key: string): boolean {
    const { namespace, name } = splitKey(key);
    return this.#byNamespace.get(namespace)?.has(name) ?? false;
  }

  /** The keys of the policies (of this replica) a watch event of an object concerns. */
  concerned(event: 'add' | 'update' | 'delete', object: KubeObject): string[] {
    const namespace = object.metadata.namespace ?? '';
    if (object.kind === 'CanaryPolicy') return [policyKeyOf(namespace, object.metadata.name)];
    const keys = new Set<string>();
    const owner = object.metadata.annotations?.[OWNER_POLICY];
    if (owner !== undefined && this.has(owner)) keys.add(owner);
    const services = object.kind === 'Ingress' ? this.#ingressEvent(event, object as Ingress) : undefined;
    const policies = this.#byNamespace.get(namespace);
    if (policies === undefined) return [...keys];
    const base = baseName(object);
    for (const [name, targets] of policies) {
      const hit =
        services === undefined
          ? targetsObject(object.kind, base, targets)
          : services.has(targets.service) || targets.ingresses.includes(base);
      if (hit) keys.add(policyKeyOf(namespace, name));
    }
    return [...keys];
  }

  /** Records the Services an Ingress sends to now; answers those it sends or sent to. */
  #ingressEvent(event: 'add' | 'update' | 'delete', ingress: Ingress): Set<string> {
    const key = policyKeyOf(ingress.metadata.namespace ?? '', ingress.metadata.name);
    const before = this.#ingressServices.get(key) ?? new Set<string>();
    if (event === 'delete') {
      this.#ingressServices.delete(key);
      return before;
    }
    const now = servicesOf(ingress);
    this.#ingressServices.set(key, now);
    return new Set([...before, ...now]);
  }
}

/** The Services an Ingress sends to (rules and default backend), canary suffix removed. */
function servicesOf(ingress: Ingress): Set<string> {
  const backends = [
    ingress.spec?.defaultBackend,
    ...(ingress.spec?.rules ?? []).flatMap((rule) => (rule.http?.paths ?? []).map((path) => path.backend)),
  ];
  const names = backends.flatMap((backend) =>
    backend?.service?.name ? [withoutCanarySuffix(backend.service.name)] : [],
  );
  return new Set(names);
}

const withoutCanarySuffix = (name: string): string =>
  name.endsWith(CANARY_SUFFIX) ? name.slice(0, -CANARY_SUFFIX.length) : name;

/** The name of the user's object an event is about (a canary's name without its suffix). */
function baseName(object: KubeObject): string {
  const name =
    object.kind === 'EndpointSlice'
      ? (object.metadata.labels?.[SERVICE_NAME] ?? '')
      : object.kind === 'ReplicaSet'
        ? (object.metadata.ownerReferences?.find((o) => o.kind === 'Deployment')?.name ?? '')
        : object.metadata.name;
  return withoutCanarySuffix(name);
}

function targetsObject(kind: string, base: string, targets: PolicyTargets): boolean {
  switch (kind) {
    case 'Deployment':
    case 'ReplicaSet':
      return targets.deployment === base;
    case 'Service':
    case 'EndpointSlice':
      return targets.service === base;
    default:
      return false;
  }
}
