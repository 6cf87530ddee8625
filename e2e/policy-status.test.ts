// A policy the CRD schema accepts but canaryd's validator refuses (weights not increasing) is
// reported in its status and the last valid version stays in force; fixing it makes it active.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './cluster/wait.ts';
import { adopted, type CanarydProcess, createPolicy, installCrd, readPolicy, startCanaryd } from './support/canaryd.ts';
import { demoDeployment, demoService, useTestEnv } from './support/env.ts';

const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
const KUBECTL = '/usr/bin/kubectl';

/** `kubectl get canarypolicies` as a person runs it: one row per policy, cells by column name. */
async function kubectlGetPolicies(
  kubeconfig: string,
  namespace: string,
  wide = false,
): Promise<{ text: string; rows: Map<string, Record<string, string>> }> {
  const args = ['get', 'canarypolicies', '-n', namespace, '--kubeconfig', kubeconfig, ...(wide ? ['-o', 'wide'] : [])];
  const { stdout } = await promisify(execFile)(KUBECTL, args, { timeout: 30_000 });
  const [header = '', ...lines] = stdout.trimEnd().split('\n');
  // Columns start where the header's names start; cells may contain single spaces.
  const starts = [...header.matchAll(/\S+/g)].map((match) => ({ name: match[0], at: match.index }));
  const rows = new Map<string, Record<string, string>>();
  for (const line of lines) {
    const cells: Record<string, string> = {};
    starts.forEach((column, index) => {
      cells[column.name] = line.slice(column.at, starts[index + 1]?.at ?? line.length).trim();
    });
    rows.set(cells.NAME ?? '', cells);
  }
  return { text: stdout, rows };
}

