// kubectl canary pause|resume|promote [--full]|abort|retry [--to-revision N]|undo --to-revision N
// [--skip-canary]: writes the operation annotations as the caller (their RBAC, their name as `by`),
// then waits for canaryd's acknowledgement of that operation id and prints what really happened
// (status.release.recentOperations). Exit 0 applied, 1 refused or not processed in time
// (--timeout; 0 returns as soon as it is requested), 2 usage.
import type { ManualOperation } from '../../engine/types.ts';
import type { KubeObject } from '../../kube/objects.ts';
import {
  isAcknowledged,
  newOperation,
  type OperationRequest,
  operationResult,
  policyRef,
  requestOperation,
} from '../../server/operations.ts';
import type { Command } from '../io.ts';
import { oneName, revisionFlag, secondsFlag, UsageError } from './args.ts';
import { type ClusterDeps, type CommandContext, clusterCommand } from './cluster.ts';

export type OperationCommandName = 'pause' | 'resume' | 'promote' | 'abort' | 'retry' | 'undo' | 'approve';

const SPECS: Record<
  OperationCommandName,
  { summary: string; usage: string; options: Record<string, { type: 'string' | 'boolean' }> }
> = {
  pause: { summary: 'hold a release at its current step', usage: 'kubectl canary pause NAME', options: {} },
  resume: { summary: 'continue a paused release', usage: 'kubectl canary resume NAME', options: {} },
  promote: {
    summary: 'advance a release one step now (--full: promote it entirely)',
    usage: 'kubectl canary promote NAME [--full]',
    options: { full: { type: 'boolean' } },
  },
  abort: { summary: 'roll a running release back', usage: 'kubectl canary abort NAME', options: {} },
  retry: {
    summary: 'release a rolled-back revision again',
    usage: 'kubectl canary retry NAME [--to-revision N]',
    options: { 'to-revision': { type: 'string' } },
  },
  approve: {
    summary: 'open the approval gate of the step that waits for it (RBAC: verb approve)',
    usage: 'kubectl canary approve NAME',
    options: {},
  },
  undo: {
    summary: 'release an earlier revision from the history',
    usage: 'kubectl canary undo NAME --to-revision N [--skip-canary]',
    options: { 'to-revision': { type: 'string' }, 'skip-canary': { type: 'boolean' } },
  },
};

const COMMON = '[-n NAMESPACE] [--timeout 30s]';
const POLL_MS = 1000;
export const DEFAULT_WAIT_SECONDS = 30;

/** The operation the flags ask for. Pure. */
export function operationRequestFromFlags(
  command: OperationCommandName,
  values: Record<string, string | boolean | undefined>,
): OperationRequest {
  const toRevision = revisionFlag('to-revision', values['to-revision']);
  switch (command) {
    case 'promote':
      return { op: values.full === true ? 'promoteFull' : 'promote' };
    case 'retry':
      return toRevision === undefined ? { op: 'retry' } : { op: 'retry', toRevision };
    case 'undo':
      if (toRevision === undefined) {
        throw new UsageError('--to-revision is required (see `kubectl canary history NAME` for revisions)');
      }
      return values['skip-canary'] === true ? { op: 'undo', toRevision, skipCanary: true } : { op: 'undo', toRevision };
    default:
      return { op: command };
  }
}

/** `undo --to-revision=3 --skip-canary`, as a person would type it. */
export function describeOperation(operation: Pick<ManualOperation, 'op' | 'toRevision' | 'skipCanary'>): string {
  const op = operation.op === 'promoteFull' ? 'promote --full' : operation.op;
  const revision = operation.toRevision === undefined ? '' : ` --to-revision=${operation.toRevision}`;
  return `${op}${revision}${operation.skipCanary ? ' --skip-canary' : ''}`;
}

const OPERATION_HELP = `Writes the operation with your identity, then waits for canaryd to apply or refuse it
and prints which (a refusal names the reason, e.g. the release ended meanwhile).
  --timeout DURATION   how long to wait for canaryd (default 30s; 0: return once written)

Exit codes: 0 applied (or written, with --timeout 0); 1 refused, not processed in time, another
operation pending, not found or not allowed (RBAC: patch on canarypolicies; approve also needs
the verb approve on canarypolicies); 2 usage error.`;

export const operationCommand = (command: OperationCommandName, deps: () => ClusterDeps): Command => {
  const spec = SPECS[command];
  return clusterCommand(
    command,
    {
      summary: spec.summary,
      usage: `${spec.usage} ${COMMON}`,
      options: { ...spec.options, timeout: { type: 'string' } },
      help: OPERATION_HELP,
    },
    deps,
    async (parsed, context) => {
      const name = oneName(parsed.positionals);
      const request = operationRequestFromFlags(command, parsed.values);
      const waitSeconds = secondsFlag('timeout', parsed.values.timeout, DEFAULT_WAIT_SECONDS);
      const { io } = context;
      const { kube, namespace, whoami } = context.session();
      const operation = newOperation(request, await whoami(), io.now());
      await requestOperation(kube, namespace, name, operation, { now: io.now });
      const what = `${describeOperation(operation)} on CanaryPolicy ${namespace}/${name}`;
      io.stdout(`${what}: requested by ${operation.by} (id ${operation.id})\n`);
      if (waitSeconds === 0) return 0;
      return awaitResult(context, namespace, name, operation, what, waitSeconds);
    },
  );
};

async function awaitResult(
  { io, deps, session }: CommandContext,
  namespace: string,
  name: string,
  operation: ManualOperation,
  what: string,
  waitSeconds: number,
): Promise<number> {
  const deadline = io.now().getTime() + waitSeconds * 1000;
  const interrupted = deps.interrupt();
  for (;;) {
    const policy = await session().kube.get<KubeObject>(policyRef(namespace, name));
    if (policy === null) {
      io.stderr(`${what}: the CanaryPolicy was deleted before canaryd processed the operation\n`);
      return 1;
    }
    if (isAcknowledged(policy, operation.id)) {
      const record = operationResult(policy, operation.id);
      if (record === undefined) {
        // A controller that predates status.release.recentOperations: never claim success unseen.
        io.stderr(
          `${what}: processed by canaryd, but its result is not in the status; see the Events ` +
            `(kubectl describe canarypolicy -n ${namespace} ${name})\n`,
        );
        return 1;
      }
      const actor = record.by === operation.by ? '' : ` (recorded as by ${record.by})`;
      if (record.result === 'applied') {
        io.stdout(`${what}: applied${actor}\n`);
        return 0;
      }
      io.stderr(`${what}: ${record.result}${actor}\n`);
      return 1;
    }
    if (io.now().getTime() >= deadline || interrupted.aborted) {
      io.stderr(
        `${what}: not processed by canaryd within ${waitSeconds}s; it stays queued on the policy ` +
          '(is the controller running? `kubectl canary status` shows when it is picked up)\n',
      );
      return 1;
    }
    await deps.sleep(POLL_MS, interrupted);
  }
}
