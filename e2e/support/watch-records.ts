// Records of what happened, by watch (not polling), in the API server's order: a recorder of
// every change of a collection that resumes where the server closed it and keeps anything that
// could lose an event; every Deployment, ReplicaSet and CanaryPolicy change in the namespace; the
// Service's EndpointSlices, noting any moment with zero ready endpoints (invariant 1); and every
// step start of a policy.
import * as k8s from '@kubernetes/client-node';
import type { PolicyStatusView } from './canaryd.ts';
import { GROUP, PLURAL, VERSION } from './crd.ts';
import type { TestEnv } from './env.ts';
import { APP } from './managed-app.ts';
import type { PolicyView } from './release-status.ts';

export interface WatchedEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: T;
  /** When the test received it (epoch ms). */
  at: number;
}

/**
 * Records every change of the objects at `path` (a collection), starting after a list; resumes
 * from the last resourceVersion when the server closes the watch. Anything that could lose an
 * event (an ERROR, e.g. 410 Gone) is kept in `errors`, so a test can insist there was none.
 */
export function recordWatch<T extends { metadata?: k8s.V1ObjectMeta }>(
  kc: k8s.KubeConfig,
  path: string,
  list: () => Promise<{ items: T[]; metadata?: k8s.V1ListMeta }>,
  onEvent?: (event: WatchedEvent<T>) => void,
) {
  const events: Array<WatchedEvent<T>> = [];
  const errors: string[] = [];
  let initial: T[] = [];
  let stopped = false;
  let resourceVersion: string | undefined;
  let controller: AbortController | undefined;
  const watch = new k8s.Watch(kc);
  const start = async (): Promise<void> => {
    controller = await watch.watch(
      path,
      { resourceVersion, allowWatchBookmarks: true },
      (type: string, object: T & { metadata?: k8s.V1ObjectMeta }) => {
        if (type === 'BOOKMARK') {
          resourceVersion = object.metadata?.resourceVersion;
          return;
        }
        if (type === 'ERROR') {
          errors.push(JSON.stringify(object));
          return;
        }
        resourceVersion = object.metadata?.resourceVersion;
        const event = { type: type as WatchedEvent<T>['type'], object, at: Date.now() };
        events.push(event);
        onEvent?.(event);
      },
      (error: unknown) => {
        if (stopped) return;
        // A server-side or client-side timeout ends a watch normally: carry on from the last
        // resourceVersion seen (an event lost that way would come back as an ERROR: 410 Gone).
        const name = (error as Error | undefined)?.name;
        if (error && name !== 'AbortError' && name !== 'TimeoutError') errors.push(String(error));
        start().catch((e: unknown) => errors.push(String(e)));
      },
    );
  };
  const ready = (async () => {
    const listed = await list();
    initial = listed.items;
    resourceVersion = listed.metadata?.resourceVersion;
    await start();
  })();
  return {
    ready,
    events,
    errors,
    initial: () => initial,
    stop() {
      stopped = true;
      controller?.abort();
    },
  };
}

export type DeploymentEvent = WatchedEvent<k8s.V1Deployment>;

/** Every Deployment change in the namespace. */
export function watchDeployments(env: TestEnv) {
  return recordWatch<k8s.V1Deployment>(env.kc, `/apis/apps/v1/namespaces/${env.namespace}/deployments`, () =>
    env.apps.listNamespacedDeployment({ namespace: env.namespace }),
  );
}

/** Every ReplicaSet change in the namespace. */
export function watchReplicaSets(env: TestEnv) {
  return recordWatch<k8s.V1ReplicaSet>(env.kc, `/apis/apps/v1/namespaces/${env.namespace}/replicasets`, () =>
    env.apps.listNamespacedReplicaSet({ namespace: env.namespace }),
  );
}

/** Every persisted status (and annotation) of the policy. */
export function watchPolicy(env: TestEnv) {
  const custom = env.kc.makeApiClient(k8s.CustomObjectsApi);
  return recordWatch<PolicyView>(
    env.kc,
    `/apis/${GROUP}/${VERSION}/namespaces/${env.namespace}/${PLURAL}`,
    async () =>
      (await custom.listNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: env.namespace,
        plural: PLURAL,
      })) as {
        items: PolicyView[];
        metadata?: k8s.V1ListMeta;
      },
  );
}

