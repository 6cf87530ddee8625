// Notifications across a restart, on the real cluster with a real receiver on loopback: a
// notification still owed when canaryd is SIGKILLed (the receiver was down) is in the outbox
// ConfigMap, and the restarted canaryd delivers it — once, by its idempotency key. Then a newer
// template mid-release: the receiver is told the release was superseded, and by which template.
// And the crash window of issue 15: a decision persisted in the policy status whose outbox write
// never happened is delivered by the restarted canaryd, once; after a clean stop, nothing again.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { type WebhookBody, webhookBodySchema } from '../src/notify/schema.ts';
import { waitFor } from './cluster/wait.ts';
import { type CanarydProcess, installCrd, readPolicy, startCanaryd } from './support/canaryd.ts';
import { type TestEnv, useTestEnv } from './support/env.ts';
import { APP, deployManaged, setTemplate } from './support/managed-app.ts';
import { bodyOf, type ReceivedRequest, TestReceiver } from './support/receiver.ts';
import { waitForPolicy } from './support/release-status.ts';

const OUTBOX = 'canaryd-notifications';

interface OutboxEntryView {
  notification: WebhookBody;
  owed: Record<string, number>;
}

interface OutboxView {
  entries: OutboxEntryView[];
  /** receiver → notification id → when it was handed over. */
  recorded: Record<string, Record<string, number>>;
  /** What the ConfigMap holds, as written. */
  text: string | undefined;
}

async function savedOutbox(env: TestEnv): Promise<OutboxView> {
  const map = await env.core.readNamespacedConfigMap({ name: OUTBOX, namespace: env.namespace }).catch(() => null);
  const text = map?.data?.['outbox.json'];
  const saved = JSON.parse(text ?? '[]') as OutboxEntryView[] | Omit<OutboxView, 'text'>;
  // A plain list: the format before issue 15 (canaryd still reads it).
  return Array.isArray(saved) ? { entries: saved, recorded: {}, text } : { ...saved, text };
}

async function outboxOf(env: TestEnv): Promise<OutboxEntryView[]> {
  return (await savedOutbox(env)).entries;
}

/** The bodies the receiver acknowledged (2xx), every delivery (redeliveries included). */
const deliveries = (requests: readonly ReceivedRequest[]): Array<{ key: string; body: WebhookBody }> =>
  requests
    .filter((r) => typeof r.answered === 'number' && r.answered < 300)
    .map((r) => ({ key: String(r.headers['idempotency-key']), body: webhookBodySchema.parse(bodyOf(r)) }));

function startWith(env: TestEnv, settingsFile: string, name: string): CanarydProcess {
  return startCanaryd(
    env.kubeconfig,
    [
      '--namespace',
      env.namespace,
      '--notifications',
      settingsFile,
      '--notifications-outbox',
      `${env.namespace}/${OUTBOX}`,
    ],
    name,
  );
}

/** A webhook receiver "audit" for every policy: its URL in a Secret, the settings in a file. */
async function auditSettings(env: TestEnv, receiver: TestReceiver): Promise<string> {
  await env.core.createNamespacedSecret({
    namespace: env.namespace,
    body: { metadata: { name: 'notify' }, stringData: { 'audit-url': receiver.url('/audit') } },
  });
  const file = join(mkdtempSync(join(tmpdir(), 'canaryd-outbox-')), 'notifications.yaml');
  writeFileSync(
    file,
    stringify({
      receivers: [
        {
          name: 'audit',
          type: 'webhook',
          url: { secretKeyRef: { namespace: env.namespace, name: 'notify', key: 'audit-url' } },
          initialBackoff: '500ms',
          maxBackoff: '2s',
        },
      ],
      defaults: { receivers: ['audit'] },
    }),
  );
  return file;
}

async function synced(canaryd: CanarydProcess): Promise<void> {
  // Starting Node and loading the Kubernetes client takes a while on a loaded machine.
  await waitFor(async () => canaryd.logs().includes('"msg":"caches synced'), {
    timeoutMs: 180_000,
    intervalMs: 500,
    description: `canaryd to start and sync its caches (log: ${canaryd.logFile})`,
  });
}

