// Notifications on the real cluster, to real HTTP receivers on loopback (no stand-in for
// canaryd's sender): a healthy release tells a signed webhook, a CloudEvents webhook, Slack and
// Teams what happened, checked against the documented schema; a receiver that answers 5xx gets
// the same notification again (same idempotency key); one that hangs times out and gets it
// later. Then a rollback while every receiver is down or hanging: weight 0 follows the failing
// measurement as fast as without notifications, a Warning Event says the receiver keeps
// failing, and once it is back the rollback notification arrives with the check's value and
// threshold.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { cloudEventSchema, type WebhookBody, webhookBodySchema } from '../src/notify/schema.ts';
import { verifySignature } from '../src/notify/sign.ts';
import { freePort } from './cluster/ports.ts';
import { waitFor } from './cluster/wait.ts';
import {
  createAnalysisPolicy,
  deployStable,
  describeStatus,
  errorRateCheck,
  readFullPolicy,
  releaseV2,
} from './support/analysis.ts';
import { type BackgroundLoad, backgroundLoad, recordWeightZero } from './support/analysis-records.ts';
import { type CanarydProcess, installCrd, startCanaryd } from './support/canaryd.ts';
import { type TestEnv, useTestEnv } from './support/env.ts';
import { bodyOf, type ReceivedRequest, TestReceiver } from './support/receiver.ts';

const SIGNING_KEY = 'e2e-signing-key';

interface Harness {
  canaryd?: CanarydProcess;
  load?: BackgroundLoad;
  receivers: TestReceiver[];
}

/** The Secret with the receivers' URLs and key, the settings file, and canaryd started with it. */
async function startWithReceivers(
  env: TestEnv,
  harness: Harness,
  urls: Record<string, string>,
  receivers: object[],
): Promise<void> {
  await installCrd(env.kc);
  await env.core.createNamespacedSecret({
    namespace: env.namespace,
    body: { metadata: { name: 'notify' }, stringData: { ...urls, 'hook-key': SIGNING_KEY } },
  });
  const dir = mkdtempSync(join(tmpdir(), 'canaryd-notify-'));
  const file = join(dir, 'notifications.yaml');
  writeFileSync(file, stringify({ receivers, defaults: { receivers: [] } }));
  // The outbox in the test's own namespace: tests sharing the cluster never read each other's.
  const canaryd = startCanaryd(env.kubeconfig, [
    '--namespace',
    env.namespace,
    '--notifications',
    file,
    '--notifications-outbox',
    `${env.namespace}/canaryd-notifications`,
  ]);
  harness.canaryd = canaryd;
  // On a loaded machine starting Node and loading the Kubernetes client takes a while; the
  // policy is created once canaryd watches (its adoption wait is meant for canaryd, not for Node).
  await waitFor(async () => canaryd.logs().includes('"msg":"caches synced'), {
    timeoutMs: 180_000,
    intervalMs: 500,
    description: `canaryd to start and sync its caches (log: ${canaryd.logFile})`,
  });
}

const secretRef = (env: TestEnv, key: string) => ({ secretKeyRef: { namespace: env.namespace, name: 'notify', key } });

function useHarness(): Harness {
  const harness: Harness = { receivers: [] };
  afterEach(async () => {
    await harness.load?.stop();
    harness.load = undefined;
  });
  afterAll(async () => {
    await harness.canaryd?.stop();
    await Promise.all(harness.receivers.map((r) => r.stop()));
  });
  return harness;
}

async function waitForEnd(env: TestEnv, expected: 'succeeded' | 'failed') {
  const policy = await waitFor(
    async () => {
      const p = await readFullPolicy(env.kc, env.namespace);
      return p?.status?.phase === 'succeeded' || p?.status?.phase === 'failed' ? p : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 250, description: `the release to end (phase ${expected})` },
  );
  expect(policy.status?.phase, describeStatus(policy)).toBe(expected);
  return policy;
}

/** Bodies a receiver acknowledged (2xx), one per notification id, in order of acknowledgement. */
function acknowledged(requests: readonly ReceivedRequest[]): WebhookBody[] {
  const seen = new Set<string>();
  const out: WebhookBody[] = [];
  for (const request of requests) {
    if (typeof request.answered !== 'number' || request.answered >= 300) continue;
    const body = webhookBodySchema.parse(bodyOf(request));
    if (seen.has(body.id)) continue;
    seen.add(body.id);
    out.push(body);
  }
  return out;
}

