// The canary Ingress: a copy of a stable Ingress that ingress-nginx merges into the stable one
// by host and path, sending a weighted (or header/cookie-selected) share to the canary Service.
// Pure: objects in, object or error out; ingress-nginx.ts and its ingress-nginx-*.ts siblings
// do the API calls.
import type { Ingress, IngressBackend, IngressPath, IngressRule } from '../kube/objects.ts';
import type { RoutingSpec } from '../policy/schema.ts';
import { TrafficError } from './errors.ts';
import {
  CANARY_OF,
  INTENDED_WEIGHT,
  LEGACY_INGRESS_CLASS,
  MANAGED_BY,
  MANAGED_BY_CANARYD,
  NGINX_CANARY,
  NGINX_CANARY_BY_COOKIE,
  NGINX_CANARY_BY_HEADER,
  NGINX_CANARY_BY_HEADER_PATTERN,
  NGINX_CANARY_BY_HEADER_VALUE,
  NGINX_CANARY_WEIGHT,
  NGINX_CANARY_WEIGHT_TOTAL,
  OWNER_POLICY,
} from './labels.ts';
import { formatShare } from './replica-solver.ts';
import { controllerRef, type PolicyOwner, type RouteTarget } from './router.ts';
import { fromNginxWeight, nginxWeightAnnotations, readNginxWeight } from './weights.ts';

export const CANARY_SUFFIX = '-canary';
export const canaryName = (name: string): string => `${name}${CANARY_SUFFIX}`;

export const canaryIngressNames = (target: RouteTarget): string[] => target.ingresses.map(canaryName);

/** The stable Ingresses recorded (canary-of) on the canary Ingresses of `policy` (namespace/name). */
export const stableIngressesRecorded = (all: Ingress[], policy: string): string[] =>
  all
    .filter((ingress) => ingress.metadata.annotations?.[OWNER_POLICY] === policy)
    .flatMap((ingress) => ingress.metadata.annotations?.[CANARY_OF] ?? []);

/** One place a request can be routed: ingress-nginx merges canaries on host + path. */
export interface Route {
  host: string;
  path: string;
}

const DEFAULT_BACKEND_PATH = '(default backend)';
const ANY_HOST = '*';

const backendIs = (backend: IngressBackend | undefined, service: string): boolean => backend?.service?.name === service;

/** The routes of an Ingress, optionally only those whose backend is `service`. */
export const routesOf = (ingress: Ingress, service?: string): Route[] => {
  const routes: Route[] = [];
  const wanted = (backend: IngressBackend | undefined) =>
    service === undefined ? backend !== undefined : backendIs(backend, service);
  if (wanted(ingress.spec.defaultBackend)) routes.push({ host: ANY_HOST, path: DEFAULT_BACKEND_PATH });
  for (const rule of ingress.spec.rules ?? []) {
    for (const path of rule.http?.paths ?? []) {
      if (wanted(path.backend)) routes.push({ host: rule.host ?? ANY_HOST, path: path.path ?? '/' });
    }
  }
  return routes;
};

/** Does this Ingress send any request to `service`? */
export const routesToService = (ingress: Ingress, service: string): boolean => routesOf(ingress, service).length > 0;

export const isCanaryIngress = (ingress: Ingress): boolean => ingress.metadata.annotations?.[NGINX_CANARY] === 'true';

export const isManagedByCanaryd = (ingress: { metadata: { labels?: Record<string, string> } }): boolean =>
  ingress.metadata.labels?.[MANAGED_BY] === MANAGED_BY_CANARYD;

const HTTP_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** What ingress-nginx would ignore or misread in this routing, one line per problem. */
export const testerRoutingProblems = (routing: RoutingSpec | undefined): string[] => {
  const problems: string[] = [];
  const header = routing?.header;
  if (header !== undefined) {
    if (!HTTP_TOKEN.test(header.name)) problems.push(`routing.header.name "${header.name}" is not a valid header name`);
    if (header.value !== undefined && header.pattern !== undefined) {
      problems.push(
        'routing.header: set value or pattern, not both (ingress-nginx ignores the pattern when a value is set)',
      );
    }
    if (header.pattern !== undefined) {
      try {
        new RegExp(header.pattern);
      } catch (error) {
        problems.push(`routing.header.pattern "${header.pattern}" is not a regular expression: ${String(error)}`);
      }
    }
  }
  if (routing?.cookie !== undefined && !HTTP_TOKEN.test(routing.cookie)) {
    problems.push(`routing.cookie "${routing.cookie}" is not a valid cookie name`);
  }
  return problems;
};

