// What the release-journey e2e tests share: a managed demo app (Deployment + Service + policy,
// adopted), new templates, manual operations written as `kubectl canary` writes them, and
// precise records of what happened: every persisted CanaryPolicy status and every Deployment and
// ReplicaSet change, in the API server's order (watches, not polling), plus a watch of the
// Service's EndpointSlices that notes any moment with zero ready endpoints (invariant 1).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { expect, onTestFailed } from 'vitest';
import type { CurrentRelease, ManualOperation, OperationRecord, ReleaseState } from '../../src/engine/types.ts';
import { newOperation, type OperationRequest, operationPatch } from '../../src/server/operations.ts';
import { REPO_ROOT } from '../cluster/cluster.ts';
import { WaitAborted, waitFor } from '../cluster/wait.ts';
import { createPolicy, readPolicy, watchReadyEndpoints } from './canaryd.ts';
import { GROUP, PLURAL, VERSION } from './crd.ts';
import { demoDeployment, demoService, type TestEnv } from './env.ts';

export const APP = 'web';
export const CANARY = `${APP}-canary`;
export const NEVER_READY = 'demo.canaryd.dev/never-ready';
const INTENDED_WEIGHT = 'canaryd.dev/weight';

export interface PolicyView {
  metadata: k8s.V1ObjectMeta;
  status?: { phase?: string; weight?: number; step?: string; message?: string; release?: ReleaseState };
}

export interface StepSpec {
  weight: number;
  hold: string;
  pause?: boolean;
  approval?: boolean;
}

/** A v1 Deployment of `replicas` pods behind a Service, Available, then adopted by a replica-ratio policy. */
export async function deployManaged(
  env: TestEnv,
  options: {
    replicas?: number;
    steps: StepSpec[];
    timeouts?: Record<string, string>;
    spec?: Record<string, unknown>;
    /** How long canaryd may take to adopt (default 30 s: canaryd already running and synced). */
    adoptionTimeoutMs?: number;
  },
): Promise<void> {
  const { apps, core, kc, namespace } = env;
  const replicas = options.replicas ?? 4;
  await apps.createNamespacedDeployment({
    namespace,
    body: demoDeployment(namespace, { name: APP, replicas, version: 'v1' }),
  });
  await core.createNamespacedService({ namespace, body: demoService(namespace, APP) });
  await waitFor(
    async () => (await apps.readNamespacedDeployment({ name: APP, namespace })).status?.availableReplicas === replicas,
    { timeoutMs: 60_000, description: `${APP} v1 Available` },
  );
  await createPolicy(kc, namespace, {
    apiVersion: 'canaryd.dev/v1alpha1',
    kind: 'CanaryPolicy',
    metadata: { name: APP, namespace },
    spec: {
      target: { deployment: APP, service: APP, router: 'replica-ratio' },
      strategy: { steps: options.steps, allowLargeFirstStep: true },
      timeouts: { canaryReady: '60s', promotion: '90s', ...options.timeouts },
      ...options.spec,
    },
  });
  await waitFor(
    async () => {
      const policy = await readPolicy(kc, namespace, APP);
      const deployment = await apps.readNamespacedDeployment({ name: APP, namespace });
      return policy?.status?.phase === 'idle' && deployment.spec?.paused === true;
    },
    {
      timeoutMs: options.adoptionTimeoutMs ?? 30_000,
      description: 'policy adopted the Deployment (paused, phase idle)',
    },
  );
}

/**
 * What `kubectl set image` (plus a label) does: a new pod template with image canaryd-demo:<version>;
 * with `changeCause`, in the same write, what `kubectl annotate kubernetes.io/change-cause=…` adds.
 */
export async function setTemplate(
  env: TestEnv,
  version: string,
  options: { neverReady?: boolean; changeCause?: string } = {},
): Promise<void> {
  const annotations =
    options.changeCause === undefined ? {} : { annotations: { 'kubernetes.io/change-cause': options.changeCause } };
  await env.apps.patchNamespacedDeployment(
    {
      name: APP,
      namespace: env.namespace,
      body: {
        ...(options.changeCause === undefined ? {} : { metadata: annotations }),
        spec: {
          template: {
            metadata: { labels: { [NEVER_READY]: options.neverReady ? 'true' : null } },
            spec: {
              containers: [
                { name: 'app', image: `canaryd-demo:${version}`, env: [{ name: 'VERSION', value: version }] },
              ],
            },
          },
        },
      },
    },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
  );
}

