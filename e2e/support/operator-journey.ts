// The operator-journey suite's shared fixtures (issue 12; the checklist of what each journey shows
// is e2e/README.md). A journey reads Given / When / Then:
//   Given a managed app with a policy, canaryd and an operator (their own kubeconfig, RBAC as
//     `edit` grants it) — givenManagedApp;
//   When a person runs plain `kubectl` or `kubectl canary` (real binaries, as subprocesses) —
//     kubectl, world.operator.run, whenStepHolds;
//   Then what that person would notice — thenEvent (Events on the Deployment or the policy),
//     thenStatusShowsMeasuredShare (`kubectl canary status` against the ready pods), the
//     Deployment's state, the exit codes. Journeys measured through Traefik use
//     support/operator-traffic.ts instead of givenManagedApp.
import { execFile } from 'node:child_process';
import type * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll } from 'vitest';
import { canonicalJson } from '../../src/kube/canonical-json.ts';
import { waitFor } from '../cluster/wait.ts';
import { type CanarydProcess, installCrd, startCanaryd } from './canaryd.ts';
import { createOperator, type Operator } from './cli.ts';
import { type TestEnv, useTestEnv } from './env.ts';
import { APP, CANARY, deployManaged, type StepSpec } from './managed-app.ts';
import { waitForPolicy } from './release-status.ts';
import { canarydAddress } from './service.ts';

/** How long canaryd may take to listen (it loads its TypeScript sources; minutes on a loaded machine). */
export const CANARYD_START_MS = 180_000;

export interface OperatorWorld {
  env: TestEnv;
  /** alice: a ServiceAccount allowed to operate releases in the namespace (support/cli.ts). */
  operator: Operator;
  canaryd: CanarydProcess | undefined;
}

/**
 * Given `web` (`replicas` pods of v1) behind a Service, adopted by a replica-ratio policy with
 * `steps`, canaryd running for the namespace, and operator alice. Call inside a describe; the
 * world is filled in before its tests run.
 */
export function givenManagedApp(
  prefix: string,
  options: { steps: StepSpec[]; replicas?: number; canarydArgs?: string[] },
): OperatorWorld {
  const env = useTestEnv(prefix);
  const world: OperatorWorld = { env, operator: undefined as unknown as Operator, canaryd: undefined };
  beforeAll(async () => {
    await installCrd(env.kc);
    world.canaryd = startCanaryd(
      env.kubeconfig,
      ['--namespace', env.namespace, ...(options.canarydArgs ?? [])],
      `canaryd-${prefix}`,
    );
    // Given canaryd *running*: on a loaded machine it took 35 s to start, longer than the
    // adoption wait below.
    await canarydAddress(world.canaryd, CANARYD_START_MS);
    world.operator = await createOperator(env, 'alice');
    await deployManaged(env, { replicas: options.replicas ?? 4, steps: options.steps });
  });
  afterAll(async () => {
    await world.canaryd?.stop();
  });
  return world;
}

/** When a release runs: wait until step `step` (1-based) holds its weight. */
export async function whenStepHolds(env: TestEnv, step: number, timeoutMs = 90_000): Promise<void> {
  await waitForPolicy(
    env,
    `step ${step} started`,
    (s) => s.phase === 'progressing' && s.release?.current?.stepIndex === step - 1 && !!s.release.current.stepStartedAt,
    timeoutMs,
  );
}

/** Then canaryd recorded an Event `reason` on `kind`/`name` (passing `test`): the newest such. */
export function thenEvent(
  env: TestEnv,
  about: { kind: string; name: string; reason: string },
  test: (event: k8s.CoreV1Event) => boolean = () => true,
  timeoutMs = 15_000,
): Promise<k8s.CoreV1Event> {
  return waitFor(async () => (await canarydEvents(env, about.kind, about.name, about.reason)).filter(test).at(-1), {
    timeoutMs,
    intervalMs: 200,
    description: `a ${about.reason} Event on ${about.kind} ${about.name}`,
  });
}

