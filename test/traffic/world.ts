// A namespace "shop" with the user's objects (Deployment web, its ReplicaSets and pods, Service
// web, Ingresses) in a FakeKube, plus a small stand-in for the controllers the routers rely on:
// settle() makes pods follow Deployment replicas and rebuilds EndpointSlices from the Services'
// selectors, so a pinned selector really keeps canary pods out of the stable Service.
import type { Deployment, EndpointSlice, Ingress, KubeObject, Service } from '../../src/kube/objects.ts';
import { refOf } from '../../src/kube/objects.ts';
import type { RouteTarget } from '../../src/traffic/router.ts';
import { FakeKube } from './fake-kube.ts';

export const NS = 'shop';
export const STABLE_HASH = '5d4f8b9c7';
export const CANARY_HASH = '7c9d6f5b4';

interface Pod extends KubeObject {
  status: { podIP: string; ready: boolean };
}

export const stableDeployment = (replicas: number): Deployment => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {
    name: 'web',
    namespace: NS,
    uid: 'uid-deploy-web',
    labels: { app: 'web', team: 'checkout' },
    annotations: {
      'deployment.kubernetes.io/revision': '4',
      'argocd.argoproj.io/tracking-id': 'shop:apps/Deployment:shop/web',
    },
  },
  spec: {
    replicas,
    paused: true,
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web', version: 'v2' } },
      spec: { containers: [{ name: 'web', image: 'shop/web:2.0.0' }] },
    },
  },
  status: { replicas, readyReplicas: replicas },
});

export const canaryDeployment = (): Deployment => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web-canary', namespace: NS, labels: { 'app.kubernetes.io/managed-by': 'canaryd' } },
  spec: {
    replicas: 0,
    selector: { matchLabels: { app: 'web', 'canaryd.dev/track': 'canary' } },
    template: {
      metadata: { labels: { app: 'web', version: 'v2', 'canaryd.dev/track': 'canary' } },
      spec: { containers: [{ name: 'web', image: 'shop/web:2.1.0' }] },
    },
  },
  status: { replicas: 0, readyReplicas: 0 },
});

const replicaSet = (hash: string, replicas: number, owner: string, ownerUid: string): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  metadata: {
    name: `${owner}-${hash}`,
    namespace: NS,
    labels: { app: 'web', 'pod-template-hash': hash },
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: owner, uid: ownerUid, controller: true }],
  },
  spec: { replicas },
  status: { replicas },
});

export const stableService = (): Service => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: {
    name: 'web',
    namespace: NS,
    labels: { app: 'web', 'helm.sh/chart': 'web-1.2.0' },
    annotations: { 'meta.helm.sh/release-name': 'web', 'prometheus.io/scrape': 'true' },
  },
  spec: {
    type: 'NodePort',
    clusterIP: '10.96.12.34',
    clusterIPs: ['10.96.12.34'],
    selector: { app: 'web' },
    ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP', nodePort: 30080 }],
    sessionAffinity: 'None',
  },
});

export const stableIngress = (name = 'web', host = 'shop.example.com'): Ingress => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: {
    name,
    namespace: NS,
    labels: { app: 'web' },
    annotations: { 'cert-manager.io/cluster-issuer': 'letsencrypt' },
  },
  spec: {
    ingressClassName: 'nginx',
    tls: [{ hosts: [host], secretName: `${name}-tls` }],
    rules: [
      {
        host,
        http: {
          paths: [
            { path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { name: 'http' } } } },
            { path: '/static', pathType: 'Prefix', backend: { service: { name: 'assets', port: { number: 80 } } } },
          ],
        },
      },
    ],
  },
});

export interface WorldOptions {
  stableReplicas?: number;
  ingresses?: Ingress[];
  /** HTTPRoutes (gateway-api): seeded and named in target.httpRoutes. */
  httpRoutes?: KubeObject[];
  surgeBudget?: number;
}

export class World {
  readonly kube: FakeKube;
  readonly target: RouteTarget;
  /** Whether new canary pods pass their readiness probe. */
  canaryPodsReady = true;
  #ip = 10;

  constructor(options: WorldOptions = {}) {
    const replicas = options.stableReplicas ?? 3;
    const ingresses = options.ingresses ?? [stableIngress()];
    this.kube = new FakeKube(
      stableDeployment(replicas),
      replicaSet(STABLE_HASH, replicas, 'web', 'uid-deploy-web'),
      replicaSet('3b2a1c0d9', 0, 'web', 'uid-deploy-web'),
      stableService(),
      ...ingresses,
      ...(options.httpRoutes ?? []),
    );
    this.target = {
      namespace: NS,
      policy: 'web',
      deployment: 'web',
      service: 'web',
      ingresses: ingresses.map((ingress) => ingress.metadata.name),
      ...(options.httpRoutes === undefined ? {} : { httpRoutes: options.httpRoutes.map((r) => r.metadata.name) }),
      canaryDeployment: 'web-canary',
      canaryService: 'web-canary',
      stableReplicas: replicas,
      ...(options.surgeBudget === undefined ? {} : { surgeBudget: options.surgeBudget }),
    };
    this.settle();
  }

