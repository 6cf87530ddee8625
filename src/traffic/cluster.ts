// Small typed reads shared by the routers: the refs of the objects they touch and the
// "must exist" gets with errors a person can act on.
import { isKubeError, type KubeApi } from '../kube/api.ts';
import type { Deployment, EndpointSlice, Ingress, KubeObject, ObjectRef, Service } from '../kube/objects.ts';
import { TrafficError } from './errors.ts';
import { SERVICE_NAME } from './labels.ts';

export const serviceRef = (namespace: string, name: string): ObjectRef => ({
  apiVersion: 'v1',
  kind: 'Service',
  namespace,
  name,
});
export const deploymentRef = (namespace: string, name: string): ObjectRef => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  namespace,
  name,
});
export const ingressRef = (namespace: string, name: string): ObjectRef => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  namespace,
  name,
});

export const mustGet = async <T extends KubeObject>(kube: KubeApi, ref: ObjectRef, why: string): Promise<T> => {
  const object = await kube.get<T>(ref);
  if (object === null)
    throw new TrafficError('NotFound', `${ref.kind} ${ref.namespace}/${ref.name} does not exist; ${why}`);
  return object;
};

export const getService = (kube: KubeApi, namespace: string, name: string) =>
  mustGet<Service>(kube, serviceRef(namespace, name), 'check target.service of the policy');
export const getDeployment = (kube: KubeApi, namespace: string, name: string) =>
  mustGet<Deployment>(kube, deploymentRef(namespace, name), 'check target.deployment of the policy');
export const getIngress = (kube: KubeApi, namespace: string, name: string) =>
  kube.get<Ingress>(ingressRef(namespace, name));

export const endpointSlicesOf = (kube: KubeApi, namespace: string, service: string) =>
  kube.list<EndpointSlice>('discovery.k8s.io/v1', 'EndpointSlice', namespace, `${SERVICE_NAME}=${service}`);

export const labelSelector = (labels: Record<string, string>): string =>
  Object.entries(labels)
    .map(([key, value]) => `${key}=${value}`)
    .join(',');

/**
 * A merge patch on an object that may be gone by now (deleted between the read and the write,
 * e.g. while its namespace is deleted): nothing is left to restore then. Returns whether it wrote.
 */
export const patchIfPresent = async (kube: KubeApi, ref: ObjectRef, patch: object): Promise<boolean> => {
  try {
    await kube.mergePatch(ref, patch);
    return true;
  } catch (error) {
    if (isKubeError(error, 'NotFound')) return false;
    throw error;
  }
};
