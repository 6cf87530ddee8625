// Chat payloads: Slack incoming webhooks (text + Block Kit) and Microsoft Teams workflow
// webhooks ("When a Teams webhook request is received": a message with an Adaptive Card).
import type { CheckResult, Notification, NotificationType } from './events.ts';

const TITLES: Record<NotificationType, string> = {
  started: 'Release started',
  stepAdvanced: 'Step advanced',
  paused: 'Release paused',
  resumed: 'Release resumed',
  analysisInconclusive: 'Analysis inconclusive: release paused',
  rolledBack: 'Rolling back',
  promoted: 'Promoted',
  failed: 'Release failed',
  superseded: 'Release superseded',
  cancelled: 'Release cancelled',
  operationRefused: 'Operation refused',
};

const ALARMING = new Set<NotificationType>(['rolledBack', 'failed', 'analysisInconclusive', 'operationRefused']);

/** The facts shown under the title, in reading order. */
export function facts(notification: Notification): Array<{ title: string; value: string }> {
  const { release, details } = notification;
  const list: Array<{ title: string; value: string }> = [
    { title: 'Policy', value: `${notification.policy.namespace}/${notification.policy.name}` },
  ];
  if (release !== undefined) {
    list.push({
      title: 'Revision',
      value: `${release.revision}${release.changeCause ? ` (${release.changeCause})` : ''}`,
    });
    if (release.step !== undefined)
      list.push({ title: 'Step', value: `${release.step}/${release.steps} at ${release.weight} %` });
  }
  if (details.measuredShare !== undefined) list.push({ title: 'Measured share', value: `${details.measuredShare} %` });
  if (details.by !== undefined) list.push({ title: 'By', value: details.by });
  if (details.operation !== undefined) list.push({ title: 'Operation', value: details.operation });
  if (details.supersededBy !== undefined) {
    const newer = details.supersededBy;
    const revision = newer.revision === undefined ? '' : `revision ${newer.revision} `;
    list.push({ title: 'Superseded by', value: `${revision}(${newer.changeCause || newer.templateHash})` });
  }
  if (details.reason !== undefined) list.push({ title: 'Reason', value: details.reason });
  for (const check of details.checks ?? []) list.push({ title: `Check ${check.check}`, value: describeCheck(check) });
  return list;
}

export function describeCheck(check: CheckResult): string {
  const bounds = Object.entries(check.thresholds).map(([name, value]) => `${name} ${value}`);
  const value = check.value === null ? 'no data' : String(check.value);
  const stable = check.stableValue === undefined ? '' : `, stable ${check.stableValue ?? 'no data'}`;
  return `${check.verdict}: value ${value}${stable}${bounds.length ? ` vs ${bounds.join(', ')}` : ''}`;
}

export function slackMessage(notification: Notification): object {
  const icon = ALARMING.has(notification.type) ? ':rotating_light:' : ':large_blue_circle:';
  const title = `${icon} *${TITLES[notification.type]}*: ${notification.summary}`;
  return {
    text: `${TITLES[notification.type]}: ${notification.summary}`,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: escapeSlack(title) } },
      {
        type: 'section',
        fields: facts(notification)
          .slice(0, 10) // Block Kit allows at most 10 fields per section
          .map((fact) => ({ type: 'mrkdwn', text: `*${escapeSlack(fact.title)}*\n${escapeSlack(fact.value)}` })),
      },
      {
        type: 'context',
        elements: [{ type: 'mrkdwn', text: `canaryd · ${notification.type} · ${notification.time}` }],
      },
    ],
  };
}

/** Slack's three control characters; everything else is shown as written. */
const escapeSlack = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function teamsMessage(notification: Notification): object {
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body: [
            {
              type: 'TextBlock',
              text: TITLES[notification.type],
              weight: 'Bolder',
              size: 'Medium',
              color: ALARMING.has(notification.type) ? 'Attention' : 'Default',
            },
            { type: 'TextBlock', text: notification.summary, wrap: true },
            { type: 'FactSet', facts: facts(notification) },
          ],
        },
      },
    ],
  };
}