/**
 * Invariant 1 by watch: the Service's ready endpoints after every EndpointSlice change (in the API
 * server's order, so no moment between two polls is missed). The Service carries traffic at every
 * moment of a replica-ratio release, so it must never have zero ready endpoints.
 */
export function watchServiceEndpoints(env: TestEnv, service = APP) {
  const slices = new Map<string, k8s.V1EndpointSlice>();
  const zeroAt: string[] = [];
  let changes = 0;
  const ready = () =>
    [...slices.values()].flatMap((s) => s.endpoints ?? []).filter((e) => e.conditions?.ready !== false).length;
  const isOurs = (s: k8s.V1EndpointSlice) => s.metadata?.labels?.['kubernetes.io/service-name'] === service;
  const recorder = recordWatch<k8s.V1EndpointSlice>(
    env.kc,
    `/apis/discovery.k8s.io/v1/namespaces/${env.namespace}/endpointslices`,
    async () => {
      const listed = await env.discovery.listNamespacedEndpointSlice({ namespace: env.namespace });
      for (const slice of listed.items.filter(isOurs)) slices.set(slice.metadata?.name ?? '', slice);
      if (ready() === 0) zeroAt.push(`${new Date().toISOString()} (at the start)`);
      return listed;
    },
    (event) => {
      if (!isOurs(event.object)) return;
      const name = event.object.metadata?.name ?? '';
      if (event.type === 'DELETED') slices.delete(name);
      else slices.set(name, event.object);
      changes++;
      if (ready() === 0) zeroAt.push(`${new Date(event.at).toISOString()} (slice ${name} ${event.type})`);
    },
  );
  return {
    ready: recorder.ready,
    snapshot: () => ({
      changes,
      zeroAt,
      errors: recorder.errors,
      events: recorder.events
        .filter((e) => isOurs(e.object))
        .map((e) => ({
          at: new Date(e.at).toISOString(),
          type: e.type,
          endpoints: (e.object.endpoints ?? []).map(
            (p) => `${p.targetRef?.name} ready=${p.conditions?.ready} terminating=${p.conditions?.terminating}`,
          ),
        })),
    }),
    async stop() {
      recorder.stop();
      return { changes, zeroAt, errors: recorder.errors, readyAtEnd: ready() };
    },
  };
}

export interface StepStart {
  stepIndex: number;
  stepStartedAt: string;
}

/**
 * Records every step start of a policy while a test runs, by watch (every persisted status, in
 * the API server's order, so no step held shorter than a poll is missed): a step started again
 * shows as a new start time. `errors` holds anything that could have lost a status.
 */
export function watchStepStarts(kc: k8s.KubeConfig, namespace: string, name: string) {
  const starts: StepStart[] = [];
  const seen = (policy: { metadata?: k8s.V1ObjectMeta; status?: PolicyStatusView } | undefined) => {
    const current = policy?.status?.release?.current;
    const last = starts.at(-1);
    if (
      current?.stepStartedAt &&
      (last?.stepIndex !== current.stepIndex || last.stepStartedAt !== current.stepStartedAt)
    )
      starts.push({ stepIndex: current.stepIndex, stepStartedAt: current.stepStartedAt });
  };
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const recorder = recordWatch<{ metadata?: k8s.V1ObjectMeta; status?: PolicyStatusView }>(
    kc,
    `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${PLURAL}?fieldSelector=metadata.name%3D${name}`,
    async () => {
      const listed = (await custom.listNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: PLURAL,
        fieldSelector: `metadata.name=${name}`,
      })) as { items: Array<{ metadata?: k8s.V1ObjectMeta; status?: PolicyStatusView }>; metadata?: k8s.V1ListMeta };
      seen(listed.items[0]);
      return listed;
    },
    (event) => {
      if (event.type !== 'DELETED') seen(event.object);
    },
  );
  return {
    ready: recorder.ready,
    starts,
    errors: recorder.errors,
    async stop(): Promise<StepStart[]> {
      recorder.stop();
      return starts;
    },
  };
}