/** canaryd's /metrics, at the address it logged. */
async function metricsOf(canaryd: CanarydProcess): Promise<string> {
  const line = canaryd
    .logs()
    .split('\n')
    .find((l) => l.includes('"msg":"listening"'));
  const address = (JSON.parse(line ?? '{}') as { address?: string }).address;
  if (address === undefined) throw new Error('canaryd did not log its address');
  return (await fetch(`${address}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
}

const metric = (text: string, name: string, receiver: string, extra = ''): number => {
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`${name}{`) && l.includes(`receiver="${receiver}"`) && l.includes(extra));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
};

describe('notifications: a healthy release', () => {
  const env = useTestEnv('nt-ok');
  const harness = useHarness();

  it('tells every receiver, in the documented shapes; 5xx and a hanging receiver get it again with the same key', async () => {
    const receiver = await TestReceiver.start();
    harness.receivers.push(receiver);
    // The signed webhook answers 503 to the first delivery of every notification.
    receiver.behave('/hook', (request, earlier) => {
      const id = request.headers['idempotency-key'];
      return earlier.some((r) => r.headers['idempotency-key'] === id) ? 204 : 503;
    });
    // The first request to /slow hangs (no answer at all); later ones are answered.
    receiver.behave('/slow', (_request, earlier) => (earlier.length === 0 ? 'hang' : 200));
    const fast = { initialBackoff: '300ms', maxBackoff: '2s' };
    await startWithReceivers(
      env,
      harness,
      {
        'hook-url': receiver.url('/hook'),
        'ce-url': receiver.url('/ce'),
        'slow-url': receiver.url('/slow'),
        'slack-url': receiver.url('/slack'),
        'teams-url': receiver.url('/teams'),
      },
      [
        {
          name: 'hook',
          type: 'webhook',
          url: secretRef(env, 'hook-url'),
          signingSecret: secretRef(env, 'hook-key'),
          ...fast,
        },
        { name: 'ce', type: 'webhook', url: secretRef(env, 'ce-url'), cloudEvents: true, ...fast },
        { name: 'slow', type: 'webhook', url: secretRef(env, 'slow-url'), timeout: '1s', ...fast },
        { name: 'slack', type: 'slack', url: secretRef(env, 'slack-url'), ...fast },
        { name: 'teams', type: 'teams', url: secretRef(env, 'teams-url'), ...fast },
      ],
    );
    await deployStable(env);
    await createAnalysisPolicy(env, {
      steps: [
        { weight: 25, hold: '5s' },
        { weight: 50, hold: '5s' },
      ],
      checks: [errorRateCheck()],
      // This test is about what is sent, not about thin traffic on a loaded machine: rounds with
      // too few requests hold the step but do not pause the release (a pause would be notified).
      inconclusiveLimit: 100,
      notifications: { receivers: ['hook', 'ce', 'slow', 'slack', 'teams'] },
    });
    harness.load = backgroundLoad(env);
    await releaseV2(env);
    await waitForEnd(env, 'succeeded');

    const expectedTypes = ['started', 'stepAdvanced', 'stepAdvanced', 'promoted'];
    const hook = await waitFor(
      async () => {
        const bodies = acknowledged(receiver.at('/hook'));
        return bodies.some((b) => b.type === 'promoted') ? bodies : undefined;
      },
      { timeoutMs: 30_000, description: 'the signed webhook to acknowledge the promotion' },
    );
    expect(hook.map((b) => b.type)).toEqual(expectedTypes);
    const [started, step1, step2, promoted] = hook;
    expect(started).toMatchObject({
      schemaVersion: 'canaryd.dev/v1',
      policy: { namespace: env.namespace, name: 'web' },
      deployment: 'web',
    });
    expect(step1?.release).toMatchObject({ step: 1, steps: 2, weight: 25 });
    expect(step2?.release).toMatchObject({ step: 2, steps: 2, weight: 50 });
    for (const step of [step1, step2]) {
      // replica-ratio: the share the ready pods really give (close to, not exactly, the weight).
      expect(step?.details.measuredShare).toBeGreaterThan(0);
      expect(step?.details.measuredShare).toBeLessThanOrEqual(100);
    }
    expect(promoted).toMatchObject({
      release: { revision: started?.release?.revision },
      details: { outcome: 'succeeded' },
    });

    // Every delivery is signed over its exact bytes and carries its id as the idempotency key;
    // each notification was refused once (503) and delivered again, identical.
    for (const body of hook) {
      const deliveries = receiver.at('/hook').filter((r) => r.headers['idempotency-key'] === body.id);
      // (A loaded machine may time an answered attempt out: then it comes a third time.)
      expect(deliveries[0]?.answered).toBe(503);
      expect(deliveries.slice(1).map((d) => d.answered)).toEqual(deliveries.slice(1).map(() => 204));
      expect(deliveries[1]?.body).toBe(deliveries[0]?.body);
      for (const delivery of deliveries) {
        const verdict = verifySignature(
          SIGNING_KEY,
          delivery.body,
          delivery.headers['x-canaryd-signature'] as string,
          Math.floor(delivery.at / 1000),
        );
        expect(verdict, delivery.headers['x-canaryd-signature'] as string).toMatchObject({ ok: true });
      }
      expect(deliveries[1]!.at - deliveries[0]!.at).toBeGreaterThanOrEqual(250); // backoff, not a hot loop
    }

    // The same transitions as CloudEvents (structured mode).
    const events = await waitFor(async () => (receiver.at('/ce').length >= 4 ? receiver.at('/ce') : undefined), {
      timeoutMs: 30_000,
      description: 'four CloudEvents',
    });
    for (const event of events) expect(event.headers['content-type']).toBe('application/cloudevents+json');
    const ce = events
      .map((e) => cloudEventSchema.parse(bodyOf(e)))
      .filter((event, index, all) => all.findIndex((other) => other.id === event.id) === index);
    expect(ce.map((e) => e.id)).toEqual(hook.map((b) => b.id));
    expect(ce.map((e) => e.type)).toEqual(expectedTypes.map((t) => `dev.canaryd.release.${t}`));

    // The hanging receiver: the first attempt timed out, the same notification came again and
    // was answered, and everything after it arrived too.
    const slow = await waitFor(
      async () => (acknowledged(receiver.at('/slow')).length >= 4 ? receiver.at('/slow') : undefined),
      { timeoutMs: 30_000, description: 'the hanging receiver to get all four notifications' },
    );
    expect(slow[0]?.answered).toBe('hang');
    expect(slow[1]?.headers['idempotency-key']).toBe(slow[0]?.headers['idempotency-key']);
    expect(slow[1]!.at - slow[0]!.at).toBeGreaterThanOrEqual(1000); // the 1 s timeout, then the backoff
    expect(acknowledged(slow).map((b) => b.type)).toEqual(expectedTypes);

    // Chat: Slack's text + blocks, Teams' Adaptive Card.
    const slack = await waitFor(async () => (receiver.at('/slack').length >= 4 ? receiver.at('/slack') : undefined), {
      timeoutMs: 30_000,
      description: 'four Slack messages',
    });
    expect(bodyOf<{ text: string }>(slack.at(-1)!).text).toContain('Promoted');
    const teams = await waitFor(async () => (receiver.at('/teams').length >= 4 ? receiver.at('/teams') : undefined), {
      timeoutMs: 30_000,
      description: 'four Teams messages',
    });
    const card = bodyOf<{ type: string; attachments: Array<{ contentType: string; content: { type: string } }> }>(
      teams[0]!,
    );
    expect(card.type).toBe('message');
    expect(card.attachments[0]).toMatchObject({
      contentType: 'application/vnd.microsoft.card.adaptive',
      content: { type: 'AdaptiveCard' },
    });

    const metrics = await metricsOf(harness.canaryd!);
    expect(metric(metrics, 'canaryd_notifications_sent_total', 'hook')).toBe(4);
    expect(metric(metrics, 'canaryd_notifications_failed_total', 'hook')).toBe(receiver.at('/hook').length - 4);
    expect(metric(metrics, 'canaryd_notifications_sent_total', 'slow')).toBe(4);
    expect(metric(metrics, 'canaryd_notifications_failed_total', 'slow')).toBe(receiver.at('/slow').length - 4);
    expect(metric(metrics, 'canaryd_notifications_dropped_total', 'hook')).toBe(0);
  }, 360_000);
});

describe('notifications: every receiver down during a rollback', () => {
  const env = useTestEnv('nt-down');
  const harness = useHarness();

  it('rolls back on time; warns that the receiver keeps failing; delivers the rollback once it is back', async () => {
    const downPort = await freePort(); // nothing listens here until the end of the test
    const hanging = await TestReceiver.start();
    harness.receivers.push(hanging);
    hanging.behave('/hang', () => 'hang');
    await startWithReceivers(
      env,
      harness,
      { 'down-url': `http://127.0.0.1:${downPort}/down`, 'hang-url': hanging.url('/hang') },
      [
        {
          name: 'down',
          type: 'webhook',
          url: secretRef(env, 'down-url'),
          timeout: '2s',
          initialBackoff: '500ms',
          maxBackoff: '2s',
          failuresBeforeWarning: 2,
        },
        { name: 'hang', type: 'webhook', url: secretRef(env, 'hang-url'), timeout: '5s', maxBackoff: '2s' },
      ],
    );
    await deployStable(env);
    await createAnalysisPolicy(env, {
      // The hold is long: only analysis can end this step.
      steps: [
        { weight: 25, hold: '120s' },
        { weight: 50, hold: '5s' },
      ],
      // minSample 5: on a loaded machine the paced load can be thin; 20 % errors still show.
      checks: [errorRateCheck({ minSample: 5 })],
      failureLimit: 0,
      inconclusiveLimit: 100,
      notifications: { receivers: ['down', 'hang'] },
    });
    const weight = await recordWeightZero(env);
    harness.load = backgroundLoad(env);
    await releaseV2(env, { errorRate: 0.2 });
    const policy = await waitForEnd(env, 'failed');
    weight.stop();
    await harness.load.stop();
    harness.load = undefined;

    // Invariant 2 with every receiver down or hanging: weight 0 within one second of the
    // failing measurement.
    const failure = (policy.status?.analysis?.measurements ?? []).find((m) => m.verdict === 'fail');
    expect(failure, JSON.stringify(policy.status?.analysis?.measurements)).toBeDefined();
    const gap = weight.zeroAt()! - Date.parse(failure!.at);
    console.log(`[receivers down] failing measurement at ${failure!.at}; canary weight 0 written ${gap} ms later`);
    expect(gap).toBeLessThanOrEqual(1000);
    expect(hanging.at('/hang').length).toBeGreaterThan(0); // it was being tried meanwhile

    // A receiver that keeps failing is reported where `kubectl describe canarypolicy` shows it.
    const warning = await waitFor(
      async () =>
        (await env.core.listNamespacedEvent({ namespace: env.namespace })).items.find(
          (e) =>
            e.reason === 'NotificationsFailing' &&
            e.involvedObject.kind === 'CanaryPolicy' &&
            e.message?.includes('receiver down'),
        ),
      { timeoutMs: 30_000, description: 'a NotificationsFailing Warning Event for receiver "down"' },
    );
    expect(warning.type).toBe('Warning');

    // The receiver comes back: what was queued arrives (at least once), the rollback with the
    // check that decided it, its value and its threshold.
    const back = await TestReceiver.start(downPort);
    harness.receivers.push(back);
    const bodies = await waitFor(
      async () => {
        const got = acknowledged(back.at('/down'));
        return got.some((b) => b.type === 'failed') ? got : undefined;
      },
      { timeoutMs: 60_000, description: 'the rollback notifications after the receiver came back' },
    );
    expect(bodies.map((b) => b.type)).toEqual(['started', 'stepAdvanced', 'rolledBack', 'failed']);
    const rolledBack = bodies[2]!;
    expect(rolledBack.details.reason).toContain('error-rate');
    expect(rolledBack.details.checks).toEqual([
      expect.objectContaining({
        check: 'error-rate',
        verdict: 'fail',
        value: failure!.value,
        thresholds: { max: 0.05 },
      }),
    ]);
    expect(Date.parse(rolledBack.time)).toBeLessThanOrEqual(weight.zeroAt()! + 1000);

    const metrics = await metricsOf(harness.canaryd!);
    expect(metric(metrics, 'canaryd_notifications_failed_total', 'down')).toBeGreaterThanOrEqual(2);
    expect(metric(metrics, 'canaryd_notifications_sent_total', 'down')).toBe(4);
    expect(metric(metrics, 'canaryd_notifications_sent_total', 'hang')).toBe(0);
  }, 360_000);
});