describe('invalid policy in the cluster', () => {
  const env = useTestEnv('pstatus');
  let canaryd: CanarydProcess;
  beforeAll(async () => {
    await installCrd(env.kc);
    canaryd = startCanaryd(env.kubeconfig, ['--namespace', env.namespace]);
  });
  afterAll(async () => {
    await canaryd?.stop();
  });

  it('reports the error in status.conditions, keeps the last valid spec, and activates the fix', async () => {
    const { apps, core, kc, namespace } = env;
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    await apps.createNamespacedDeployment({
      namespace,
      body: demoDeployment(namespace, { name: 'web', replicas: 2, version: 'v1' }),
    });
    await core.createNamespacedService({ namespace, body: demoService(namespace, 'web') });
    await createPolicy(kc, namespace, {
      apiVersion: 'canaryd.dev/v1alpha1',
      kind: 'CanaryPolicy',
      metadata: { name: 'web', namespace },
      spec: { target: { deployment: 'web', service: 'web', router: 'replica-ratio' } },
    });
    await waitFor(async () => adopted((await readPolicy(kc, namespace, 'web'))?.status), {
      timeoutMs: 30_000,
      description: 'the valid policy active (adopted)',
    });
    const patch = (steps: object[]) =>
      custom.patchNamespacedCustomObject(
        {
          group: 'canaryd.dev',
          version: 'v1alpha1',
          namespace,
          plural: 'canarypolicies',
          name: 'web',
          body: { spec: { strategy: { steps } } },
        },
        mergePatch,
      );
    await patch([{ weight: 5 }, { weight: 2 }]);
    const rejected = await waitFor(
      async () => {
        const policy = await readPolicy(kc, namespace, 'web');
        const valid = policy?.status?.conditions?.find((c) => c.type === 'Valid');
        return valid?.status === 'False' ? { policy, valid } : undefined;
      },
      { timeoutMs: 30_000, description: 'the Valid condition turning False' },
    );
    expect(rejected.valid.reason).toBe('InvalidPolicy');
    expect(rejected.valid.message).toMatch(/spec\.strategy\.steps\[1\]\.weight/);
    expect(rejected.valid.message).toMatch(/last valid version \(generation 1\) stays in force/);
    const status = rejected.policy?.status as {
      activeGeneration?: number;
      activeSpec?: { strategy: { steps: Array<{ weight: number }> } };
    };
    expect(status.activeGeneration).toBe(1);
    expect(status.activeSpec?.strategy.steps.map((s) => s.weight)).toEqual([1, 5, 25, 50]);
    const events = await waitFor(
      async () => {
        const list = await core.listNamespacedEvent({ namespace });
        const found = list.items.filter((e) => e.reason === 'InvalidPolicy');
        return found.length > 0 ? found : undefined;
      },
      { timeoutMs: 15_000, description: 'an InvalidPolicy Event' },
    );
    expect(events[0]?.involvedObject.kind).toBe('CanaryPolicy');
    // Visible where people look first: the VALID column says False while the last valid spec
    // keeps the release phase.
    const listed = await kubectlGetPolicies(env.kubeconfig, namespace);
    expect(listed.rows.get('web'), listed.text).toMatchObject({ DEPLOYMENT: 'web', PHASE: 'idle', VALID: 'False' });

    await patch([{ weight: 2 }, { weight: 5 }]);
    const fixed = await waitFor(
      async () => {
        const policy = await readPolicy(kc, namespace, 'web');
        return policy?.status?.conditions?.find((c) => c.type === 'Valid')?.status === 'True' ? policy : undefined;
      },
      { timeoutMs: 30_000, description: 'the fixed policy active again' },
    );
    const active = fixed.status as {
      activeGeneration?: number;
      activeSpec?: { strategy: { steps: Array<{ weight: number }> } };
    };
    expect(active.activeGeneration).toBe(3);
    expect(active.activeSpec?.strategy.steps.map((s) => s.weight)).toEqual([2, 5]);
    const relisted = await kubectlGetPolicies(env.kubeconfig, namespace);
    expect(relisted.rows.get('web'), relisted.text).toMatchObject({ VALID: 'True' });
  });

  it('shows a policy that was never valid as phase invalid, VALID False, and why in -o wide', async () => {
    const { kc, namespace } = env;
    await createPolicy(kc, namespace, {
      apiVersion: 'canaryd.dev/v1alpha1',
      kind: 'CanaryPolicy',
      metadata: { name: 'never-valid', namespace },
      spec: {
        target: { deployment: 'api', service: 'api', router: 'replica-ratio' },
        strategy: { steps: [{ weight: 5 }, { weight: 2 }] },
      },
    });
    const listed = await waitFor(
      async () => {
        const found = await kubectlGetPolicies(env.kubeconfig, namespace, true);
        return found.rows.get('never-valid')?.VALID === 'False' ? found : undefined;
      },
      { timeoutMs: 30_000, description: 'kubectl get showing never-valid as not valid' },
    );
    expect(listed.rows.get('never-valid'), listed.text).toMatchObject({ DEPLOYMENT: 'api', PHASE: 'invalid' });
    expect(listed.rows.get('never-valid')?.MESSAGE, listed.text).toMatch(
      /^invalid policy: CanaryPolicy .*\/never-valid: spec\.strategy\.steps\[1\]\.weight: expected a weight above 5/,
    );
  });

  it('refuses a second policy for a Deployment another one manages, says so, and lets it take over later', async () => {
    const { apps, core, kc, namespace } = env;
    await apps.createNamespacedDeployment({
      namespace,
      body: demoDeployment(namespace, { name: 'shop', replicas: 1, version: 'v1' }),
    });
    await core.createNamespacedService({ namespace, body: demoService(namespace, 'shop') });
    const shopPolicy = (name: string) => ({
      apiVersion: 'canaryd.dev/v1alpha1',
      kind: 'CanaryPolicy',
      metadata: { name, namespace },
      spec: { target: { deployment: 'shop', service: 'shop', router: 'replica-ratio' } },
    });
    await createPolicy(kc, namespace, shopPolicy('shop'));
    await waitFor(async () => adopted((await readPolicy(kc, namespace, 'shop'))?.status), {
      timeoutMs: 30_000,
      description: 'policy shop adopted (Ready)',
    });
    await createPolicy(kc, namespace, shopPolicy('shop-copy'));
    const listed = await waitFor(
      async () => {
        const found = await kubectlGetPolicies(env.kubeconfig, namespace, true);
        return /already managed/.test(found.rows.get('shop-copy')?.MESSAGE ?? '') ? found : undefined;
      },
      { timeoutMs: 30_000, description: 'kubectl get showing shop-copy refused' },
    );
    expect(listed.rows.get('shop-copy')?.MESSAGE, listed.text).toContain(
      `Deployment ${namespace}/shop is already managed by CanaryPolicy ${namespace}/shop`,
    );
    const copy = await readPolicy(kc, namespace, 'shop-copy');
    expect(copy?.metadata?.finalizers ?? []).toEqual([]);
    expect(copy?.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'TargetClaimed',
    });
    const events = await waitFor(
      async () => {
        const list = await core.listNamespacedEvent({ namespace });
        const found = list.items.filter((e) => e.reason === 'TargetClaimed');
        return found.length > 0 ? found : undefined;
      },
      { timeoutMs: 15_000, description: 'a TargetClaimed Event' },
    );
    expect(events.map((e) => [e.type, e.involvedObject.name])).toEqual([['Warning', 'shop-copy']]);
    // The first one still manages the Deployment, alone.
    expect((await readPolicy(kc, namespace, 'shop'))?.status?.phase).toBe('idle');

    // Once the first policy is gone, the copy takes over (it looks again every 30 s).
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    await custom.deleteNamespacedCustomObject({
      group: 'canaryd.dev',
      version: 'v1alpha1',
      namespace,
      plural: 'canarypolicies',
      name: 'shop',
    });
    const took = await waitFor(
      async () => {
        const policy = await readPolicy(kc, namespace, 'shop-copy');
        const ready = policy?.status?.conditions?.find((c) => c.type === 'Ready');
        return ready?.status === 'True' ? policy : undefined;
      },
      { timeoutMs: 60_000, description: 'shop-copy managing shop after shop was deleted' },
    );
    expect(took.status?.phase).toBe('idle');
    expect(took.metadata?.finalizers).toEqual(['canaryd.dev/cleanup']);
  });
});
