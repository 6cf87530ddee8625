// Two shards splitting the policies (docs/scale.md, "Beyond one replica"): canaryd started with
// --shard a reconciles only the CanaryPolicies labelled canaryd.dev/shard=a, elects its leader on
// its own Lease, and a policy relabelled mid-release is finished by the shard it moved to, from
// the state in the cluster, without its step being started again.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './cluster/wait.ts';
import { adopted, type CanarydProcess, createPolicy, installCrd, readPolicy, startCanaryd } from './support/canaryd.ts';
import { demoDeployment, demoService, useTestEnv } from './support/env.ts';
import { canarydAddress, http } from './support/service.ts';
import { setVersion } from './support/traffic.ts';
import { watchStepStarts } from './support/watch-records.ts';

const SHARD_LABEL = 'canaryd.dev/shard';

interface Shard {
  name: string;
  process: CanarydProcess;
  address: string;
}

/** The value of one sample of canaryd's /metrics, or undefined when the series is not there. */
const sample = (text: string, metric: string, labels: Record<string, string>): number | undefined => {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`${metric}{`) && wanted.every((w) => l.slice(0, l.indexOf('}')).includes(w)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
};

describe('two shards of canaryd', () => {
  const env = useTestEnv('shard');
  const running: CanarydProcess[] = [];
  let coordination: k8s.CoordinationV1Api;
  let custom: k8s.CustomObjectsApi;

  const start = async (shard: string): Promise<Shard> => {
    const process = startCanaryd(
      env.kubeconfig,
      [
        '--namespace',
        env.namespace,
        '--shard',
        shard,
        '--leader-elect',
        '--lease-namespace',
        env.namespace,
        '--lease-duration',
        '4s',
        '--identity',
        `canaryd-${shard}`,
      ],
      `canaryd-shard-${shard}`,
    );
    running.push(process);
    return { name: shard, process, address: await canarydAddress(process) };
  };
  const metrics = async (shard: Shard) => (await http(shard.address, '/metrics')).text;
  const cachedPolicies = async (shard: Shard) =>
    sample(await metrics(shard), 'canaryd_cached_objects', { kind: 'CanaryPolicy' });
  const succeeded = async (shard: Shard, policy: string) =>
    sample(await metrics(shard), 'canaryd_releases_succeeded_total', { namespace: env.namespace, policy });
  const setImage = (name: string, version: string) => setVersion(env.apps, env.namespace, name, version, 0);
  const phaseOf = async (name: string) => (await readPolicy(env.kc, env.namespace, name))?.status?.phase;

  beforeAll(async () => {
    coordination = env.kc.makeApiClient(k8s.CoordinationV1Api);
    custom = env.kc.makeApiClient(k8s.CustomObjectsApi);
    await installCrd(env.kc);
  });
  afterAll(async () => {
    for (const process of running) await process.stop();
  });

  it('each shard leads on its own Lease and releases only its policies; a relabelled policy is finished by its new shard', async () => {
    const { apps, core, kc, namespace } = env;
    for (const app of ['web-a', 'web-b']) {
      await apps.createNamespacedDeployment({
        namespace,
        body: demoDeployment(namespace, { name: app, replicas: 2, version: 'v1' }),
      });
      await core.createNamespacedService({ namespace, body: demoService(namespace, app) });
    }
    const [a, b] = [await start('a'), await start('b')] as [Shard, Shard];
    const policy = (app: string, shard: string) => ({
      apiVersion: 'canaryd.dev/v1alpha1',
      kind: 'CanaryPolicy',
      metadata: { name: app, namespace, labels: { [SHARD_LABEL]: shard } },
      spec: {
        target: { deployment: app, service: app, router: 'replica-ratio' },
        strategy: {
          steps: [
            { weight: 33, hold: '5s' },
            { weight: 50, hold: '3s' },
          ],
          allowLargeFirstStep: true,
        },
        timeouts: { canaryReady: '60s', promotion: '90s' },
      },
    });
    await createPolicy(kc, namespace, policy('web-a', 'a'));
    await createPolicy(kc, namespace, policy('web-b', 'b'));
    for (const app of ['web-a', 'web-b']) {
      await waitFor(async () => adopted((await readPolicy(env.kc, env.namespace, app))?.status), {
        timeoutMs: 60_000,
        description: `${app} adopted (Ready)`,
      });
    }

    // One Lease per shard, each held by its own replica; the unsharded Lease is not used.
    for (const shard of [a, b]) {
      const lease = await coordination.readNamespacedLease({ name: `canaryd-leader-${shard.name}`, namespace });
      expect(lease.spec?.holderIdentity).toBe(`canaryd-${shard.name}`);
    }
    await expect(coordination.readNamespacedLease({ name: 'canaryd-leader', namespace })).rejects.toThrow();
    // Each replica holds only its own shard's policy.
    expect(await cachedPolicies(a)).toBe(1);
    expect(await cachedPolicies(b)).toBe(1);

    // Both release at once, each by its own shard.
    await setImage('web-a', 'v2');
    await setImage('web-b', 'v2');
    for (const app of ['web-a', 'web-b']) {
      await waitFor(async () => (await phaseOf(app)) === 'succeeded', {
        timeoutMs: 120_000,
        intervalMs: 500,
        description: `${app} v2 released`,
      });
    }
    expect(await succeeded(a, 'web-a')).toBe(1);
    expect(await succeeded(a, 'web-b')).toBeUndefined();
    expect(await succeeded(b, 'web-b')).toBe(1);
    expect(await succeeded(b, 'web-a')).toBeUndefined();

    // web-a moves from shard a to shard b in the middle of its next release. Every step start
    // is watched from outside: a step started again would show a new start time.
    const watcher = watchStepStarts(kc, namespace, 'web-a');
    await watcher.ready;
    await setImage('web-a', 'v3');
    const first = await waitFor(
      async () => {
        const current = (await readPolicy(kc, namespace, 'web-a'))?.status?.release?.current;
        return current?.stepIndex === 0 && current.stepStartedAt ? current : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 100, description: 'web-a v3 at its first step' },
    );
    await custom.patchNamespacedCustomObject(
      {
        group: 'canaryd.dev',
        version: 'v1alpha1',
        namespace,
        plural: 'canarypolicies',
        name: 'web-a',
        body: { metadata: { labels: { [SHARD_LABEL]: 'b' } } },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    // Shard a lets go of it (its watch no longer selects it, its metrics forget it); b holds both.
    await waitFor(async () => (await cachedPolicies(a)) === 0 && (await cachedPolicies(b)) === 2, {
      timeoutMs: 30_000,
      description: 'web-a cached by shard b only',
    });
    await waitFor(async () => (await phaseOf('web-a')) === 'succeeded', {
      timeoutMs: 120_000,
      intervalMs: 500,
      description: 'web-a v3 released by shard b',
    });
    const starts = await watcher.stop();
    expect(watcher.errors).toEqual([]);
    // Step 0 (started under shard a) was not started again by b; step 1 started once, under b.
    expect(starts.map((s) => s.stepIndex)).toEqual([0, 1]);
    expect(starts[0]?.stepStartedAt).toBe(first.stepStartedAt);
    expect(await succeeded(b, 'web-a')).toBe(1);
    expect(await succeeded(a, 'web-a')).toBeUndefined();
    const history = (await readPolicy(kc, namespace, 'web-a'))?.status?.release?.history ?? [];
    expect(history.filter((h) => h.outcome !== 'adopted').map((h) => h.outcome)).toEqual(['succeeded', 'succeeded']);
    const deployment = await apps.readNamespacedDeployment({ name: 'web-a', namespace });
    expect(deployment.spec?.template.spec?.containers[0]?.image).toBe('canaryd-demo:v3');
    await waitFor(
      async () => (await apps.readNamespacedDeployment({ name: 'web-a-canary', namespace }).catch(() => null)) === null,
      { timeoutMs: 60_000, description: 'web-a-canary removed' },
    );
  });
});
