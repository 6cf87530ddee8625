// What a release shows, one look at a time (polling): the policy's persisted status, read or
// waited for; a condition that must stay true for a while, checked on every look; and the
// Deployment once a release has ended (settled at an image, the canary gone), with what a
// Deployment says about itself (its image, the weight canaryd recorded on it).
import type * as k8s from '@kubernetes/client-node';
import type { ReleaseState } from '../../src/engine/types.ts';
import { WaitAborted, waitFor } from '../cluster/wait.ts';
import { readPolicy } from './canaryd.ts';
import type { TestEnv } from './env.ts';
import { APP, CANARY } from './managed-app.ts';

const INTENDED_WEIGHT = 'canaryd.dev/weight';

export interface PolicyView {
  metadata: k8s.V1ObjectMeta;
  status?: { phase?: string; weight?: number; step?: string; message?: string; release?: ReleaseState };
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

export const imageOf = (d: k8s.V1Deployment | undefined): string | undefined =>
  d?.spec?.template.spec?.containers[0]?.image;
/** The weight canaryd recorded on a canary Deployment (a label; an annotation on canaries made before). */
export const intendedWeightOf = (d: k8s.V1Deployment): string | undefined =>
  d.metadata?.labels?.[INTENDED_WEIGHT] ?? d.metadata?.annotations?.[INTENDED_WEIGHT];

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
