// The real `kubectl canary` (bin/kubectl-canary.js) as a subprocess, the way an operator or a CI
// job runs it, and operators of their own: ServiceAccounts with the RBAC `edit` gives for
// canaryd (patch on canarypolicies, read Deployments), each with a token kubeconfig.
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { REPO_ROOT } from '../cluster/cluster.ts';
import type { TestEnv } from './env.ts';
import { serviceAccountToken, tokenKubeconfig } from './service.ts';

export const KUBECTL_CANARY = join(REPO_ROOT, 'bin', 'kubectl-canary.js');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A running `kubectl canary …`; `done` resolves when it exits (SIGKILLed after `timeoutMs`). */
export function startKubectlCanary(args: string[], options: { timeoutMs?: number } = {}) {
  // Node 24 runs the TypeScript sources directly (the machine's `node` may be older).
  const child: ChildProcess = spawn(process.execPath, [KUBECTL_CANARY, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
  const done = new Promise<CliRun>((resolve) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
  return { child, done, output: () => ({ stdout, stderr }) };
}

export const kubectlCanary = (...args: string[]): Promise<CliRun> => startKubectlCanary(args).done;

export interface Operator {
  /** The username Kubernetes authenticates: system:serviceaccount:<ns>:<name>. */
  username: string;
  kubeconfig: string;
  kc: k8s.KubeConfig;
  /** `kubectl canary ARGS -n <ns> --kubeconfig <theirs>`. */
  run(...args: string[]): Promise<CliRun>;
  start(args: string[], options?: { timeoutMs?: number }): ReturnType<typeof startKubectlCanary>;
}

/** A ServiceAccount allowed what `kubectl canary` needs to operate releases in the test namespace. */
export async function createOperator(env: TestEnv, name: string): Promise<Operator> {
  const { core, kc, namespace } = env;
  const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
  await rbac.createNamespacedRole({
    namespace,
    body: {
      metadata: { name: `operate-${name}` },
      rules: [
        { apiGroups: ['canaryd.dev'], resources: ['canarypolicies'], verbs: ['get', 'list', 'watch', 'patch'] },
        { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get'] },
      ],
    },
  });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: `operate-${name}` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: `operate-${name}` },
      subjects: [{ kind: 'ServiceAccount', name, namespace }],
    },
  });
  const token = await serviceAccountToken(core, namespace, name, 3600);
  const kubeconfig = tokenKubeconfig(
    env.kubeconfig,
    token,
    join(dirname(env.kubeconfig), `kubeconfig-${namespace}-${name}`),
  );
  const userKc = new k8s.KubeConfig();
  userKc.loadFromFile(kubeconfig);
  const scoped = (args: string[]) => [...args, '-n', namespace, '--kubeconfig', kubeconfig];
  return {
    username: `system:serviceaccount:${namespace}:${name}`,
    kubeconfig,
    kc: userKc,
    run: (...args) => kubectlCanary(...scoped(args)),
    start: (args, options) => startKubectlCanary(scoped(args), options),
  };
}
