// kubectl canary status NAME [--watch]: phase, step, weight, router, the latest analysis per
// check and the time until the next step. Exit 1 when the release failed or is rolling back, so
// scripts can gate on it. --watch redraws on every change until Ctrl-C.
import { isKubeError } from '../../kube/api.ts';
import type { ReleaseReader } from '../../server/ports.ts';
import { kubeReleaseReader, type ReleaseView } from '../../server/views.ts';
import type { CliIo, Command } from '../io.ts';
import { oneName, secondsFlag } from './args.ts';
import { type ClusterDeps, clusterCommand } from './cluster.ts';
import { FAILED_PHASES, renderStatus } from './render.ts';

const CLEAR_SCREEN = '\x1b[H\x1b[2J';

export const statusExitCode = (view: ReleaseView): number => (FAILED_PHASES.has(view.status.phase) ? 1 : 0);

export function releaseNotFound(io: CliIo, command: string, namespace: string, name: string): number {
  io.stderr(`kubectl canary ${command}: CanaryPolicy ${namespace}/${name} not found\n`);
  return 1;
}

export const statusCommand = (deps: () => ClusterDeps): Command =>
  clusterCommand(
    'status',
    {
      summary: 'show a release: phase, step, weight, analysis, next step (--watch: live)',
      usage: 'kubectl canary status NAME [-n NAMESPACE] [-w|--watch] [--interval 2s]',
      options: { watch: { type: 'boolean', short: 'w' }, interval: { type: 'string' } },
    },
    deps,
    async (parsed, { io, session, deps: d }) => {
      const name = oneName(parsed.positionals);
      const intervalMs = Math.max(1, secondsFlag('interval', parsed.values.interval, 2)) * 1000;
      const { kube, namespace } = session();
      const reader = kubeReleaseReader(kube, io.now);
      const first = await reader.get(namespace, name);
      if (first === undefined) return releaseNotFound(io, 'status', namespace, name);
      if (parsed.values.watch !== true) {
        io.stdout(renderStatus(first, io.now()));
        return statusExitCode(first);
      }
      return watchStatus(io, d, reader, namespace, name, first, intervalMs);
    },
  );

/** Redraws the status until Ctrl-C; on a terminal every interval, elsewhere only on change. */
async function watchStatus(
  io: CliIo,
  d: ClusterDeps,
  reader: ReleaseReader,
  namespace: string,
  name: string,
  first: ReleaseView,
  intervalMs: number,
): Promise<number> {
  const interrupted = d.interrupt();
  let view = first;
  let shown = '';
  for (;;) {
    // The screen without the clock-dependent parts decides whether anything changed.
    const changeKey = renderStatus(view, new Date(0));
    if (d.isTTY) io.stdout(CLEAR_SCREEN + renderStatus(view, io.now()));
    else if (changeKey !== shown) io.stdout(`${shown === '' ? '' : '\n'}${renderStatus(view, io.now())}`);
    shown = changeKey;
    await d.sleep(intervalMs, interrupted);
    if (interrupted.aborted) return statusExitCode(view);
    try {
      const next = await reader.get(namespace, name);
      if (next === undefined) {
        io.stderr(`kubectl canary status: CanaryPolicy ${namespace}/${name} was deleted\n`);
        return 1;
      }
      view = next;
    } catch (error) {
      // A blip of the API server should not end a watch; anything else (Forbidden) does.
      if (!isKubeError(error, 'Unavailable')) throw error;
      io.stderr(`kubectl canary status: ${error.message} (retrying)\n`);
    }
  }
}
