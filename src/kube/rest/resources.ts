// apiVersion + kind → the URL of a collection or an object. The kinds canaryd uses are known;
// any other is looked up once in the API server's discovery document of its group version (what
// client-node's generic object API does for every kind).
import { KubeError } from '../api.ts';
import type { ObjectRef } from '../objects.ts';
import type { RestTransport } from './transport.ts';

export interface Resource {
  plural: string;
  namespaced: boolean;
}

const KNOWN: Record<string, Resource> = {
  'v1/Service': { plural: 'services', namespaced: true },
  'v1/Pod': { plural: 'pods', namespaced: true },
  'v1/Secret': { plural: 'secrets', namespaced: true },
  'v1/ConfigMap': { plural: 'configmaps', namespaced: true },
  'v1/Event': { plural: 'events', namespaced: true },
  'v1/Namespace': { plural: 'namespaces', namespaced: false },
  'apps/v1/Deployment': { plural: 'deployments', namespaced: true },
  'apps/v1/ReplicaSet': { plural: 'replicasets', namespaced: true },
  'networking.k8s.io/v1/Ingress': { plural: 'ingresses', namespaced: true },
  'networking.k8s.io/v1/IngressClass': { plural: 'ingressclasses', namespaced: false },
  'discovery.k8s.io/v1/EndpointSlice': { plural: 'endpointslices', namespaced: true },
  'coordination.k8s.io/v1/Lease': { plural: 'leases', namespaced: true },
  'gateway.networking.k8s.io/v1/HTTPRoute': { plural: 'httproutes', namespaced: true },
  'canaryd.dev/v1alpha1/CanaryPolicy': { plural: 'canarypolicies', namespaced: true },
  'authentication.k8s.io/v1/TokenReview': { plural: 'tokenreviews', namespaced: false },
  'authentication.k8s.io/v1/SelfSubjectReview': { plural: 'selfsubjectreviews', namespaced: false },
  'authorization.k8s.io/v1/SubjectAccessReview': { plural: 'subjectaccessreviews', namespaced: false },
  'authorization.k8s.io/v1/SelfSubjectAccessReview': { plural: 'selfsubjectaccessreviews', namespaced: false },
  'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy': {
    plural: 'validatingadmissionpolicies',
    namespaced: false,
  },
  'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding': {
    plural: 'validatingadmissionpolicybindings',
    namespaced: false,
  },
  'apiextensions.k8s.io/v1/CustomResourceDefinition': { plural: 'customresourcedefinitions', namespaced: false },
};

/** /api/v1 or /apis/<group>/<version> */
export const groupVersionPath = (apiVersion: string) =>
  apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;

export class Resources {
  readonly #transport: RestTransport;
  readonly #discovered = new Map<string, Promise<Map<string, Resource>>>();

  constructor(transport: RestTransport) {
    this.#transport = transport;
  }

  async resolve(apiVersion: string, kind: string): Promise<Resource> {
    const known = KNOWN[`${apiVersion}/${kind}`];
    if (known) return known;
    let lookup = this.#discovered.get(apiVersion);
    if (!lookup) {
      lookup = this.#discover(apiVersion);
      this.#discovered.set(apiVersion, lookup);
      lookup.catch(() => this.#discovered.delete(apiVersion)); // asked again next time
    }
    const found = (await lookup).get(kind);
    if (!found) throw new KubeError('NotFound', `the API server serves no kind ${kind} in ${apiVersion}`);
    return found;
  }

  async #discover(apiVersion: string): Promise<Map<string, Resource>> {
    const list = await this.#transport.request<{
      resources?: Array<{ name: string; kind: string; namespaced: boolean }>;
    }>('GET', groupVersionPath(apiVersion));
    const out = new Map<string, Resource>();
    for (const r of list.resources ?? []) {
      if (!r.name.includes('/')) out.set(r.kind, { plural: r.name, namespaced: r.namespaced });
    }
    return out;
  }

  /** The collection URL path (in a namespace when namespaced and one is given). */
  async collectionPath(apiVersion: string, kind: string, namespace?: string): Promise<string> {
    const { plural, namespaced } = await this.resolve(apiVersion, kind);
    const scope = namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
    return `${groupVersionPath(apiVersion)}${scope}/${plural}`;
  }

  async objectPath(ref: ObjectRef, subresource?: string): Promise<string> {
    const base = await this.collectionPath(ref.apiVersion, ref.kind, ref.namespace);
    return `${base}/${encodeURIComponent(ref.name)}${subresource ? `/${subresource}` : ''}`;
  }
}
