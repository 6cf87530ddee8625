// The label and annotation keys canaryd writes. One place, so the docs, the routers and the
// tests agree on them.

export const NGINX = 'nginx.ingress.kubernetes.io/';
export const NGINX_CANARY = `${NGINX}canary`;
export const NGINX_CANARY_WEIGHT = `${NGINX}canary-weight`;
export const NGINX_CANARY_WEIGHT_TOTAL = `${NGINX}canary-weight-total`;
export const NGINX_CANARY_BY_HEADER = `${NGINX}canary-by-header`;
export const NGINX_CANARY_BY_HEADER_VALUE = `${NGINX}canary-by-header-value`;
export const NGINX_CANARY_BY_HEADER_PATTERN = `${NGINX}canary-by-header-pattern`;
export const NGINX_CANARY_BY_COOKIE = `${NGINX}canary-by-cookie`;
export const NGINX_TESTER_ANNOTATIONS = [
  NGINX_CANARY_BY_HEADER,
  NGINX_CANARY_BY_HEADER_VALUE,
  NGINX_CANARY_BY_HEADER_PATTERN,
  NGINX_CANARY_BY_COOKIE,
] as const;

/** The legacy (pre-IngressClass) way to pick an ingress controller. */
export const LEGACY_INGRESS_CLASS = 'kubernetes.io/ingress.class';
export const DEFAULT_INGRESS_CLASS = 'ingressclass.kubernetes.io/is-default-class';
export const NGINX_CONTROLLER = 'k8s.io/ingress-nginx';

export const MANAGED_BY = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_CANARYD = 'canaryd';
/** Carried by canary pods only; the canary Service selects on it. */
export const TRACK = 'canaryd.dev/track';
export const TRACK_CANARY = 'canary';
/** On canary objects: the CanaryPolicy they belong to, "<namespace>/<name>". */
export const OWNER_POLICY = 'canaryd.dev/policy';
/**
 * Beside canaryd.dev/policy on the user's objects (Deployment mark, Service records, HTTPRoute
 * record in its JSON): the policy's uid, so one created again under the same name tells an
 * earlier one's records from its own (policy-mark.ts).
 */
export const OWNER_POLICY_UID = 'canaryd.dev/policy-uid';
/** On a canary Ingress: the stable Ingress it was copied from. */
export const CANARY_OF = 'canaryd.dev/canary-of';
/**
 * On canary objects: the weight (percent) canaryd last wrote, to tell drift from intent. An
 * annotation on canary Ingresses; a label on replica-ratio's canary Deployment (replica-ratio-records.ts).
 */
export const INTENDED_WEIGHT = 'canaryd.dev/weight';
/** On the user's stable Service while pinned: its selector as found, JSON. */
export const ORIGINAL_SELECTOR = 'canaryd.dev/original-selector';
/**
 * On the user's stable Service during a replica-ratio release: its selector when the release
 * started, JSON. The split depends on it; an edit is put back (and reported) until the release ends.
 */
export const RELEASE_SELECTOR = 'canaryd.dev/release-selector';
/**
 * On the user's HTTPRoute during a gateway-api release: what canaryd changed (the stable
 * backendRefs' weights as found, the percent it set), JSON. Cleanup puts the route back from it.
 */
export const HTTPROUTE_RECORD = 'canaryd.dev/httproute';
/** On the user's stable Deployment while surged: spec.replicas as found. */
export const ORIGINAL_REPLICAS = 'canaryd.dev/original-replicas';
/** Set by the Deployment controller on every pod of a ReplicaSet. */
export const POD_TEMPLATE_HASH = 'pod-template-hash';
/** Set by the EndpointSlice controller: the Service a slice belongs to. */
export const SERVICE_NAME = 'kubernetes.io/service-name';
