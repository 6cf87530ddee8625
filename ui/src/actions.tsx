// The operation buttons: each POSTs to the API as the signed-in person and shows what canaryd
// answered: accepted (and later what the controller did, in the history), or the refusal with
// its reason (RBAC, an operation still pending).
import { useState } from 'preact/hooks';
import { ApiRefusal, post, releasePath } from './api.ts';

interface Action {
  label: string;
  route: string;
  body: object;
  confirm?: string;
}

export const ACTIONS: Action[] = [
  { label: 'Pause', route: 'pause', body: {} },
  { label: 'Resume', route: 'resume', body: {} },
  { label: 'Promote', route: 'promote', body: {} },
  { label: 'Promote full', route: 'promote', body: { full: true }, confirm: 'Promote fully, skipping the remaining steps and analysis?' },
  { label: 'Abort', route: 'abort', body: {}, confirm: 'Abort: roll this release back?' },
  { label: 'Retry', route: 'retry', body: {} },
  { label: 'Approve', route: 'approve', body: {} },
];

export interface Outcome {
  ok: boolean;
  text: string;
}

export function Actions({ namespace, name, routes }: { namespace: string; name: string; routes: Set<string> }) {
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async (action: Action) => {
    if (action.confirm && !window.confirm(action.confirm)) return;
    setBusy(true);
    try {
      const answer = await post<{ message: string }>(`${releasePath(namespace, name)}/${action.route}`, action.body);
      setOutcome({ ok: true, text: `${action.label}: ${answer.message}` });
    } catch (error) {
      const reason = error instanceof ApiRefusal ? `refused (${error.status} ${error.code}): ${error.message}` : String(error);
      setOutcome({ ok: false, text: `${action.label} ${reason}` });
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="actions">
      {ACTIONS.filter((action) => routes.has(action.route)).map((action) => (
        <button type="button" disabled={busy} onClick={() => void run(action)}>
          {action.label}
        </button>
      ))}
      {outcome && (
        <p class={outcome.ok ? 'accepted' : 'refusal'} role="status" data-testid="outcome">
          {outcome.text}
        </p>
      )}
    </div>
  );
}
