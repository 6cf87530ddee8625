// kubectl canary list [-n NAMESPACE | -A]: the releases with phase, step, weight and next step.
import { kubeReleaseReader } from '../../server/views.ts';
import type { Command } from '../io.ts';
import { UsageError } from './args.ts';
import { type ClusterDeps, clusterCommand } from './cluster.ts';
import { renderList } from './render.ts';

export const listCommand = (deps: () => ClusterDeps): Command =>
  clusterCommand(
    'list',
    {
      summary: 'list CanaryPolicies with their phase, step and weight',
      usage: 'kubectl canary list [-n NAMESPACE | -A] [--context CONTEXT] [--kubeconfig FILE]',
      options: { 'all-namespaces': { type: 'boolean', short: 'A' } },
    },
    deps,
    async (parsed, { io, session }) => {
      if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument ${parsed.positionals[0]}`);
      const all = parsed.values['all-namespaces'] === true;
      if (all && parsed.cluster.namespace !== undefined) throw new UsageError('-A and -n exclude each other');
      const { kube, namespace } = session();
      const views = await kubeReleaseReader(kube, io.now).list(all ? undefined : namespace);
      if (views.length === 0) {
        io.stderr(all ? 'No CanaryPolicies found.\n' : `No CanaryPolicies found in namespace ${namespace}.\n`);
        return 0;
      }
      io.stdout(renderList(views, io.now(), all));
      return 0;
    },
  );
