// The plain shapes of the Kubernetes objects canaryd reads and writes. Our own minimal types
// (not @kubernetes/client-node's classes) so everything outside kube/ stays independent of the
// client library; fields we do not name are preserved as they came from the API.

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: Array<{ apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }>;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  [extra: string]: unknown;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [extra: string]: unknown;
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

export interface PodTemplate {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string>; [extra: string]: unknown };
  spec: {
    containers: Array<{
      name: string;
      image?: string;
      env?: Array<{ name: string; value?: string }>;
      [extra: string]: unknown;
    }>;
    [extra: string]: unknown;
  };
}

export interface Deployment extends KubeObject {
  apiVersion: 'apps/v1';
  kind: 'Deployment';
  spec: {
    replicas?: number;
    paused?: boolean;
    selector: LabelSelector;
    template: PodTemplate;
    strategy?: { type?: string; rollingUpdate?: { maxSurge?: number | string; maxUnavailable?: number | string } };
    [extra: string]: unknown;
  };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    unavailableReplicas?: number;
    conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
    [extra: string]: unknown;
  };
}

export interface ServicePort {
  name?: string;
  port: number;
  targetPort?: number | string;
  protocol?: string;
  [extra: string]: unknown;
}

export interface Service extends KubeObject {
  apiVersion: 'v1';
  kind: 'Service';
  spec: {
    selector?: Record<string, string>;
    ports?: ServicePort[];
    type?: string;
    [extra: string]: unknown;
  };
}

export interface IngressBackend {
  service?: { name: string; port?: { number?: number; name?: string } };
  resource?: unknown;
}

export interface IngressPath {
  path?: string;
  pathType: string;
  backend: IngressBackend;
}

export interface IngressRule {
  host?: string;
  http?: { paths: IngressPath[] };
}

export interface Ingress extends KubeObject {
  apiVersion: 'networking.k8s.io/v1';
  kind: 'Ingress';
  spec: {
    ingressClassName?: string;
    defaultBackend?: IngressBackend;
    tls?: Array<{ hosts?: string[]; secretName?: string }>;
    rules?: IngressRule[];
    [extra: string]: unknown;
  };
}

export interface EndpointSlice extends KubeObject {
  apiVersion: 'discovery.k8s.io/v1';
  kind: 'EndpointSlice';
  addressType: string;
  endpoints?: Array<{
    addresses: string[];
    conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
    targetRef?: { kind?: string; name?: string; namespace?: string; uid?: string };
  }>;
  ports?: Array<{ name?: string; port?: number; protocol?: string }>;
}

/** Identifies one object for get/patch/delete. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}

export const refOf = (object: KubeObject): ObjectRef => ({
  apiVersion: object.apiVersion,
  kind: object.kind,
  namespace: object.metadata.namespace,
  name: object.metadata.name,
});
