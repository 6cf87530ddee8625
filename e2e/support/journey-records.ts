// A release journey's complete record and how to read it: every record started before the
// release begins (the Service's ready endpoints, every Deployment, ReplicaSet and policy change,
// all by watch), left next to canaryd's logs when the test fails, and finished by checking
// invariant 1 and the watches; then the persisted release states, step starts and phases, and where in the
// Deployment events the canary and the stable Deployment changed.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, onTestFailed } from 'vitest';
import type { CurrentRelease, OperationRecord } from '../../src/engine/types.ts';
import { REPO_ROOT } from '../cluster/cluster.ts';
import type { TestEnv } from './env.ts';
import { APP, CANARY } from './managed-app.ts';
import { imageOf, intendedWeightOf, type PolicyView } from './release-status.ts';
import {
  type DeploymentEvent,
  type WatchedEvent,
  watchDeployments,
  watchPolicy,
  watchReplicaSets,
  watchServiceEndpoints,
} from './watch-records.ts';

/**
 * Starts every record a journey needs before its release begins: the Service's ready endpoints
 * after every EndpointSlice change, and every Deployment, ReplicaSet and policy change, by watch
 * in the API server's order (no moment between two polls is missed). `finish` stops them and checks invariant 1 and the watches.
 */
export async function recordJourney(env: TestEnv) {
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
      const watched = await endpoints.stop();
      for (const recorder of [deployments, replicaSets, policy]) recorder.stop();
      expect(watched.changes).toBeGreaterThan(0);
      expect(watched.zeroAt).toEqual([]);
      expect([...watched.errors, ...deployments.errors, ...replicaSets.errors, ...policy.errors]).toEqual([]);
    },
  };
}

export type Journey = Awaited<ReturnType<typeof recordJourney>>;

// ---- reading the records ----

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

/** Index of the first event from `from` on that passes `test`, or -1. */
export function indexOf<T>(events: Array<WatchedEvent<T>>, from: number, test: (event: WatchedEvent<T>) => boolean) {
  for (let i = from; i < events.length; i++) if (test(events[i]!)) return i;
  return -1;
}

export const isCanary = (event: DeploymentEvent) => event.object.metadata?.name === CANARY;
export const isStable = (event: DeploymentEvent) => event.object.metadata?.name === APP;