/** The tester annotations for `routing`; null deletes (in a merge patch) what is not used. */
export const testerAnnotations = (routing: RoutingSpec | undefined): Record<string, string | null> => {
  const problems = testerRoutingProblems(routing);
  if (problems.length > 0) throw new TrafficError('InvalidRouting', problems.join('; '));
  const header = routing?.header;
  return {
    [NGINX_CANARY_BY_HEADER]: header?.name ?? null,
    [NGINX_CANARY_BY_HEADER_VALUE]: header?.value ?? null,
    [NGINX_CANARY_BY_HEADER_PATTERN]: header?.pattern ?? null,
    [NGINX_CANARY_BY_COOKIE]: routing?.cookie ?? null,
  };
};

/** The annotations that set the weight, validated; the same keys in every write. */
export const weightAnnotations = (percent: number): Record<string, string> => {
  const { weight, total } = nginxWeightAnnotations(percent);
  return { [NGINX_CANARY_WEIGHT]: weight, [NGINX_CANARY_WEIGHT_TOTAL]: total, [INTENDED_WEIGHT]: String(percent) };
};

export interface CanaryIngressInput {
  stable: Ingress;
  stableService: string;
  canaryService: string;
  /** The owning CanaryPolicy, "<namespace>/<name>". */
  policy: string;
  /** The policy as the canary Ingress's controller (garbage-collected with it). */
  owner?: PolicyOwner;
  /** Percent; default 0. */
  weight?: number;
  routing?: RoutingSpec;
}

const rewrite = (backend: IngressBackend, canaryService: string): IngressBackend => ({
  service: { ...backend.service!, name: canaryService },
});

/**
 * The canary Ingress for one stable Ingress: same hosts, paths, pathTypes, TLS and class; only
 * the paths (and default backend) that go to the stable Service, now going to the canary
 * Service (same port, by name or number: the canary Service copies the ports). Other
 * annotations of the stable Ingress are not copied: ingress-nginx applies the stable
 * Ingress's configuration to canary traffic and ignores it on the canary.
 */
export const buildCanaryIngress = (input: CanaryIngressInput): Ingress => {
  const { stable, stableService, canaryService } = input;
  const rules: IngressRule[] = [];
  for (const rule of stable.spec.rules ?? []) {
    const paths: IngressPath[] = (rule.http?.paths ?? [])
      .filter((path) => backendIs(path.backend, stableService))
      .map((path) => ({ ...path, backend: rewrite(path.backend, canaryService) }));
    if (paths.length > 0) rules.push({ ...(rule.host === undefined ? {} : { host: rule.host }), http: { paths } });
  }
  const defaultBackend = backendIs(stable.spec.defaultBackend, stableService)
    ? rewrite(stable.spec.defaultBackend!, canaryService)
    : undefined;
  if (rules.length === 0 && defaultBackend === undefined) {
    throw new TrafficError(
      'NoRoute',
      `Ingress ${stable.metadata.name} has no path to Service ${stableService}; name only Ingresses that route to it in target.ingresses`,
    );
  }
  const hosts = new Set(rules.map((rule) => rule.host));
  const tls = (stable.spec.tls ?? []).filter(
    (entry) => entry.hosts === undefined || entry.hosts.length === 0 || entry.hosts.some((host) => hosts.has(host)),
  );
  const legacyClass = stable.metadata.annotations?.[LEGACY_INGRESS_CLASS];
  const spec: Ingress['spec'] = {};
  if (stable.spec.ingressClassName !== undefined) spec.ingressClassName = stable.spec.ingressClassName;
  if (defaultBackend !== undefined) spec.defaultBackend = defaultBackend;
  if (tls.length > 0) spec.tls = tls;
  if (rules.length > 0) spec.rules = rules;
  const testers = Object.fromEntries(
    Object.entries(testerAnnotations(input.routing)).filter((entry): entry is [string, string] => entry[1] !== null),
  );
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: {
      name: canaryName(stable.metadata.name),
      ...(stable.metadata.namespace === undefined ? {} : { namespace: stable.metadata.namespace }),
      labels: { [MANAGED_BY]: MANAGED_BY_CANARYD },
      annotations: {
        ...(legacyClass === undefined ? {} : { [LEGACY_INGRESS_CLASS]: legacyClass }),
        [NGINX_CANARY]: 'true',
        ...weightAnnotations(input.weight ?? 0),
        ...testers,
        [OWNER_POLICY]: input.policy,
        [CANARY_OF]: stable.metadata.name,
      },
      ...controllerRef(input.owner),
    },
    spec,
  };
};

