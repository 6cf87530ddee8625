// One release: summary, operation buttons, step timeline (planned vs actual), live charts of each
// check (canaryd queries Prometheus), the newest measurements, Events and history.
import { get, releasePath } from './api.ts';
import { Actions } from './actions.tsx';
import { CheckChart } from './chart.tsx';
import { share } from './list.tsx';
import { usePoll } from './poll.ts';
import { timeline } from './timeline.ts';
import type { EventView, ReleaseCharts, ReleaseView } from './types.ts';

const when = (iso: string | undefined) => (iso ? new Date(iso).toLocaleTimeString() : '');

export function Release({ namespace, name, routes }: { namespace: string; name: string; routes: Set<string> }) {
  const base = releasePath(namespace, name);
  const release = usePoll(() => get<ReleaseView>(base), 1000, base);
  const charts = usePoll(() => get<ReleaseCharts>(`${base}/charts`), 5000, `${base}/charts`);
  const events = usePoll(() => get<{ items: EventView[] }>(`${base}/events`), 3000, `${base}/events`);
  const view = release.data;
  if (view === undefined) {
    return <p class={release.error ? 'refusal' : ''} role={release.error ? 'alert' : undefined}>{release.error?.message ?? 'Loading…'}</p>;
  }
  const { status } = view;
  const current = status.release.current;
  const rows = timeline(view.spec?.steps ?? [], status.phase, current, status.release.history.at(-1));
  const latest = new Map(status.analysis.measurements.map((m) => [m.check, m]));
  return (
    <section class="release">
      <p>
        <a href="#/">← all policies</a>
      </p>
      <h2>
        {namespace}/{name}
      </h2>
      <dl class="summary">
        <dt>Phase</dt>
        <dd data-testid="phase" class={`phase phase-${status.phase}`}>{status.phase}</dd>
        <dt>Step</dt>
        <dd data-testid="step">{status.step}</dd>
        <dt>Share</dt>
        <dd data-testid="share">{share(status.weight, status.intendedWeight)}</dd>
        <dt>Router</dt>
        <dd>{status.router ?? view.spec?.router ?? ''}</dd>
        <dt>Message</dt>
        <dd data-testid="message">{status.message}</dd>
      </dl>
      {release.error && <p class="refusal">{release.error.message}</p>}
      <Actions namespace={namespace} name={name} routes={routes} />

      <h3>Steps</h3>
      <ol class="timeline" data-testid="timeline">
        {rows.map((row) => (
          <li class={`step step-${row.state}`} data-state={row.state}>
            <b>{row.weight} %</b> {row.holdSeconds > 0 ? `hold ${row.holdSeconds}s` : ''}
            {row.pause ? ' · waits for resume' : ''}
            {row.testersOnly ? ' · testers only' : ''} <span class="state">{row.state}</span>
            {row.startedAt ? ` since ${when(row.startedAt)}` : ''}
          </li>
        ))}
      </ol>
      {status.nextStepAt && <p>Next step at {when(status.nextStepAt)}</p>}

      <h3>Checks</h3>
      {charts.error && <p class="refusal">{charts.error.message}</p>}
      {(charts.data?.checks ?? []).map((check) => (
        <figure class="check" data-check={check.name}>
          <figcaption>
            <b>{check.name}</b>
            {check.critical ? ' (critical)' : ''} — last: {latest.get(check.name)?.verdict ?? check.lastVerdict ?? 'not measured'}{' '}
            <span class="reason">{latest.get(check.name)?.reason ?? ''}</span>
          </figcaption>
          {check.error ? <p class="chart-error">{check.error}</p> : null}
          {check.canary.length > 0 && <CheckChart check={check} />}
        </figure>
      ))}
      {view.spec && view.spec.checks.length === 0 && <p>This policy has no analysis checks.</p>}

      <h3>Events</h3>
      <table class="events" data-testid="events">
        <tbody>
          {(events.data?.items ?? []).map((event) => (
            <tr class={`event-${event.type}`}>
              <td>{when(event.lastSeen)}</td>
              <td>{event.type}</td>
              <td>{event.reason}</td>
              <td>{event.object}</td>
              <td>{event.message}{event.count > 1 ? ` (×${event.count})` : ''}</td>
            </tr>
          ))}
        </tbody>
      </table>

      <h3>History</h3>
      <table class="history" data-testid="history">
        <thead>
          <tr>
            <th>Revision</th>
            <th>Outcome</th>
            <th>Change</th>
            <th>Ended</th>
            <th>Reason</th>
            <th>Operations</th>
          </tr>
        </thead>
        <tbody>
          {[...status.release.history].reverse().map((entry) => (
            <tr data-revision={entry.revision}>
              <td>{entry.revision}</td>
              <td class={`outcome outcome-${entry.outcome}`}>{entry.outcome}</td>
              <td>{entry.changeCause}</td>
              <td>{when(entry.endedAt)}</td>
              <td>{entry.reason}</td>
              <td>{entry.operations.map((op) => `${op.op} by ${op.by}: ${op.result}`).join('; ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
