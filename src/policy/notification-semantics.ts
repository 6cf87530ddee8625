// spec.notifications: what zod cannot say. Receiver names are only known to the controller (its
// notification settings), so an unknown one is reported at run time (a Warning Event); here
// only what the policy text itself gets wrong.
import type { Reporter } from './findings.ts';
import type { CanaryPolicySpec } from './schema.ts';

export function checkNotifications(spec: CanaryPolicySpec, reporter: Reporter): void {
  const notifications = spec.notifications;
  if (notifications === undefined) return;
  for (const field of ['receivers', 'events'] as const) {
    const list: readonly string[] = notifications[field] ?? [];
    list.forEach((item, index) => {
      const first = list.indexOf(item);
      if (first !== index) {
        reporter.error(
          ['spec', 'notifications', field, index],
          `"${item}" is listed twice (first at ${field}[${first}])`,
          'list each once',
        );
      }
    });
  }
  if (notifications.events?.length === 0 && (notifications.receivers?.length ?? 1) > 0) {
    reporter.warning(
      ['spec', 'notifications', 'events'],
      'no event is selected: nothing will be sent',
      'to turn notifications off, write receivers: []',
    );
  }
}