describe('notifications across a restart', () => {
  const env = useTestEnv('nt-restart');
  const running: CanarydProcess[] = [];
  const receivers: TestReceiver[] = [];
  afterAll(async () => {
    for (const canaryd of running) await canaryd.stop();
    for (const receiver of receivers) await receiver.stop();
  });

  it('a notification owed when canaryd is killed is delivered by the restarted one, once by its key; a superseded release is told', async () => {
    const receiver = await TestReceiver.start();
    receivers.push(receiver);
    let up = false;
    receiver.behave('/audit', () => (up ? 204 : 503));
    await installCrd(env.kc);
    const file = await auditSettings(env, receiver);
    const first = startWith(env, file, 'canaryd-outbox-1');
    running.push(first);
    await synced(first);
    await deployManaged(env, { steps: [{ weight: 25, hold: '1h' }], adoptionTimeoutMs: 60_000 });

    await setTemplate(env, 'v2', { changeCause: 'v2' });
    // The receiver is down (503): `started` stays owed, and the outbox says so.
    const owed = await waitFor(
      async () => (await outboxOf(env)).find((e) => e.notification.type === 'started' && 'audit' in e.owed),
      { timeoutMs: 60_000, description: `the outbox ConfigMap to owe "started" to audit` },
    );
    // It is tried, and refused, while owed (the outbox is written before the first answer comes).
    await waitFor(async () => receiver.at('/audit').some((r) => r.answered === 503), {
      timeoutMs: 30_000,
      description: 'the receiver to refuse a first delivery',
    });
    expect((await outboxOf(env)).some((e) => e.notification.id === owed.notification.id)).toBe(true);
    const startedId = owed.notification.id;
    await first.kill();

    up = true;
    const second = startWith(env, file, 'canaryd-outbox-2');
    running.push(second);
    await synced(second);
    const delivered = await waitFor(
      async () => {
        const found = deliveries(receiver.at('/audit')).filter((d) => d.key === startedId);
        return found.length > 0 ? found : undefined;
      },
      { timeoutMs: 60_000, description: `the restarted canaryd to deliver "started" (${startedId})` },
    );
    // Once by its idempotency key: every delivery of it carries the same key, id and body.
    expect(new Set(delivered.map((d) => JSON.stringify(d.body))).size).toBe(1);
    expect(delivered[0]?.body).toMatchObject({
      id: startedId,
      type: 'started',
      release: { revision: 2, changeCause: 'v2' },
    });
    const startedKeys = new Set(
      deliveries(receiver.at('/audit'))
        .filter((d) => d.body.type === 'started' && d.body.release?.revision === 2)
        .map((d) => d.key),
    );
    expect([...startedKeys]).toEqual([startedId]);
    await waitFor(async () => !(await outboxOf(env)).some((e) => e.notification.id === startedId), {
      timeoutMs: 30_000,
      description: 'the outbox to forget the delivered notification',
    });

    // A newer template while revision 2 runs: superseded, naming revision 3.
    await waitForPolicy(env, 'revision 2 at its step', (s) => s.release?.current?.stepStartedAt !== undefined, 90_000);
    await setTemplate(env, 'v3', { changeCause: 'v3' });
    const superseded = await waitFor(
      async () => deliveries(receiver.at('/audit')).find((d) => d.body.type === 'superseded')?.body,
      { timeoutMs: 60_000, description: 'the receiver to be told revision 2 was superseded' },
    );
    expect(superseded).toMatchObject({
      release: { revision: 2, changeCause: 'v2' },
      details: {
        outcome: 'superseded',
        reason: 'superseded by a newer template (v3)',
        supersededBy: { revision: 3, changeCause: 'v3' },
      },
    });
  });
});

