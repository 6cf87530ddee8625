// What the demo's acts share: a timestamped line, a new version of an app (as
// `kubectl set image` would write it), and following a release to its end with the share
// measured at each new weight.
import type * as k8s from '@kubernetes/client-node';
import { waitFor } from '../cluster/wait.ts';
import { readPolicy } from '../support/canaryd.ts';
import { operate } from '../support/routers.ts';

export { setVersion } from '../support/traffic.ts';

/**
 * Waits until canaryd has adopted the app: Ready once it has seen the Deployment paused. A new
 * template applied before that is the user's own rollout, which canaryd lets Kubernetes finish
 * and then adopts (docs/engine.md, "Adoption"), so the demo releases only after it.
 */
export async function waitAdopted(kc: k8s.KubeConfig, namespace: string, name: string) {
  return waitFor(
    async () => {
      const status = (await readPolicy(kc, namespace, name))?.status;
      const ready = status?.conditions?.find((c) => c.type === 'Ready');
      return ready?.status === 'True' ? status : undefined;
    },
    { timeoutMs: 90_000, description: `canaryd to adopt ${name} (Ready: the Deployment seen paused)` },
  );
}

const started = Date.now();
export const say = (line: string) =>
  console.log(`[demo +${((Date.now() - started) / 1000).toFixed(0).padStart(3)}s] ${line}`);

/**
 * Prints every change of the policy's status until the release ends. Each step of the demo's
 * policies waits for a person (`pause: true`): at each new weight where the release pauses, the
 * demo measures the canary's share through `measure`, prints it beside the weight canaryd wrote,
 * and resumes. A timed hold could end while a busy machine is still measuring, and the share
 * measured would then span two steps.
 */
export async function followRelease(
  kc: k8s.KubeConfig,
  namespace: string,
  name: string,
  measure: (weight: number) => Promise<string>,
  timeoutMs: number,
): Promise<string> {
  let last = '';
  let measuredWeight: number | undefined;
  return waitFor(
    async () => {
      const status = (await readPolicy(kc, namespace, name))?.status;
      if (!status) return undefined;
      const line = `phase=${status.phase} step=${status.step || '-'} — ${status.message}`;
      if (line !== last) say(`  ${line}`);
      last = line;
      const weight = status.weight ?? 0;
      if (status.phase === 'paused' && weight > 0 && weight !== measuredWeight) {
        measuredWeight = weight;
        say(`  canaryd weight ${String(weight).padStart(4)} % | ${await measure(weight)}`);
        await operate(kc, namespace, name, 'resume');
      }
      return status.phase === 'succeeded' || status.phase === 'failed' ? status.phase : undefined;
    },
    { timeoutMs, intervalMs: 300, description: `the release of ${namespace}/${name} to end` },
  );
}
