// All policies: phase, step, measured vs intended share, last verdict; search and a phase filter.
// At 1,000 policies only the first rows that match are drawn; the filter narrows the rest.
import { useState } from 'preact/hooks';
import { get } from './api.ts';
import { usePoll } from './poll.ts';
import { matches } from './timeline.ts';
import type { ReleaseListItem } from './types.ts';

export const MAX_ROWS = 200;
const PHASES = ['idle', 'waiting', 'progressing', 'paused', 'promoting', 'succeeded', 'rollingBack', 'failed'];

export function share(weight: number, intended: number | undefined): string {
  return intended === undefined || intended === weight ? `${weight} %` : `${weight} % of ${intended} %`;
}

export function ReleaseList({ namespace }: { namespace: string }) {
  const [text, setText] = useState('');
  const [phase, setPhase] = useState('');
  const path = namespace === '' ? '/api/v1/releases' : `/api/v1/releases?namespace=${encodeURIComponent(namespace)}`;
  const polled = usePoll(() => get<{ items: ReleaseListItem[] }>(path), 2000, path);
  const all = polled.data?.items ?? [];
  const shown = all.filter((item) => matches(item, { text, phase }));
  return (
    <section>
      <div class="toolbar">
        <input
          type="search"
          placeholder="Search namespace/name, deployment, message"
          aria-label="Search"
          value={text}
          onInput={(e) => setText((e.target as HTMLInputElement).value)}
        />
        <select aria-label="Phase" value={phase} onChange={(e) => setPhase((e.target as HTMLSelectElement).value)}>
          <option value="">any phase</option>
          {PHASES.map((p) => (
            <option value={p}>{p}</option>
          ))}
        </select>
        <span class="count" data-testid="count">
          {shown.length} of {all.length} policies
        </span>
      </div>
      {polled.error && <p class="refusal" role="alert">{polled.error.message}</p>}
      <table class="releases">
        <thead>
          <tr>
            <th>Policy</th>
            <th>Phase</th>
            <th>Step</th>
            <th>Share (measured of intended)</th>
            <th>Last verdict</th>
            <th>Message</th>
          </tr>
        </thead>
        <tbody>
          {shown.slice(0, MAX_ROWS).map((item) => (
            <tr key={`${item.namespace}/${item.name}`} data-policy={`${item.namespace}/${item.name}`}>
              <td>
                <a href={`#/r/${item.namespace}/${item.name}`}>
                  {item.namespace}/{item.name}
                </a>
              </td>
              <td>
                <span class={`phase phase-${item.phase}`}>{item.phase}</span>
              </td>
              <td>{item.step}</td>
              <td>{share(item.weight, item.intendedWeight)}</td>
              <td class={`verdict verdict-${item.lastVerdict ?? 'none'}`}>{item.lastVerdict ?? '–'}</td>
              <td class="message">{item.message}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {shown.length > MAX_ROWS && (
        <p class="more">
          {shown.length - MAX_ROWS} more match: refine the search to see them.
        </p>
      )}
    </section>
  );
}