describe('a crash after a decision was persisted, before its outbox write (issue 15)', () => {
  const env = useTestEnv('nt-crash');
  const running: CanarydProcess[] = [];
  const receivers: TestReceiver[] = [];
  afterAll(async () => {
    for (const canaryd of running) await canaryd.stop();
    for (const receiver of receivers) await receiver.stop();
  });

  it('the notification the killed canaryd persisted in the status but never wrote to its outbox is delivered by the restarted one, once; after a clean stop nothing is sent again', async () => {
    const receiver = await TestReceiver.start();
    receivers.push(receiver);
    let up = false;
    receiver.behave('/audit', () => (up ? 204 : 503));
    await installCrd(env.kc);
    const file = await auditSettings(env, receiver);
    const first = startWith(env, file, 'canaryd-crash-1');
    running.push(first);
    await synced(first);
    // canaryd read the outbox (there was none) before its first reconcile. Someone else creates
    // it now, as a new leader would: canaryd's first write of it is refused, and it writes the
    // outbox no more. From here each decision reaches the policy status and never the outbox: the
    // window between the status write and the outbox write (the actions plus 200 ms) held open,
    // so the SIGKILL below lands inside it without racing a timer.
    await env.core.createNamespacedConfigMap({
      namespace: env.namespace,
      body: { metadata: { name: OUTBOX }, data: { 'outbox.json': '[]' } },
    });
    await deployManaged(env, { steps: [{ weight: 25, hold: '1h' }], adoptionTimeoutMs: 60_000 });

    await setTemplate(env, 'v2', { changeCause: 'v2' });
    const persisted = await waitFor(
      async () => (await notificationsInStatus(env)).find((n) => n.type === 'started' && n.release?.revision === 2),
      { timeoutMs: 60_000, description: 'the policy status to hold the "started" notification of revision 2' },
    );
    // The killed canaryd had handed it to its queue (the receiver, down, refused it) but could not
    // write its outbox.
    await waitFor(
      async () =>
        receiver.at('/audit').some((r) => r.answered === 503 && r.headers['idempotency-key'] === persisted.id),
      { timeoutMs: 30_000, description: `the receiver to refuse a first delivery of "started" (${persisted.id})` },
    );
    await waitFor(async () => first.logs().includes('another canaryd writes the notification outbox now'), {
      timeoutMs: 30_000,
      description: `canaryd to find its outbox written by someone else (log: ${first.logFile})`,
    });
    expect((await savedOutbox(env)).text).toBe('[]');
    await first.kill();

    up = true;
    const second = startWith(env, file, 'canaryd-crash-2');
    running.push(second);
    await synced(second);
    const delivered = await waitFor(
      async () => deliveries(receiver.at('/audit')).find((d) => d.key === persisted.id)?.body,
      { timeoutMs: 60_000, description: `the restarted canaryd to deliver "started" (${persisted.id})` },
    );
    expect(delivered).toMatchObject({ id: persisted.id, type: 'started', release: { revision: 2, changeCause: 'v2' } });
    expect(second.logs()).toContain('notification recovered from the policy status');
    // Recorded as handed over and owed no more, in the format that says so.
    await waitFor(
      async () => {
        const saved = await savedOutbox(env);
        return saved.recorded.audit?.[persisted.id] !== undefined && saved.entries.length === 0;
      },
      { timeoutMs: 30_000, description: `the outbox to record "started" as handed to audit and owe nothing` },
    );

    // A clean stop, a third canaryd, and a newer template: it is told the release was superseded.
    // Whatever it sent again at start would be queued before that (one queue per receiver, in
    // order): nothing is.
    await second.stop();
    const third = startWith(env, file, 'canaryd-crash-3');
    running.push(third);
    await synced(third);
    await waitForPolicy(env, 'revision 2 at its step', (s) => s.release?.current?.stepStartedAt !== undefined, 90_000);
    await setTemplate(env, 'v3', { changeCause: 'v3' });
    await waitFor(async () => deliveries(receiver.at('/audit')).some((d) => d.body.type === 'superseded'), {
      timeoutMs: 60_000,
      description: 'the receiver to be told revision 2 was superseded',
    });
    const keys = deliveries(receiver.at('/audit')).map((d) => d.key);
    expect(keys.filter((key) => key === persisted.id)).toHaveLength(1);
    expect(new Set(keys).size).toBe(keys.length);
  }, 420_000);
});

/** The notifications the policy's latest decisions wrote into its status. */
async function notificationsInStatus(env: TestEnv): Promise<WebhookBody[]> {
  const policy = await readPolicy(env.kc, env.namespace, APP);
  return ((policy?.status as { notifications?: Array<Record<string, unknown>> } | undefined)?.notifications ?? []).map(
    (n) => webhookBodySchema.parse({ schemaVersion: 'canaryd.dev/v1', ...n }),
  );
}
