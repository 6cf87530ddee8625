// kubectl canary status NAME [--watch [--timeout D]]: phase, step, weight, router, the latest
// analysis per check, when the next step can happen and when analysis next measures. The exit code
// says how the release stands (outcome.ts); --watch redraws until the release ends (promoted,
// rolled back, or paused for a person) or --timeout elapses.
import { templateHash } from '../../controller/template.ts';
import { isKubeError, type KubeApi } from '../../kube/api.ts';
import type { Deployment } from '../../kube/objects.ts';
import { kubeReleaseReader, type ReleaseView } from '../../server/views.ts';
import type { CliIo, Command } from '../io.ts';
import { oneName, secondsFlag } from './args.ts';
import { type ClusterDeps, clusterCommand } from './cluster.ts';
import { releaseOutcome, STATUS_EXIT } from './outcome.ts';
import { formatDuration, renderStatus } from './render.ts';

const CLEAR_SCREEN = '\x1b[H\x1b[2J';

export function releaseNotFound(io: CliIo, command: string, namespace: string, name: string): number {
  io.stderr(`kubectl canary ${command}: CanaryPolicy ${namespace}/${name} not found\n`);
  return 1;
}

export const statusCommand = (deps: () => ClusterDeps): Command =>
  clusterCommand(
    'status',
    {
      summary: 'show a release: phase, step, weight, analysis, next step (--watch: until it ends)',
      usage: 'kubectl canary status NAME [-n NAMESPACE] [-w|--watch [--timeout DURATION]] [--interval 2s]',
      options: { watch: { type: 'boolean', short: 'w' }, interval: { type: 'string' }, timeout: { type: 'string' } },
      help: STATUS_HELP,
    },
    deps,
    async (parsed, { io, session, deps: d }) => {
      const name = oneName(parsed.positionals);
      const intervalMs = Math.max(1, secondsFlag('interval', parsed.values.interval, 2)) * 1000;
      const timeoutSeconds = secondsFlag('timeout', parsed.values.timeout, 0);
      const { kube, namespace } = session();
      const look = looker(kube, namespace, name, io.now);
      const first = await look();
      if (first === undefined) return releaseNotFound(io, 'status', namespace, name);
      if (parsed.values.watch !== true) {
        io.stdout(renderStatus(first.view, io.now()));
        return releaseOutcome(first.view, first.deploymentHash).code;
      }
      return watchStatus(io, d, look, first, intervalMs, timeoutSeconds);
    },
  );

const STATUS_HELP = `Exit codes (the same for status and status --watch):
  0  promoted, running, or no release in progress
  1  rolled back, rolling back or cancelled; the Deployment's template failed before; the policy
     does not exist or the API refused the request
  2  usage error
  3  paused until a person acts (kubectl canary pause, a step's pause gate): resume, promote or abort
  4  --watch --timeout elapsed before the release ended

--watch redraws until the release ends (exit 0, 1 or 3 as above) or --timeout (0: no limit).
A policy whose Deployment has a new template canaryd has not started yet is not ended: run
\`kubectl set image ...\` then \`kubectl canary status NAME --watch --timeout 30m\` in CI.
`;

interface Look {
  view: ReleaseView;
  /** The Deployment's template hash as canaryd computes it; undefined when it cannot be read. */
  deploymentHash?: string;
}

function looker(kube: KubeApi, namespace: string, name: string, now: () => Date): () => Promise<Look | undefined> {
  const reader = kubeReleaseReader(kube, now);
  return async () => {
    const view = await reader.get(namespace, name);
    if (view === undefined) return undefined;
    if (view.spec === null) return { view };
    // Which template is the verdict about? Needs `get deployments` (the view role has it);
    // without it the phase alone decides.
    const deployment = await kube
      .get<Deployment>({ apiVersion: 'apps/v1', kind: 'Deployment', namespace, name: view.spec.deployment })
      .catch(() => null);
    return deployment === null ? { view } : { view, deploymentHash: templateHash(deployment.spec.template) };
  };
}

/** Redraws until the release ends, --timeout, or Ctrl-C; on a terminal every interval, elsewhere only on change. */
async function watchStatus(
  io: CliIo,
  d: ClusterDeps,
  look: () => Promise<Look | undefined>,
  first: Look,
  intervalMs: number,
  timeoutSeconds: number,
): Promise<number> {
  const interrupted = d.interrupt();
  const deadline = timeoutSeconds > 0 ? io.now().getTime() + timeoutSeconds * 1000 : undefined;
  const { namespace, name } = first.view;
  let latest = first;
  let shown = '';
  for (;;) {
    const { view } = latest;
    // The screen without the clock-dependent parts decides whether anything changed.
    const changeKey = renderStatus(view, new Date(0));
    if (d.isTTY) io.stdout(CLEAR_SCREEN + renderStatus(view, io.now()));
    else if (changeKey !== shown) io.stdout(`${shown === '' ? '' : '\n'}${renderStatus(view, io.now())}`);
    shown = changeKey;
    const outcome = releaseOutcome(view, latest.deploymentHash);
    if (outcome.ended) {
      io.stdout(`${'Result:'.padEnd(15)}${outcome.summary} (exit ${outcome.code})\n`);
      return outcome.code;
    }
    const left = deadline === undefined ? Number.POSITIVE_INFINITY : deadline - io.now().getTime();
    if (left <= 0) {
      io.stderr(
        `kubectl canary status: ${namespace}/${name} did not end within ${formatDuration(timeoutSeconds * 1000)} ` +
          `(${outcome.summary}; exit ${STATUS_EXIT.timeout})\n`,
      );
      return STATUS_EXIT.timeout;
    }
    await d.sleep(Math.min(intervalMs, left), interrupted);
    if (interrupted.aborted) return outcome.code;
    try {
      const next = await look();
      if (next === undefined) {
        io.stderr(`kubectl canary status: CanaryPolicy ${namespace}/${name} was deleted\n`);
        return STATUS_EXIT.failed;
      }
      latest = next;
    } catch (error) {
      // A blip of the API server should not end a watch; anything else (Forbidden) does.
      if (!isKubeError(error, 'Unavailable')) throw error;
      io.stderr(`kubectl canary status: ${error.message} (retrying)\n`);
    }
  }
}