/**
 * Then `kubectl canary status` (run by the operator) shows the share a person would count from
 * the ready pods (measuredShare), with no pod change while it looked; returns the screen.
 */
export function thenStatusShowsMeasuredShare(world: OperatorWorld): Promise<string> {
  const { env, operator } = world;
  return waitFor(
    async () => {
      const before = await measuredShare(env);
      const status = await operator.run('status', APP);
      const after = await measuredShare(env);
      if (status.code !== 0 || before.share !== after.share) return undefined;
      const shown = /Weight: +([\d.]+)% of traffic to the canary/.exec(status.stdout)?.[1];
      return shown !== undefined && Number(shown) === after.share ? status.stdout : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 500, description: '`kubectl canary status` showing the measured share' },
  );
}

// --- An operator's hands: plain `kubectl` as a subprocess, and what they can count themselves ---

export const KUBECTL = '/usr/bin/kubectl';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(command, args, { env, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** `kubectl ARGS -n <test namespace>` as a person types it, against the test cluster. */
export function kubectl(env: TestEnv, ...args: string[]): Promise<CommandResult> {
  return run(KUBECTL, [...args, '-n', env.namespace, '--kubeconfig', env.kubeconfig], process.env);
}

/** The Events canaryd recorded about `kind`/`name` with `reason`, oldest first. */
export async function canarydEvents(env: TestEnv, kind: string, name: string, reason: string) {
  const events = await env.core.listNamespacedEvent({ namespace: env.namespace });
  return events.items
    .filter(
      (e) =>
        e.source?.component === 'canaryd' &&
        e.reason === reason &&
        e.involvedObject.kind === kind &&
        e.involvedObject.name === name,
    )
    .sort((a, b) => String(a.firstTimestamp).localeCompare(String(b.firstTimestamp)));
}

/**
 * The canary's share as a person would count it: ready pods behind the Service that run the
 * canary template (the canary Deployment's, or the stable Deployment's ReplicaSets of that
 * template after an unpause) over all ready pods behind it, in percent, two decimals.
 */
export async function measuredShare(env: TestEnv): Promise<{ share: number; canaryPods: number; readyPods: number }> {
  const { apps, core, namespace } = env;
  const canary = await apps.readNamespacedDeployment({ name: CANARY, namespace }).catch(() => null);
  const sets = await apps.listNamespacedReplicaSet({ namespace, labelSelector: `app=${APP}` });
  const withoutLabel = (template: k8s.V1PodTemplateSpec | undefined, key: string) => {
    const copy = structuredClone(template ?? {});
    if (copy.metadata?.labels) delete copy.metadata.labels[key];
    return canonicalJson(copy);
  };
  const canaryTemplate = canary ? withoutLabel(canary.spec?.template, 'canaryd.dev/track') : undefined;
  const strayHashes = new Set(
    sets.items
      .filter(
        (rs) =>
          rs.metadata?.ownerReferences?.some((o) => o.kind === 'Deployment' && o.name === APP) &&
          canaryTemplate !== undefined &&
          withoutLabel(rs.spec?.template, 'pod-template-hash') === canaryTemplate,
      )
      .map((rs) => rs.metadata?.labels?.['pod-template-hash']),
  );
  const pods = await core.listNamespacedPod({ namespace, labelSelector: `app=${APP}` });
  const ready = pods.items.filter(
    (p) =>
      p.metadata?.deletionTimestamp === undefined &&
      p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
  );
  const canaryPods = ready.filter(
    (p) =>
      p.metadata?.labels?.['canaryd.dev/track'] === 'canary' ||
      strayHashes.has(p.metadata?.labels?.['pod-template-hash']),
  ).length;
  const share = ready.length === 0 ? 0 : Math.round((canaryPods * 10_000) / ready.length) / 100;
  return { share, canaryPods, readyPods: ready.length };
}
