// kubectl canary history NAME: every release of the policy with its outcome, and who operated it.
import { kubeReleaseReader } from '../../server/views.ts';
import type { Command } from '../io.ts';
import { oneName } from './args.ts';
import { type ClusterDeps, clusterCommand } from './cluster.ts';
import { renderHistory } from './render.ts';
import { releaseNotFound } from './status.ts';

export const historyCommand = (deps: () => ClusterDeps): Command =>
  clusterCommand(
    'history',
    {
      summary: 'list the releases of a policy (revisions for undo --to-revision)',
      usage: 'kubectl canary history NAME [-n NAMESPACE]',
    },
    deps,
    async (parsed, { io, session }) => {
      const name = oneName(parsed.positionals);
      const { kube, namespace } = session();
      const view = await kubeReleaseReader(kube, io.now).get(namespace, name);
      if (view === undefined) return releaseNotFound(io, 'history', namespace, name);
      io.stdout(renderHistory(view));
      return 0;
    },
  );
