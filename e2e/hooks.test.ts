// Webhooks and approval gates against the real control plane, with real HTTP receivers on
// loopback (node:http): canaryd's own hook client is not mocked. A preRollout "no" keeps the
// canary from any traffic (measured with the load generator, which spreads requests over the
// Service's ready endpoints as kube-proxy does); a confirmStep that says no holds the release until it says yes; a
// hook that hangs is inconclusive (a pause, never a pass); a failing `during` hook rolls back;
// `kubectl canary approve` opens a step's gate only for a user with the verb approve.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HookRequest, hookRequest } from '../src/hooks/request.ts';
import { REPO_ROOT } from './cluster/cluster.ts';
import { type LoadReport, sendLoad } from './cluster/loadgen.ts';
import { waitFor } from './cluster/wait.ts';
import { installActorPolicy } from './support/actor-policy.ts';
import { type CanarydProcess, installCrd, startCanaryd } from './support/canaryd.ts';
import { createOperator } from './support/cli.ts';
import { useTestEnv } from './support/env.ts';
import { APP, CANARY, deployManaged, type StepSpec, setTemplate } from './support/managed-app.ts';
import { readStatus, waitForPolicy } from './support/release-status.ts';
import { binomialInterval, wilsonInterval } from './support/routers.ts';

type Answer = { approved: boolean; message?: string } | 'hang';

/** A hook receiver on loopback: records every request (checked against the documented schema) and answers as told. */
interface Receiver {
  url: string;
  requests: HookRequest[];
  answer: (request: HookRequest) => Answer;
  close(): Promise<void>;
}

