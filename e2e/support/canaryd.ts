// Runs the real canaryd (node src/main.ts, or the image's JavaScript tree) against the test cluster
// as a child process, with the CRD installed; tests can SIGKILL and restart it like a crashing pod.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { imageNodeFlags } from '../../scripts/strip-types.ts';
import { REPO_ROOT } from '../cluster/cluster.ts';
import { waitFor } from '../cluster/wait.ts';

export { installCrd } from './crd.ts';

export interface CanarydProcess {
  child: ChildProcess;
  logFile: string;
  /** SIGKILL: no cleanup at all, like a node dying. */
  kill(): Promise<void>;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
  logs(): string;
}

let counter = 0;

export interface StartOptions {
  /**
   * Run the tree the image holds (scripts/strip-types.ts buildImageTree, built into this
   * directory) as the image's ENTRYPOINT does, with Node's type stripper off, instead of src/.
   */
  imageTree?: string;
}

export function startCanaryd(
  kubeconfig: string,
  args: string[] = [],
  name = 'canaryd',
  options: StartOptions = {},
): CanarydProcess {
  const logDir = join(REPO_ROOT, '.cluster', 'logs');
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, `${name}-${process.pid}-${++counter}.log`);
  const fd = openSync(logFile, 'a');
  const child = spawn(
    process.execPath,
    [
      ...(options.imageTree === undefined
        ? [join(REPO_ROOT, 'src', 'main.ts')]
        : [...imageNodeFlags(REPO_ROOT), join(options.imageTree, 'src', 'main.js')]),
      '--kubeconfig',
      kubeconfig,
      '--listen',
      '127.0.0.1:0',
      '--resync',
      '1s',
      ...args,
    ],
    {
      stdio: ['ignore', fd, fd],
    },
  );
  closeSync(fd);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    logFile,
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
    logs: () => readFileSync(logFile, 'utf8'),
  };
}

export interface PolicyStatusView {
  phase?: string;
  weight?: number;
  step?: string;
  message?: string;
  router?: string;
  release?: {
    phase: string;
    history: Array<{
      revision: number;
      outcome: string;
      startedAt?: string;
      reason: string;
      changeCause: string;
      operations?: Array<{ op: string; by: string; at: string; result: string }>;
    }>;
    current?: { stepIndex: number; weight: number; stepStartedAt?: string };
  };
  conditions?: Array<{ type: string; status: string; reason: string; message: string }>;
}

/**
 * canaryd has adopted the Deployment: phase idle and Ready, which it says once it has seen the
 * Deployment paused. Phase idle alone is also the moment between the persisted decision and the
 * pause, when a new template is still the user's own rollout (docs/engine.md, "Adoption").
 */
export function adopted(
  status: { phase?: string; conditions?: Array<{ type: string; status: string }> } | undefined,
): boolean {
  return status?.phase === 'idle' && (status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

export async function readPolicy(
  kc: k8s.KubeConfig,
  namespace: string,
  name: string,
): Promise<{ metadata: k8s.V1ObjectMeta; status?: PolicyStatusView } | null> {
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  return (await custom
    .getNamespacedCustomObject({ group: 'canaryd.dev', version: 'v1alpha1', namespace, plural: 'canarypolicies', name })
    .catch(() => null)) as { metadata: k8s.V1ObjectMeta; status?: PolicyStatusView } | null;
}

export async function createPolicy(kc: k8s.KubeConfig, namespace: string, body: object): Promise<void> {
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  await custom.createNamespacedCustomObject({
    group: 'canaryd.dev',
    version: 'v1alpha1',
    namespace,
    plural: 'canarypolicies',
    body,
  });
}

/**
 * `kubectl delete canarypolicy NAME` while no canaryd runs (it hangs on canaryd's finalizer),
 * then the finalizer removed by hand, as an SRE "fixes" such a deletion; resolves once it is gone.
 */
export async function deleteWithoutFinalizer(kc: k8s.KubeConfig, namespace: string, name: string): Promise<void> {
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const target = { group: 'canaryd.dev', version: 'v1alpha1', namespace, plural: 'canarypolicies', name };
  await custom.deleteNamespacedCustomObject(target);
  if ((await readPolicy(kc, namespace, name))?.metadata.deletionTimestamp === undefined) {
    throw new Error(`CanaryPolicy ${namespace}/${name} went without its finalizer: was canaryd running?`);
  }
  await custom.patchNamespacedCustomObject(
    { ...target, body: { metadata: { finalizers: null } } },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  );
  await waitFor(async () => ((await readPolicy(kc, namespace, name)) === null ? true : undefined), {
    timeoutMs: 30_000,
    description: `CanaryPolicy ${namespace}/${name} gone`,
  });
}
