// Records of an analysis e2e release: paced background traffic to the demo app, the moments the
// canary's weight went to zero (by watch), and every status canaryd wrote.
import * as k8s from '@kubernetes/client-node';
import { type LoadReport, sendLoad } from '../cluster/loadgen.ts';
import { APP, CANARY, type FullPolicy } from './analysis.ts';
import type { TestEnv } from './env.ts';

export interface BackgroundLoad {
  /** Stops after the batch in flight; returns the totals. */
  stop(): Promise<LoadReport & { batches: number }>;
}

/**
 * Paced traffic to the Service until stopped: batches of `batch` requests (at most `concurrency`
 * in flight), one batch per `everyMs`, so the two shared cores are not saturated (~batch/everyMs
 * requests per ms), and a hard cap on the total.
 */
export function backgroundLoad(
  env: TestEnv,
  options: { batch?: number; everyMs?: number; concurrency?: number; maxRequests?: number } = {},
): BackgroundLoad {
  const batch = options.batch ?? 30;
  const everyMs = options.everyMs ?? 1000;
  const maxRequests = options.maxRequests ?? 20_000;
  const total: LoadReport & { batches: number } = {
    sent: 0,
    byCode: {},
    byVersion: {},
    byPod: {},
    failures: 0,
    durationMs: 0,
    batches: 0,
  };
  let running = true;
  let wake: (() => void) | undefined;
  const started = Date.now();
  const loop = (async () => {
    while (running && total.sent < maxRequests) {
      const batchStarted = Date.now();
      const report = await sendLoad(env.kc, {
        namespace: env.namespace,
        service: APP,
        requests: batch,
        concurrency: Math.min(options.concurrency ?? 2, 4),
        maxDurationMs: everyMs,
      }).catch(() => null);
      if (report) {
        total.batches++;
        total.sent += report.sent;
        total.failures += report.failures;
        for (const [key, field] of [
          ['byCode', report.byCode],
          ['byVersion', report.byVersion],
          ['byPod', report.byPod],
        ] as const) {
          for (const [k, v] of Object.entries(field)) total[key][k] = (total[key][k] ?? 0) + v;
        }
      }
      // Pacing, not waiting for a condition: the rest of this batch's time slot.
      const rest = everyMs - (Date.now() - batchStarted);
      if (running && rest > 0) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, rest);
        });
      }
    }
  })();
  return {
    async stop() {
      running = false;
      wake?.();
      await loop;
      total.durationMs = Date.now() - started;
      return total;
    },
  };
}

export interface WeightRecorder {
  /** When canaryd set the canary's weight to 0 (replica-ratio: the canary Deployment scaled to 0, or gone). */
  zeroAt(): number | undefined;
  /** When the policy's status.weight (the share actually achieved) first read 0 after being above 0. */
  statusZeroAt(): number | undefined;
  stop(): void;
}

/** Watches the canary Deployment and the policy, recording the moment each shows weight 0 (ms since epoch). */
export async function recordWeightZero(env: TestEnv): Promise<WeightRecorder> {
  const watch = new k8s.Watch(env.kc);
  let zeroAt: number | undefined;
  let statusZeroAt: number | undefined;
  let canarySeen = false;
  let weightSeen = false;
  const ignore = () => {
    // A watch that ends early only leaves a moment unrecorded; the test's assertions say so.
  };
  const deployments = await watch.watch(
    `/apis/apps/v1/namespaces/${env.namespace}/deployments`,
    { fieldSelector: `metadata.name=${CANARY}` },
    (phase: string, object: k8s.V1Deployment) => {
      const now = Date.now();
      if (phase === 'DELETED') {
        if (canarySeen) zeroAt ??= now;
        return;
      }
      if ((object.spec?.replicas ?? 1) > 0) canarySeen = true;
      else if (canarySeen) zeroAt ??= now;
    },
    ignore,
  );
  const policies = await watch.watch(
    `/apis/canaryd.dev/v1alpha1/namespaces/${env.namespace}/canarypolicies`,
    { fieldSelector: `metadata.name=${APP}` },
    (_phase: string, object: FullPolicy) => {
      const weight = object.status?.weight ?? 0;
      if (weight > 0) weightSeen = true;
      else if (weightSeen) statusZeroAt ??= Date.now();
    },
    ignore,
  );
  return {
    zeroAt: () => zeroAt,
    statusZeroAt: () => statusZeroAt,
    stop() {
      deployments.abort();
      policies.abort();
    },
  };
}

export interface StatusSample {
  seenAt: number;
  phase: string;
  step: string;
  weight: number;
  message: string;
  lastRound: { at: string; verdict: string } | null;
}

/** Every status of the policy as written (a watch sees each write), for assertions over the whole release. */
export async function recordStatuses(env: TestEnv): Promise<{ samples: StatusSample[]; stop(): void }> {
  const samples: StatusSample[] = [];
  const controller = await new k8s.Watch(env.kc).watch(
    `/apis/canaryd.dev/v1alpha1/namespaces/${env.namespace}/canarypolicies`,
    { fieldSelector: `metadata.name=${APP}` },
    (_phase: string, object: FullPolicy) => {
      const s = object.status;
      if (!s) return;
      samples.push({
        seenAt: Date.now(),
        phase: s.phase ?? '',
        step: s.step ?? '',
        weight: s.weight ?? 0,
        message: s.message ?? '',
        lastRound: s.analysis?.counters.lastRound ?? null,
      });
    },
    () => {
      // The watch ended (test over, or the apiserver closed it): what was seen is kept.
    },
  );
  return { samples, stop: () => controller.abort() };
}