/** Writes the operation annotation the way `kubectl canary` does (src/server/operations.ts). */
export async function operate(env: TestEnv, request: OperationRequest, by: string): Promise<ManualOperation> {
  const operation = newOperation(request, by, new Date());
  const custom = env.kc.makeApiClient(k8s.CustomObjectsApi);
  const target = { group: GROUP, version: VERSION, namespace: env.namespace, plural: PLURAL, name: APP };
  const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
  await custom.patchNamespacedCustomObject({ ...target, body: operationPatch(operation) }, mergePatch);
  return operation;
}

export async function readStatus(env: TestEnv): Promise<PolicyView['status']> {
  return ((await readPolicy(env.kc, env.namespace, APP)) as PolicyView | null)?.status;
}

export async function readRelease(env: TestEnv): Promise<ReleaseState | undefined> {
  return (await readStatus(env))?.release;
}

/** Waits until the policy's status passes `test`; returns it. */
export function waitForPolicy(
  env: TestEnv,
  description: string,
  test: (status: NonNullable<PolicyView['status']>) => boolean,
  timeoutMs = 60_000,
): Promise<NonNullable<PolicyView['status']>> {
  return waitFor(
    async () => {
      const status = ((await readPolicy(env.kc, env.namespace, APP)) as PolicyView | null)?.status;
      return status !== undefined && test(status) ? status : undefined;
    },
    { timeoutMs, intervalMs: 100, description },
  );
}

/**
 * Asserts `holds` on every look until `untilMs` (epoch ms): a condition that must stay true for a
 * while, checked throughout — not a sleep. Returns how many looks there were.
 */
export async function holdsUntil(
  untilMs: number,
  description: string,
  holds: () => Promise<string | null>,
): Promise<number> {
  let looks = 0;
  await waitFor(
    async () => {
      const broken = await holds();
      looks++;
      if (broken !== null) throw new WaitAborted(`${description}: ${broken}`);
      return Date.now() >= untilMs;
    },
    { timeoutMs: untilMs - Date.now() + 10_000, intervalMs: 200, description },
  );
  return looks;
}

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

// ---- reading the records ----

export const imageOf = (d: k8s.V1Deployment | undefined): string | undefined =>
  d?.spec?.template.spec?.containers[0]?.image;
/** The weight canaryd recorded on a canary Deployment (a label; an annotation on canaries made before). */
export const intendedWeightOf = (d: k8s.V1Deployment): string | undefined =>
  d.metadata?.labels?.[INTENDED_WEIGHT] ?? d.metadata?.annotations?.[INTENDED_WEIGHT];

/** The persisted release states, in order, for the release of template `hash` (from a policy watch). */
export function releaseStates(events: Array<WatchedEvent<PolicyView>>, hash?: string): CurrentRelease[] {
  return events
    .map((e) => e.object.status?.release?.current)
    .filter((c): c is CurrentRelease => c !== undefined && (hash === undefined || c.templateHash === hash));
}

/** Every distinct stepStartedAt persisted for each step index (a repeated step has two). */
export function stepStarts(states: CurrentRelease[]): Map<number, string[]> {
  const starts = new Map<number, string[]>();
  for (const state of states) {
    if (state.stepStartedAt === undefined) continue;
    const seen = starts.get(state.stepIndex) ?? [];
    if (!seen.includes(state.stepStartedAt)) seen.push(state.stepStartedAt);
    starts.set(state.stepIndex, seen);
  }
  return starts;
}

/** The phases persisted, without repeats of the same phase in a row. */
export function phasesOf(events: Array<WatchedEvent<PolicyView>>): string[] {
  const phases: string[] = [];
  for (const event of events) {
    const phase = event.object.status?.release?.phase;
    if (phase !== undefined && phases.at(-1) !== phase) phases.push(phase);
  }
  return phases;
}

export const operationsOf = (entry: { operations?: OperationRecord[] } | undefined): OperationRecord[] =>
  entry?.operations ?? [];

/**
 * Starts every record a journey needs before its release begins: the Service's ready endpoints
 * (sampled by watchReadyEndpoints and, between samples, by watch), and every Deployment,
 * ReplicaSet and policy change. `finish` stops them and checks invariant 1 and the watches.
 */
