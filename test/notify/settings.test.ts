// The controller's notification settings file: receivers and defaults, errors that name the
// file, the line and the field; and a policy's spec.notifications validated like the rest.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { webhookJsonSchema } from '../../src/notify/schema.ts';
import { formatPolicyError } from '../../src/policy/errors.ts';
import { parsePolicyText } from '../../src/policy/load.ts';
import { NotificationSettingsError, parseNotificationSettings } from '../../src/settings/notifications.ts';

const GOOD = `receivers:
  - name: sre-slack
    type: slack
    url: { secretKeyRef: { namespace: canaryd-system, name: notify, key: slack-url } }
  - name: audit
    type: webhook
    url: { secretKeyRef: { namespace: canaryd-system, name: notify, key: audit-url } }
    signingSecret: { secretKeyRef: { namespace: canaryd-system, name: notify, key: audit-key } }
    cloudEvents: true
defaults:
  receivers: [sre-slack]
`;

function errorsOf(text: string): string[] {
  try {
    parseNotificationSettings(text, 'notify.yaml');
  } catch (error) {
    if (error instanceof NotificationSettingsError) return error.errors.map((e) => formatPolicyError(e));
    throw error;
  }
  return [];
}

describe('notification settings', () => {
  it('reads receivers with defaults for what is left out', () => {
    const settings = parseNotificationSettings(GOOD, 'notify.yaml');
    expect(settings.receivers[0]).toMatchObject({ name: 'sre-slack', timeout: '5s', deadline: '10m', queueSize: 100 });
    expect(settings.receivers[1]).toMatchObject({
      cloudEvents: true,
      signingSecret: { secretKeyRef: { key: 'audit-key' } },
    });
    expect(settings.defaults.receivers).toEqual(['sre-slack']);
    expect(settings.defaults.events).toContain('rolledBack');
  });

  it('names file, line and field of every mistake', () => {
    const bad = GOOD.replace('type: slack', 'type: slak')
      .replace('cloudEvents: true', 'cloudEvents: true\n    url2: x')
      .replace('receivers: [sre-slack]', 'receivers: [sre-slack, pager]');
    expect(errorsOf(bad)).toEqual([
      expect.stringMatching(
        /^notify\.yaml:3:11: receivers\[0\]\.type: Invalid option: expected one of "slack"\|"teams"\|"webhook"/,
      ),
      expect.stringMatching(/^notify\.yaml:10:5: receivers\[1\]\.url2: Unrecognized key/),
    ]);
    // Cross-field checks run once the shape is right.
    expect(errorsOf(GOOD.replace('receivers: [sre-slack]', 'receivers: [sre-slack, pager]'))).toEqual([
      'notify.yaml:11:26: defaults.receivers[1]: unknown receiver "pager" (defined: sre-slack, audit)',
    ]);
  });

  it('refuses webhook-only fields on chat receivers, and a name defined twice', () => {
    const text = GOOD.replace('type: slack', 'type: slack\n    cloudEvents: true').replace(
      'name: audit',
      'name: sre-slack',
    );
    expect(errorsOf(text)).toEqual([
      'notify.yaml:4:18: receivers[0].cloudEvents: cloudEvents applies to type webhook only (this receiver is slack)',
      'notify.yaml:6:11: receivers[1].name: receiver "sre-slack" is defined twice (first at receivers[0])',
    ]);
  });

  it('a URL is never accepted in the file itself: only a Secret reference', () => {
    expect(
      errorsOf(
        GOOD.replace(
          /url: \{ secretKeyRef: \{ namespace: canaryd-system, name: notify, key: slack-url \} \}/,
          'url: https://hooks.slack.com/services/T/B/X',
        ),
      ),
    ).toEqual([
      expect.stringMatching(/^notify\.yaml:4:10: receivers\[0\]\.url: Invalid input: expected object, received string/),
    ]);
  });
});

describe('spec.notifications in a policy', () => {
  const policy = (notifications: string) => `apiVersion: canaryd.dev/v1alpha1
kind: CanaryPolicy
metadata: { name: web, namespace: shop }
spec:
  target: { deployment: web, service: web }
  notifications:
${notifications}
`;

  it('accepts receivers by name and a choice of events', () => {
    const load = parsePolicyText(
      policy('    receivers: [sre-slack]\n    events: [started, rolledBack, promoted]'),
      'p.yaml',
    );
    expect(load.errors).toEqual([]);
    expect(load.policies[0]?.policy.spec.notifications).toEqual({
      receivers: ['sre-slack'],
      events: ['started', 'rolledBack', 'promoted'],
    });
  });

  it('rejects an unknown event (with a suggestion), a URL field, and duplicates, naming line and field', () => {
    const load = parsePolicyText(
      policy('    receivers: [sre-slack, sre-slack]\n    events: [rolledback]\n    url: https://example.invalid/hook'),
      'p.yaml',
    );
    const errors = load.errors.map((e) => formatPolicyError(e));
    expect(errors).toContainEqual(
      expect.stringMatching(
        /^p\.yaml:8:14: spec\.notifications\.events\[0\]: .*found "rolledback" \(did you mean "rolledBack"\?\)/,
      ),
    );
    expect(errors).toContainEqual(expect.stringMatching(/^p\.yaml:9:5: spec\.notifications\.url: /));
    expect(errors).toContainEqual(
      expect.stringMatching(/^p\.yaml:7:28: spec\.notifications\.receivers\[1\]: "sre-slack" is listed twice/),
    );
  });
});

describe('shipped files', () => {
  const root = join(import.meta.dirname, '../..');

  it('config/notifications.yaml is valid settings', () => {
    const settings = parseNotificationSettings(readFileSync(join(root, 'config/notifications.yaml'), 'utf8'), 'x');
    expect(settings.receivers.map((r) => r.type)).toEqual(['slack', 'teams', 'webhook']);
  });

  it('docs/notification-v1.schema.json matches the zod schema (run `node scripts/gen-docs.ts`)', () => {
    expect(readFileSync(join(root, 'docs/notification-v1.schema.json'), 'utf8')).toBe(webhookJsonSchema());
  });
});
