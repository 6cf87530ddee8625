// What the reconcile tests on a fake cluster share: a FakeKube whose status writes go through
// (and are recorded), the user's Deployment as found before adoption, and the reconciler's
// dependencies with a quiet log.
import type { AnalysisRunner } from '../../src/controller/analysis-runner.ts';
import type { ReconcilerDeps } from '../../src/controller/deps.ts';
import type { PolicyStatus } from '../../src/controller/status.ts';
import type { StatusWriter } from '../../src/kube/api.ts';
import { KubeEventRecorder } from '../../src/kube/events.ts';
import type { Deployment, KubeObject, ObjectRef } from '../../src/kube/objects.ts';
import type { TrafficRouter } from '../../src/traffic/router.ts';
import { FakeKube } from '../traffic/fake-kube.ts';
import { NS, stableDeployment, type World } from '../traffic/world.ts';

/** A FakeKube that writes statuses and keeps a copy of each one written. */
export class StatusKube extends FakeKube implements StatusWriter {
  statusWrites: PolicyStatus[] = [];
  async replaceStatus<T extends KubeObject>(object: T): Promise<T> {
    this.statusWrites.push(structuredClone((object as { status?: PolicyStatus }).status as PolicyStatus));
    return this.replace(object);
  }
}

/**
 * `kube` (a World's) writing statuses through, each one kept in `statusWrites`; `refuse` answers
 * an error for a write instead (a lost race), or undefined to let it through.
 */
export function keepingStatusWrites<K extends FakeKube>(kube: K, refuse: () => Error | undefined = () => undefined) {
  const statusWrites: PolicyStatus[] = [];
  const writing = Object.assign(kube, {
    replaceStatus: <T extends KubeObject>(object: T): Promise<T> => {
      const error = refuse();
      if (error !== undefined) return Promise.reject(error);
      statusWrites.push(structuredClone((object as { status?: PolicyStatus }).status as PolicyStatus));
      return kube.replace(object);
    },
  });
  return { kube: writing, statusWrites };
}

/** The stable Deployment as a policy finds it: unpaused, rolled out, every replica available. */
export function unadoptedDeployment(replicas: number): Deployment {
  const deployment = stableDeployment(replicas);
  deployment.spec.paused = false;
  deployment.metadata.generation = 1;
  deployment.status = {
    observedGeneration: 1,
    replicas,
    updatedReplicas: replicas,
    readyReplicas: replicas,
    availableReplicas: replicas,
  };
  return deployment;
}

/** The reconciler's dependencies over `kube`, with no analysis and a quiet log. */
export const quietDeps = (
  kube: FakeKube & StatusWriter,
  router: () => TrafficRouter,
  now: () => Date,
): ReconcilerDeps => ({
  kube,
  events: new KubeEventRecorder(kube),
  router,
  analysis: {} as AnalysisRunner,
  now,
  log: { info() {}, warn() {}, error() {} },
});

/** The Deployment controller on one Deployment: its template rolled to every replica, all ready. */
export function rolledOut(kube: FakeKube, ref: ObjectRef): void {
  kube.mutate<Deployment>(ref, (d) => {
    const replicas = d.spec.replicas ?? 1;
    d.status = {
      observedGeneration: d.metadata.generation,
      replicas,
      updatedReplicas: replicas,
      readyReplicas: replicas,
      availableReplicas: replicas,
    };
  });
}

/** The Deployment controller of a World: every roll complete, every pod ready (options: World.settle's). */
export function rollAll(world: World, options?: Parameters<World['settle']>[0]): void {
  world.settle(options);
  for (const name of ['web', 'web-canary']) {
    const ref = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name };
    if (world.kube.peek(ref) !== undefined) rolledOut(world.kube, ref);
  }
}
