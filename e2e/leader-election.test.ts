// Two canaryd processes with leader election over a real coordination.k8s.io Lease: one reconciles;
// SIGKILL it mid-release and the other takes over once the lease expires and finishes the release
// from the state in the cluster, without repeating or skipping a step; SIGTERM gives the lease up
// at once, so the other need not wait for it to expire.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './cluster/wait.ts';
import { adopted, type CanarydProcess, createPolicy, installCrd, readPolicy, startCanaryd } from './support/canaryd.ts';
import { demoDeployment, demoService, useTestEnv } from './support/env.ts';
import { canarydAddress, http } from './support/service.ts';
import { recordWatch, watchStepStarts } from './support/watch-records.ts';

const LEASE = 'canaryd-leader';
const LEASE_SECONDS = 4;

/** Lease times (MicroTime) arrive as strings or Dates depending on the client's model mapping. */
const timeOf = (value: unknown): number => new Date(value as string | Date).getTime();

interface Candidate {
  identity: string;
  process: CanarydProcess;
  address: string;
}

describe('leader election between two canaryd processes', () => {
  const env = useTestEnv('lease');
  const running: CanarydProcess[] = [];
  let coordination: k8s.CoordinationV1Api;

  const start = async (identity: string): Promise<Candidate> => {
    const process = startCanaryd(
      env.kubeconfig,
      [
        '--namespace',
        env.namespace,
        '--leader-elect',
        '--lease-namespace',
        env.namespace,
        '--lease-name',
        LEASE,
        '--lease-duration',
        `${LEASE_SECONDS}s`,
        '--identity',
        identity,
        '--log-level',
        'debug',
      ],
      `canaryd-${identity}`,
    );
    running.push(process);
    return { identity, process, address: await canarydAddress(process) };
  };
  const readLease = () => coordination.readNamespacedLease({ name: LEASE, namespace: env.namespace });
  const becameLeader = (candidate: Candidate) =>
    candidate.process
      .logs()
      .split('\n')
      .filter((line) => line.includes('"became leader"')).length;
  const ready = (candidate: Candidate) =>
    waitFor(async () => (await http(candidate.address, '/readyz')).status === 200, {
      timeoutMs: 30_000,
      description: `${candidate.identity} /readyz 200`,
    });

  beforeAll(async () => {
    coordination = env.kc.makeApiClient(k8s.CoordinationV1Api);
    await installCrd(env.kc);
  });
  afterAll(async () => {
    for (const process of running) await process.stop();
  });

  it('the follower takes over a SIGKILLed leader mid-release and finishes it; SIGTERM hands the lease over at once', async () => {
    const { apps, core, kc, namespace } = env;
    await apps.createNamespacedDeployment({
      namespace,
      body: demoDeployment(namespace, { name: 'web', replicas: 4, version: 'v1' }),
    });
    await core.createNamespacedService({ namespace, body: demoService(namespace, 'web') });
    await waitFor(
      async () => (await apps.readNamespacedDeployment({ name: 'web', namespace })).status?.availableReplicas === 4,
      { timeoutMs: 60_000, description: 'web v1 Available' },
    );

    const candidates = [await start('e2e-a'), await start('e2e-b')];
    const held = await waitFor(
      async () => {
        const lease = await readLease().catch(() => null);
        const holder = lease?.spec?.holderIdentity;
        return holder && candidates.some((c) => c.identity === holder) ? lease : undefined;
      },
      { timeoutMs: 30_000, description: `Lease ${LEASE} held by one of the candidates` },
    );
    expect(held.spec?.leaseDurationSeconds).toBe(LEASE_SECONDS);
    const leader = candidates.find((c) => c.identity === held.spec?.holderIdentity) as Candidate;
    const follower = candidates.find((c) => c !== leader) as Candidate;
    // Both serve and are ready (the follower stands by); only the leader ever led.
    await ready(leader);
    await ready(follower);
    expect((await http(follower.address, '/readyz')).json).toMatchObject({
      reason: expect.stringContaining('follower'),
    });
    expect(becameLeader(leader)).toBe(1);
    expect(becameLeader(follower)).toBe(0);

    await createPolicy(kc, namespace, {
      apiVersion: 'canaryd.dev/v1alpha1',
      kind: 'CanaryPolicy',
      metadata: { name: 'web', namespace },
      spec: {
        target: { deployment: 'web', service: 'web', router: 'replica-ratio' },
        strategy: {
          steps: [
            { weight: 20, hold: '4s' },
            { weight: 33, hold: '4s' },
            { weight: 50, hold: '4s' },
          ],
          allowLargeFirstStep: true,
        },
        timeouts: { canaryReady: '60s', promotion: '90s' },
      },
    });
    await waitFor(async () => adopted((await readPolicy(kc, namespace, 'web'))?.status), {
      timeoutMs: 30_000,
      description: 'policy adopted by the leader (Ready)',
    });

    // Watch the release from outside while it runs: every step start seen, every canary uid seen.
    const watcher = watchStepStarts(kc, namespace, 'web');
    const canaries = recordWatch<k8s.V1Deployment>(
      kc,
      `/apis/apps/v1/namespaces/${namespace}/deployments?fieldSelector=metadata.name%3Dweb-canary`,
      () => apps.listNamespacedDeployment({ namespace, fieldSelector: 'metadata.name=web-canary' }),
    );
    await Promise.all([watcher.ready, canaries.ready]);
    const steps = watcher.starts;

    await apps.patchNamespacedDeployment(
      {
        name: 'web',
        namespace,
        body: {
          spec: {
            template: {
              spec: {
                containers: [{ name: 'app', image: 'canaryd-demo:v2', env: [{ name: 'VERSION', value: 'v2' }] }],
              },
            },
          },
        },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
    );
    // Mid-release: the second step has begun.
    await waitFor(async () => steps.some((s) => s.stepIndex === 1), {
      timeoutMs: 60_000,
      intervalMs: 50,
      description: 'the release at its second step',
    });
    const beforeKill = await readLease();
    const lastRenew = timeOf(beforeKill.spec?.renewTime);
    const killedAt = Date.now();
    await leader.process.kill();

    const taken = await waitFor(
      async () => {
        const lease = await readLease();
        return lease.spec?.holderIdentity === follower.identity ? lease : undefined;
      },
      {
        timeoutMs: (LEASE_SECONDS + 10) * 1000,
        intervalMs: 100,
        description: `${follower.identity} to take the lease`,
      },
    );
    const tookMs = Date.now() - killedAt;
    // Not before the lease expired (never two leaders), and within the lease duration plus a
    // renewal period and some margin for a loaded machine.
    expect(timeOf(taken.spec?.acquireTime)).toBeGreaterThan(lastRenew + LEASE_SECONDS * 1000);
    expect(tookMs).toBeLessThan((LEASE_SECONDS + 3) * 1000);
    expect(taken.spec?.leaseTransitions).toBe((beforeKill.spec?.leaseTransitions ?? 0) + 1);
    expect(becameLeader(follower)).toBe(1);
    await ready(follower);

    await waitFor(async () => (await readPolicy(kc, namespace, 'web'))?.status?.phase === 'succeeded', {
      timeoutMs: 120_000,
      intervalMs: 500,
      description: 'the release to be promoted by the new leader',
    });
    await watcher.stop();
    canaries.stop();

    // Each step started exactly once, in order: none repeated (a restarted step would have a new
    // start time), none skipped; one canary Deployment for the whole release.
    expect(watcher.errors).toEqual([]);
    expect(canaries.errors).toEqual([]);
    expect(steps.map((s) => s.stepIndex)).toEqual([0, 1, 2]);
    const canaryUids = new Set(
      [...canaries.initial(), ...canaries.events.map((e) => e.object)].map((d) => d.metadata?.uid),
    );
    expect(canaryUids.size).toBe(1);
    const policy = await readPolicy(kc, namespace, 'web');
    const history = policy?.status?.release?.history ?? [];
    expect(history.filter((h) => h.outcome !== 'adopted')).toEqual([
      expect.objectContaining({ outcome: 'succeeded', changeCause: expect.stringContaining('canaryd-demo:v2') }),
    ]);
    const deployment = await apps.readNamespacedDeployment({ name: 'web', namespace });
    expect(deployment.spec?.template.spec?.containers[0]?.image).toBe('canaryd-demo:v2');
    expect(deployment.spec?.paused).toBe(true);
    const started = (await core.listNamespacedEvent({ namespace })).items.filter(
      (e) => e.reason === 'ReleaseStarted' && e.involvedObject.kind === 'CanaryPolicy',
    );
    expect(started).toHaveLength(1);

    // SIGTERM: the leader gives the lease up before it exits; a new candidate takes it at once,
    // long before the old holder's last renewal would have expired.
    const successor = await start('e2e-c');
    await ready(successor);
    // SIGTERM right after a renewal, so that renewal is the one the lease would expire from.
    const renewed = (lease: k8s.V1Lease) => timeOf(lease.spec?.renewTime);
    const seenRenew = renewed(await readLease());
    const lastRenew2 = await waitFor(
      async () => {
        const lease = await readLease();
        return lease.spec?.holderIdentity === follower.identity && renewed(lease) > seenRenew
          ? renewed(lease)
          : undefined;
      },
      { timeoutMs: LEASE_SECONDS * 1000, intervalMs: 50, description: `${follower.identity} to renew the lease` },
    );
    const exit = new Promise<number | null>((resolve) => follower.process.child.once('exit', (code) => resolve(code)));
    follower.process.child.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(follower.process.logs()).toContain('"shutting down"');
    // Gone from the lease the moment it exits: cleared, or already taken by the successor.
    const afterExit = await readLease();
    expect([undefined, null, '', successor.identity]).toContain(afterExit.spec?.holderIdentity);
    const handedOver = await waitFor(
      async () => {
        const lease = await readLease();
        return lease.spec?.holderIdentity === successor.identity ? lease : undefined;
      },
      {
        timeoutMs: (LEASE_SECONDS + 10) * 1000,
        intervalMs: 50,
        description: `${successor.identity} to take the lease`,
      },
    );
    expect(timeOf(handedOver.spec?.acquireTime)).toBeLessThan(lastRenew2 + LEASE_SECONDS * 1000);
    expect(handedOver.spec?.leaseTransitions).toBe((taken.spec?.leaseTransitions ?? 0) + 1);
    await ready(successor);
  });
});
