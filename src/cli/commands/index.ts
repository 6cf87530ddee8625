// The cluster commands of kubectl canary (list, status, history and the manual operations), for
// registration in cli/main.ts. `deps` is a test seam; the default reaches the real cluster.
import type { Command } from '../io.ts';
import { type ClusterDeps, processClusterDeps } from './cluster.ts';
import { dashboardCommand } from './dashboard.ts';
import { historyCommand } from './history.ts';
import { listCommand } from './list.ts';
import { operationCommand } from './operate.ts';
import { statusCommand } from './status.ts';

export function clusterCommands(deps: () => ClusterDeps = processClusterDeps): Record<string, Command> {
  return {
    list: listCommand(deps),
    status: statusCommand(deps),
    history: historyCommand(deps),
    pause: operationCommand('pause', deps),
    resume: operationCommand('resume', deps),
    promote: operationCommand('promote', deps),
    abort: operationCommand('abort', deps),
    retry: operationCommand('retry', deps),
    undo: operationCommand('undo', deps),
    dashboard: dashboardCommand(deps),
    approve: operationCommand('approve', deps),
  };
}