/**
 * Refuses when another canary Ingress in the namespace already covers one of the candidate's
 * host+path pairs: ingress-nginx honours only one canary per host and path (its admission
 * webhook rejects the second), so ours would silently carry no traffic.
 */
export const assertNoCanaryConflict = (candidate: Ingress, others: Ingress[]): void => {
  const key = (route: Route) => `${route.host}\u0000${route.path}`;
  const ours = new Set(routesOf(candidate).map(key));
  for (const other of others) {
    if (other.metadata.name === candidate.metadata.name || !isCanaryIngress(other)) continue;
    const shared = routesOf(other).filter((route) => ours.has(key(route)));
    const first = shared[0];
    if (first !== undefined) {
      const where =
        first.path === DEFAULT_BACKEND_PATH ? 'the default backend' : `host ${first.host} path ${first.path}`;
      throw new TrafficError(
        'IngressConflict',
        `canary Ingress ${other.metadata.name} already covers ${where} (${shared.length} shared route(s)); ingress-nginx honours one canary per host and path: finish or delete that canary first`,
      );
    }
  }
};

/**
 * What the canary Ingresses as written say, one entry per stable Ingress (null: missing): the
 * weight canaryd intended and the one ingress-nginx applies, tester routing, and what differs.
 */
export function readCanaryIngresses(found: readonly { name: string; ingress: Ingress | null }[]) {
  const seen = {
    drift: [] as string[],
    shown: [] as string[],
    /** One entry per stable Ingress: does its canary Ingress exist? */
    found: [] as boolean[],
    requested: 0,
    achieved: 0,
    testers: false,
  };
  for (const { name, ingress } of found) {
    seen.found.push(ingress !== null);
    if (ingress === null) {
      seen.drift.push(`canary Ingress ${name} is missing`);
      continue;
    }
    const annotations = ingress.metadata.annotations ?? {};
    seen.testers ||=
      annotations[NGINX_CANARY_BY_HEADER] !== undefined || annotations[NGINX_CANARY_BY_COOKIE] !== undefined;
    const intended = Number(annotations[INTENDED_WEIGHT] ?? '0');
    seen.requested = Math.max(seen.requested, Number.isFinite(intended) ? intended : 0);
    if (annotations[NGINX_CANARY] !== 'true') {
      seen.drift.push(
        `canary Ingress ${name}: ${NGINX_CANARY} is not "true", so ingress-nginx does not treat it as a canary`,
      );
      continue;
    }
    const pair = readNginxWeight(annotations, NGINX_CANARY_WEIGHT, NGINX_CANARY_WEIGHT_TOTAL);
    const effective = fromNginxWeight(pair);
    seen.achieved = Math.max(seen.achieved, effective);
    seen.shown.push(`${name} ${pair.weight}/${pair.total}`);
    if (pair.problem !== undefined) seen.drift.push(`canary Ingress ${name}: ${pair.problem}`);
    else if (Math.abs(effective - intended) > 1e-9) {
      seen.drift.push(
        `canary Ingress ${name} sends ${formatShare(effective)} (canary-weight ${pair.weight}/${pair.total}) but canaryd set ${formatShare(intended)}`,
      );
    }
  }
  return seen;
}