  /** The controller creates the canary Deployment (outside the router's job). */
  addCanaryDeployment(): void {
    this.kube.seed(canaryDeployment());
  }

  /** Someone (the controller, or a person) sets the canary Deployment's replicas. */
  scaleCanary(replicas: number): void {
    this.kube.mutate<Deployment>(
      { apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: 'web-canary' },
      (d) => {
        d.spec.replicas = replicas;
      },
    );
  }

  /**
   * The next release takes the canary Deployment over with a new image (execute.ts createCanary
   * replaces the template in place); its pods of the previous template are still there and ready.
   */
  replaceCanaryTemplate(image: string): void {
    this.kube.mutate<Deployment>(
      { apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: 'web-canary' },
      (d) => {
        d.spec.template.spec.containers[0]!.image = image;
      },
    );
  }

  /**
   * What the Deployment, ReplicaSet and EndpointSlice controllers would do by now; with
   * `endpointSlices: false`, the EndpointSlice controller (a controller of its own, seen by a
   * watch of its own) has not caught up yet.
   */
  settle(options: { endpointSlices?: boolean } = {}): void {
    this.#followReplicas('web', STABLE_HASH, () => true);
    this.#followReplicas('web-canary', CANARY_HASH, () => this.canaryPodsReady);
    if (options.endpointSlices !== false) this.#rebuildEndpointSlices();
  }

  pods(): Pod[] {
    return this.kube.all().filter((object): object is Pod => object.kind === 'Pod');
  }

  #followReplicas(deployment: string, hash: string, ready: () => boolean): void {
    const ref = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: deployment };
    const found = this.kube.peek<Deployment>(ref);
    if (found === undefined) return;
    const want = found.spec.replicas ?? 1;
    if (deployment === 'web-canary') this.#ensureReplicaSet(found, hash);
    const pods = this.pods().filter((pod) => pod.metadata.labels?.['pod-template-hash'] === hash);
    for (const pod of pods.slice(want)) this.kube.remove(refOf(pod));
    for (const pod of pods.slice(0, want)) {
      this.kube.mutate<Pod>(refOf(pod), (object) => {
        object.status.ready = ready();
      });
    }
    for (let index = pods.length; index < want; index++) {
      const pod: Pod = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: `${deployment}-${hash}-${index}`,
          namespace: NS,
          labels: { ...found.spec.template.metadata?.labels, 'pod-template-hash': hash },
        },
        status: { podIP: `10.0.0.${this.#ip++}`, ready: ready() },
      };
      this.kube.seed(pod);
    }
    const readyCount = this.pods().filter(
      (p) => p.metadata.labels?.['pod-template-hash'] === hash && p.status.ready,
    ).length;
    this.kube.mutate<Deployment>(ref, (object) => {
      object.status = { replicas: want, readyReplicas: readyCount };
    });
  }

  /** The canary Deployment's ReplicaSet: its template (with the hash label) tells the canary's pods from older ones. */
  #ensureReplicaSet(deployment: Deployment, hash: string): void {
    const name = `${deployment.metadata.name}-${hash}`;
    if (this.kube.peek({ apiVersion: 'apps/v1', kind: 'ReplicaSet', namespace: NS, name }) !== undefined) return;
    const template = structuredClone(deployment.spec.template);
    template.metadata = { ...template.metadata, labels: { ...template.metadata?.labels, 'pod-template-hash': hash } };
    const owner = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: deployment.metadata.name,
      uid: deployment.metadata.uid ?? '',
    };
    this.kube.seed({
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name,
        namespace: NS,
        labels: { ...template.metadata.labels },
        ownerReferences: [{ ...owner, controller: true }],
      },
      spec: { replicas: deployment.spec.replicas ?? 1, template },
    });
  }

  #rebuildEndpointSlices(): void {
    for (const object of this.kube.all()) {
      if (object.kind === 'EndpointSlice') this.kube.remove(refOf(object));
    }
    for (const object of this.kube.all()) {
      if (object.kind !== 'Service') continue;
      const service = object as Service;
      const selector = Object.entries(service.spec.selector ?? {});
      const members = this.pods().filter((pod) =>
        selector.every(([key, value]) => pod.metadata.labels?.[key] === value),
      );
      const slice: EndpointSlice = {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: {
          name: `${service.metadata.name}-x7k2p`,
          namespace: NS,
          labels: { 'kubernetes.io/service-name': service.metadata.name },
        },
        addressType: 'IPv4',
        endpoints: members.map((pod) => ({
          addresses: [pod.status.podIP],
          conditions: { ready: pod.status.ready },
          targetRef: { kind: 'Pod', name: pod.metadata.name, namespace: NS, uid: pod.metadata.uid! },
        })),
      };
      this.kube.seed(slice);
    }
  }
}

/** An object without the fields the API server manages, for "left as found" comparisons. */
export const userView = <T extends KubeObject>(object: T | undefined): T | undefined => {
  if (object === undefined) return undefined;
  const copy = structuredClone(object);
  delete copy.metadata.resourceVersion;
  delete copy.metadata.generation;
  delete copy.metadata.managedFields;
  return copy;
};
