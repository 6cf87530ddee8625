// What a drill checks about a release once it is over, from the statuses a watch saw: it ended as
// expected, no step was repeated (a step's hold restarted) or skipped, and nothing is orphaned.

import { waitFor } from '../../e2e/cluster/wait.ts';
import type { PolicyStatus, StatusEvent } from '../lib/app.ts';
import type { BenchCluster } from '../lib/cluster.ts';

export interface ReleaseVerdict {
  app: string;
  revision?: number;
  expected: string;
  phase: string;
  steps: number[];
  problems: string[];
}

/** Status events of one policy for the release with the given template image, in order. */
export function checkRelease(
  app: string,
  events: StatusEvent[],
  since: number,
  expected: 'succeeded' | 'failed',
  stepCount: number,
): ReleaseVerdict {
  const mine = events.filter((e) => e.name === app && e.seenAt >= since);
  const problems: string[] = [];
  const last: PolicyStatus | undefined = mine.at(-1)?.status;
  const revisions = new Set(mine.map((e) => e.status.release?.current?.revision).filter((r) => r !== undefined));
  const revision = [...revisions].at(-1);
  const inRelease = mine.filter((e) => e.status.release?.current?.revision === revision);
  // Step indices as written, in order; and the start of each step's hold.
  const steps: number[] = [];
  const starts = new Map<number, Set<string>>();
  for (const e of inRelease) {
    const c = e.status.release?.current;
    if (!c) continue;
    if (steps.at(-1) !== c.stepIndex) steps.push(c.stepIndex);
    if (c.stepStartedAt) {
      const set = starts.get(c.stepIndex) ?? new Set<string>();
      starts.set(c.stepIndex, set);
      set.add(c.stepStartedAt);
    }
  }
  for (let i = 1; i < steps.length; i++) {
    const a = steps[i - 1] as number;
    const b = steps[i] as number;
    if (b < a) problems.push(`step went back from ${a + 1} to ${b + 1}`);
    if (b > a + 1) problems.push(`step skipped: ${a + 1} → ${b + 1}`);
  }
  for (const [step, set] of starts) {
    if (set.size > 1) problems.push(`step ${step + 1} started ${set.size} times (${[...set].join(', ')})`);
  }
  const phase = last?.phase ?? '(no status)';
  if (phase !== expected) problems.push(`ended ${phase}, expected ${expected} (${last?.message ?? ''})`);
  if (expected === 'succeeded') {
    const reached = Math.max(-1, ...steps);
    if (reached < stepCount - 1) problems.push(`promoted after step ${reached + 1} of ${stepCount}`);
  }
  const history = last?.release?.history ?? [];
  const entries = history.filter((h) => h.revision === revision);
  if (revision !== undefined && entries.length !== 1)
    problems.push(`${entries.length} history entries for revision ${revision}`);
  const outcome = entries[0]?.outcome;
  const wantOutcome = expected === 'succeeded' ? 'succeeded' : 'rolledBack';
  if (revision !== undefined && outcome !== wantOutcome)
    problems.push(`history outcome ${outcome}, expected ${wantOutcome}`);
  return { app, revision, expected, phase, steps: steps.map((s) => s + 1), problems };
}

/** Canary Deployments, canary pods, canary Services and Ingresses left in a namespace. */
export async function orphans(cluster: BenchCluster, namespace: string): Promise<string[]> {
  const found: string[] = [];
  const deployments = await cluster.apps.listNamespacedDeployment({ namespace });
  for (const d of deployments.items)
    if (d.metadata?.name?.endsWith('-canary')) found.push(`Deployment/${d.metadata.name}`);
  const pods = await cluster.core.listNamespacedPod({ namespace, labelSelector: 'canaryd.dev/track=canary' });
  for (const p of pods.items) found.push(`Pod/${p.metadata?.name}`);
  const services = await cluster.core.listNamespacedService({ namespace });
  for (const s of services.items) if (s.metadata?.name?.endsWith('-canary')) found.push(`Service/${s.metadata.name}`);
  const ingresses = await cluster.networking.listNamespacedIngress({ namespace });
  for (const i of ingresses.items) if (i.metadata?.name?.endsWith('-canary')) found.push(`Ingress/${i.metadata.name}`);
  return found;
}

/**
 * Waits (up to `timeoutMs`) until no canary object is left: the canary Deployment is deleted
 * dependents first, so it stays, marked deleted, until its pods are gone. Returns what is still
 * there at the deadline and how long the removal took (null: not within the deadline).
 */
export async function canaryRemoved(
  cluster: BenchCluster,
  namespace: string,
  timeoutMs = 30_000,
): Promise<{ left: string[]; tookMs: number | null }> {
  const started = Date.now();
  const gone = await waitFor(async () => (await orphans(cluster, namespace)).length === 0, {
    timeoutMs,
    intervalMs: 250,
    description: 'canary objects removed',
  }).then(
    () => true,
    () => false,
  );
  return gone ? { left: [], tookMs: Date.now() - started } : { left: await orphans(cluster, namespace), tookMs: null };
}

export function verdict(ok: boolean): string {
  return ok ? 'PASS' : 'FAIL';
}