export async function recordJourney(env: TestEnv) {
  const sampled = watchReadyEndpoints(env.kc, env.namespace, APP);
  const endpoints = watchServiceEndpoints(env);
  const deployments = watchDeployments(env);
  const replicaSets = watchReplicaSets(env);
  const policy = watchPolicy(env);
  await Promise.all([endpoints.ready, deployments.ready, replicaSets.ready, policy.ready]);
  // A failed journey leaves its records next to canaryd's logs, for the post-mortem.
  onTestFailed(() => {
    const dir = join(REPO_ROOT, '.cluster', 'logs');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `journey-${env.namespace}.json`);
    const brief = <T>(events: Array<WatchedEvent<T>>, view: (o: T) => unknown) =>
      events.map((e) => ({ at: new Date(e.at).toISOString(), type: e.type, ...(view(e.object) as object) }));
    writeFileSync(
      file,
      JSON.stringify(
        {
          endpoints: endpoints.snapshot(),
          deployments: brief(deployments.events, (d) => ({
            name: d.metadata?.name,
            rv: d.metadata?.resourceVersion,
            uid: d.metadata?.uid,
            replicas: d.spec?.replicas,
            paused: d.spec?.paused,
            image: imageOf(d),
            weight: intendedWeightOf(d),
            status: d.status,
          })),
          policy: brief(policy.events, (p) => ({ rv: p.metadata?.resourceVersion, status: p.status })),
          errors: [...deployments.errors, ...policy.errors],
        },
        null,
        1,
      ),
    );
    console.error(`journey records: ${file}`);
  });
  return {
    deployments,
    replicaSets,
    policy,
    async finish() {
      const polled = await sampled.stop();
      const watched = await endpoints.stop();
      for (const recorder of [deployments, replicaSets, policy]) recorder.stop();
      // The sampler really ran all along: at least one look per second of the journey (it
      // looks every 100 ms plus a LIST; a fast journey of 3 s may give only ~10).
      expect(polled.samples).toBeGreaterThanOrEqual(Math.max(2, Math.floor(polled.elapsedMs / 1000)));
      expect(polled.zeroAt).toEqual([]);
      expect(watched.changes).toBeGreaterThan(0);
      expect(watched.zeroAt).toEqual([]);
      expect([...watched.errors, ...deployments.errors, ...replicaSets.errors, ...policy.errors]).toEqual([]);
    },
  };
}

export type Journey = Awaited<ReturnType<typeof recordJourney>>;

/** Index of the first event from `from` on that passes `test`, or -1. */
export function indexOf<T>(events: Array<WatchedEvent<T>>, from: number, test: (event: WatchedEvent<T>) => boolean) {
  for (let i = from; i < events.length; i++) if (test(events[i]!)) return i;
  return -1;
}

export const isCanary = (event: DeploymentEvent) => event.object.metadata?.name === CANARY;
export const isStable = (event: DeploymentEvent) => event.object.metadata?.name === APP;

/**
 * After a release ends the status is written first, then its last actions run (re-pause, remove
 * the canary): wait for the Deployment paused at `image`, all its pods updated and available.
 */
export function waitForSettled(env: TestEnv, image: string): Promise<k8s.V1Deployment> {
  return waitFor(
    async () => {
      const deployment = await env.apps.readNamespacedDeployment({ name: APP, namespace: env.namespace });
      const replicas = deployment.spec?.replicas ?? 1;
      const settled =
        deployment.spec?.paused === true &&
        imageOf(deployment) === image &&
        (deployment.status?.updatedReplicas ?? 0) === replicas &&
        (deployment.status?.availableReplicas ?? 0) === replicas &&
        (deployment.status?.replicas ?? 0) === replicas;
      return settled ? deployment : undefined;
    },
    { timeoutMs: 30_000, description: `${APP} paused at ${image}, every pod updated and available` },
  );
}

/** The canary Deployment is gone (deleted, not just marked). */
export function waitForCanaryGone(env: TestEnv): Promise<true> {
  return waitFor(
    async () =>
      (await env.apps.readNamespacedDeployment({ name: CANARY, namespace: env.namespace }).catch(() => null)) === null,
    { timeoutMs: 30_000, description: 'the canary Deployment to be removed' },
  );
}