async function startReceiver(answer: (request: HookRequest) => Answer): Promise<Receiver> {
  const hanging: ServerResponse[] = [];
  const receiver = { requests: [] as HookRequest[], answer } as Receiver;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on('end', () => {
      const request = hookRequest.parse(JSON.parse(body));
      receiver.requests.push(request);
      const reply = receiver.answer(request);
      if (reply === 'hang') {
        hanging.push(res);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(reply));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  receiver.close = async () => {
    for (const res of hanging) res.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return receiver;
}

const STEPS: StepSpec[] = [
  { weight: 25, hold: '1s' },
  { weight: 50, hold: '1s' },
];

/** A managed app whose policy declares `hooks(receiver.url)`, with canaryd running for its namespace. */
function givenHookedApp(
  prefix: string,
  hooks: (url: string) => Record<string, unknown>,
  options: { steps?: StepSpec[]; analysis?: Record<string, unknown>; answer?: (request: HookRequest) => Answer } = {},
) {
  const env = useTestEnv(prefix);
  const world = { env, receiver: undefined as unknown as Receiver, canaryd: undefined as CanarydProcess | undefined };
  beforeAll(async () => {
    await installCrd(env.kc);
    world.receiver = await startReceiver(options.answer ?? (() => ({ approved: true })));
    const canaryd = startCanaryd(env.kubeconfig, ['--namespace', env.namespace], `canaryd-${prefix}`);
    world.canaryd = canaryd;
    // On a loaded machine starting Node and loading the Kubernetes client takes a while (an
    // adoption wait once ran out here): the policy is created once canaryd watches.
    await waitFor(async () => canaryd.logs().includes('"msg":"caches synced'), {
      timeoutMs: 180_000,
      intervalMs: 500,
      description: `canaryd to start and sync its caches (log: ${canaryd.logFile})`,
    });
    await deployManaged(env, {
      adoptionTimeoutMs: 60_000,
      steps: options.steps ?? STEPS,
      // Without checks, analysis settings are refused unless hooks use them (inconclusive rules; during: interval).
      spec: {
        hooks: hooks(world.receiver.url),
        ...(options.analysis === undefined ? {} : { analysis: options.analysis }),
      },
    });
  });
  afterAll(async () => {
    await world.canaryd?.stop();
    await world.receiver?.close();
  });
  return world;
}

/**
 * Samples the status until `until` holds; returns every weight seen: the share the canary's ready
 * endpoints give it (status.weight) and the weight canaryd asked the route to carry.
 */
async function weightsUntil(
  env: Parameters<typeof waitForPolicy>[0],
  description: string,
  until: Parameters<typeof waitForPolicy>[2],
  timeoutMs = 90_000,
) {
  const seen: number[] = [];
  const final = await waitForPolicy(
    env,
    description,
    (status) => {
      seen.push(status.weight ?? 0, status.release?.current?.weight ?? 0);
      return until(status);
    },
    timeoutMs,
  );
  return { seen, final };
}

describe('Given a preRollout hook that says no (onNo: rollback)', () => {
  const world = givenHookedApp('hook-pre', (url) => ({ preRollout: { url, onNo: 'rollback', timeout: '2s' } }), {
    analysis: { inconclusiveLimit: 0, onInconclusive: 'pause' },
    answer: () => ({ approved: false, message: 'change freeze' }),
  });

  it('When a new template is released, Then it rolls back and the canary never receives traffic', async () => {
    const { env, receiver } = world;
    await setTemplate(env, 'v2');
    const { seen, final } = await weightsUntil(env, 'the release rolled back', (s) => s.phase === 'failed');
    expect(seen.every((weight) => weight === 0)).toBe(true);
    expect(final.release?.history.at(-1)).toMatchObject({
      outcome: 'rolledBack',
      reason: 'hook: preRollout said no: change freeze',
    });
    const pre = receiver.requests.filter((r) => r.hook === 'preRollout');
    expect(pre).toHaveLength(1);
    expect(pre[0]).toMatchObject({
      apiVersion: 'canaryd.dev/hooks/v1',
      policy: { namespace: env.namespace, name: APP },
      release: { revision: 2, weight: 0, nextWeight: 25, step: 0, steps: 2 },
    });
    const full = (await readStatus(env)) as { hooks?: Record<string, unknown> };
    expect(full.hooks?.preRollout).toMatchObject({ result: 'refused', message: 'change freeze', attempts: 1 });
  });
});

/** Load spread over the Service's ready endpoints (as kube-proxy does) in batches, until `done()`. */
async function loadUntil(
  env: Parameters<typeof waitForPolicy>[0],
  description: string,
  done: (sent: LoadReport) => boolean,
) {
  const total: LoadReport = { sent: 0, byCode: {}, byVersion: {}, byPod: {}, failures: 0, durationMs: 0 };
  const add = (into: Record<string, number>, from: Record<string, number>) => {
    for (const [key, n] of Object.entries(from)) into[key] = (into[key] ?? 0) + n;
  };
  await waitFor(
    async () => {
      const batch = await sendLoad(env.kc, {
        namespace: env.namespace,
        service: APP,
        requests: 100,
        concurrency: 4,
        maxDurationMs: 5_000,
        refreshMs: 200,
      });
      total.sent += batch.sent;
      total.failures += batch.failures;
      total.durationMs += batch.durationMs;
      add(total.byCode, batch.byCode);
      add(total.byVersion, batch.byVersion);
      add(total.byPod, batch.byPod);
      return done(total);
    },
    { timeoutMs: 90_000, intervalMs: 0, description },
  );
  return total;
}

describe('Given a preRollout hook that says no, then yes (onNo: block), with traffic through the Service', () => {
  let approve = false;
  const world = givenHookedApp('hook-traffic', (url) => ({ preRollout: { url, interval: '1s' } }), {
    steps: [{ weight: 25, hold: '1h' }],
    analysis: { inconclusiveLimit: 0, onInconclusive: 'pause' },
    answer: () => (approve ? { approved: true } : { approved: false, message: 'change freeze' }),
  });

  it('When a template is released, Then the canary gets no request while preRollout says no, and the share canaryd reports once it says yes', async () => {
    const { env, receiver } = world;
    await setTemplate(env, 'v2');
    // Six "no" answers, a second apart (longer than a canary pod takes to become ready here),
    // and at least 300 requests spread over the Service's ready endpoints meanwhile.
    const refusals = () => receiver.requests.filter((r) => r.hook === 'preRollout').length;
    const held = await loadUntil(env, 'preRollout said no six times', (sent) => refusals() >= 6 && sent.sent >= 300);
    expect(held.failures).toBe(0);
    expect(held.byVersion, `requests by version while preRollout said no`).toEqual({ v1: held.sent });
    const canary = await env.apps.readNamespacedDeployment({ name: CANARY, namespace: env.namespace });
    expect(canary.spec?.replicas).toBe(0);
    const holding = await waitForPolicy(env, 'the status to say preRollout said no', (s) =>
      (s.message ?? '').includes('preRollout said no: change freeze'),
    );
    expect(holding.weight).toBe(0);
    expect(holding.release?.current?.stepStartedAt).toBeUndefined();

    approve = true;
    const started = await waitForPolicy(
      env,
      'step 1 carries its share',
      (s) => s.release?.current?.stepStartedAt !== undefined && (s.weight ?? 0) > 0,
      90_000,
    );
    const reported = started.weight ?? 0;
    expect(reported, '1 canary pod beside 4 stable ones').toBe(20);
    const requests = 2000;
    const report = await sendLoad(env.kc, {
      namespace: env.namespace,
      service: APP,
      requests,
      concurrency: 8,
      maxDurationMs: 90_000,
    });
    expect(report.failures).toBe(0);
    const canaryRequests = report.byVersion.v2 ?? 0;
    expect(canaryRequests + (report.byVersion.v1 ?? 0)).toBe(requests);
    const p = reported / 100;
    const measured = canaryRequests / requests;
    const interval = binomialInterval(p, requests);
    const wilson = wilsonInterval(canaryRequests, requests);
    const why = `measured ${canaryRequests}/${requests} = ${(measured * 100).toFixed(2)} % canary; reported ${reported} %; 99.9 % interval [${(interval.low * 100).toFixed(2)}, ${(interval.high * 100).toFixed(2)}] %`;
    expect(measured >= interval.low && measured <= interval.high, why).toBe(true);
    expect(wilson.low <= p && p <= wilson.high, why).toBe(true);
  });
});

describe('Given a confirmStep hook that says no, then yes (onNo: block)', () => {
  let approve = false;
  const world = givenHookedApp('hook-confirm', (url) => ({ confirmStep: { url, interval: '1s' } }), {
    analysis: { inconclusiveLimit: 0, onInconclusive: 'pause' },
    answer: () => (approve ? { approved: true } : { approved: false, message: 'load test running' }),
  });

  it('When a template is released, Then step 1 holds at weight 0 while it says no, and the release advances once it says yes', async () => {
    const { env, receiver } = world;
    await setTemplate(env, 'v2');
    const { seen } = await weightsUntil(env, 'confirmStep asked at least three times', () => {
      return receiver.requests.filter((r) => r.hook === 'confirmStep').length >= 3;
    });
    expect(seen.every((weight) => weight === 0)).toBe(true);
    // Between two answers the reason may say a call is in flight: wait for one that reports the no.
    const holding = await waitForPolicy(env, 'the status to say confirmStep said no', (s) =>
      (s.message ?? '').includes('confirmStep said no: load test running'),
    );
    expect(holding.phase).toBe('progressing');
    expect(holding.weight).toBe(0);
    expect(holding.release?.current?.stepStartedAt).toBeUndefined();

    approve = true;
    await waitForPolicy(env, 'promoted', (s) => s.phase === 'succeeded', 120_000);
    const steps = new Set(receiver.requests.filter((r) => r.hook === 'confirmStep').map((r) => r.release.nextWeight));
    expect(steps).toEqual(new Set([25, 50]));
  });
});

describe('Given a confirmStep hook that hangs (timeout 1s, inconclusiveLimit 0, onInconclusive pause)', () => {
  const world = givenHookedApp('hook-hang', (url) => ({ confirmStep: { url, timeout: '1s', retries: 1 } }), {
    analysis: { inconclusiveLimit: 0, onInconclusive: 'pause' },
    answer: () => 'hang',
  });

  it('When a template is released, Then the answer is inconclusive and the release pauses at weight 0, never passing', async () => {
    const { env, receiver } = world;
    await setTemplate(env, 'v2');
    const { seen, final } = await weightsUntil(env, 'paused by the hook', (s) => s.phase === 'paused');
    expect(seen.every((weight) => weight === 0)).toBe(true);
    expect(final.release?.current?.pausedBy).toMatchObject({ cause: 'hook' });
    expect(final.release?.current?.stepStartedAt).toBeUndefined();
    const full = (await readStatus(env)) as {
      hooks?: Record<string, { result: string; message: string; attempts: number }>;
    };
    expect(full.hooks?.confirmStep).toMatchObject({ result: 'inconclusive', attempts: 2 });
    expect(full.hooks?.confirmStep?.message).toContain('no answer within the timeout');
    // Two attempts of one call (retries: 1), the same callId.
    expect(receiver.requests.map((r) => r.callId)).toEqual(['2/confirmStep/1/1', '2/confirmStep/1/1']);
  });
});

describe('Given a during hook that fails (onNo: rollback)', () => {
  const world = givenHookedApp('hook-during', (url) => ({ during: { url, onNo: 'rollback' } }), {
    steps: [{ weight: 25, hold: '1h' }],
    analysis: { interval: '2s', inconclusiveLimit: 0, onInconclusive: 'pause' },
    answer: (request) =>
      request.hook === 'during' ? { approved: false, message: 'smoke test: 3 of 10 failed' } : { approved: true },
  });

  it('When the step holds, Then the first during answer rolls the release back', async () => {
    const { env, receiver } = world;
    await setTemplate(env, 'v2');
    const final = await waitForPolicy(env, 'rolled back', (s) => s.phase === 'failed', 90_000);
    expect(final.release?.history.at(-1)).toMatchObject({
      outcome: 'rolledBack',
      reason: 'hook: during said no: smoke test: 3 of 10 failed',
    });
    const during = receiver.requests.filter((r) => r.hook === 'during');
    expect(during.length).toBeGreaterThanOrEqual(1);
    expect(during[0]?.release).toMatchObject({ step: 1, weight: 25, phase: 'progressing' });
  });
});

describe('Given a step with an approval gate and the operation-actor admission policy', () => {
  const world = givenHookedApp('hook-approve', () => ({}), {
    steps: [
      { weight: 25, hold: '1s' },
      { weight: 50, hold: '1s', approval: true },
    ],
  });

  it('When a user without the approve right approves, Then the API server refuses; with it, the step starts and the approver is recorded', async () => {
    const { env } = world;
    await installActorPolicy(env.kc);
    const bob = await createOperator(env, 'bob'); // patch on canarypolicies, no approve
    const carol = await createOperator(env, 'carol');
    const rbac = env.kc.makeApiClient(k8s.RbacAuthorizationV1Api);
    // The ClusterRole exactly as deploy/user-rbac.yaml ships it.
    const shipped = (
      k8s.loadAllYaml(readFileSync(join(REPO_ROOT, 'deploy', 'user-rbac.yaml'), 'utf8')) as k8s.V1ClusterRole[]
    ).find((role) => role.metadata?.name === 'canaryd-approve')!;
    await rbac.createClusterRole({ body: shipped }).catch((error: unknown) => {
      if (!String(error).includes('AlreadyExists') && (error as { code?: number }).code !== 409) throw error;
    });
    await rbac.createNamespacedRoleBinding({
      namespace: env.namespace,
      body: {
        metadata: { name: 'carol-approves' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'canaryd-approve' },
        subjects: [{ kind: 'ServiceAccount', name: 'carol', namespace: env.namespace }],
      },
    });
    await setTemplate(env, 'v2');
    await waitForPolicy(
      env,
      'step 2 waits for approval',
      (s) => s.release?.current?.stepIndex === 1 && (s.message ?? '').includes('kubectl canary approve'),
      90_000,
    );

    const refused = await bob.run('approve', APP);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`cannot approve canarypolicies/${APP}`);
    expect((await readStatus(env))?.release?.current?.stepStartedAt).toBeUndefined();

    const approved = await carol.run('approve', APP);
    expect(approved.stderr).toBe('');
    expect(approved.code).toBe(0);
    expect(approved.stdout).toContain(`approve on CanaryPolicy ${env.namespace}/${APP}: applied`);
    const final = await waitForPolicy(env, 'promoted', (s) => s.phase === 'succeeded', 90_000);
    expect(final.release?.history.at(-1)?.operations).toEqual([
      expect.objectContaining({ op: 'approve', by: carol.username, result: 'applied' }),
    ]);
    const status = await carol.run('history', APP);
    expect(status.stdout).toContain(carol.username);
  });
});
