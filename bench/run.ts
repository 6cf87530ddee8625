// `npm run bench -- [precision|reaction|sequential|scale|all] [--flags]`: benchmarks on their own local cluster.
import './lib/env.ts';
import { runTasks } from './lib/runner.ts';
import { precision } from './precision.ts';
import { reaction } from './reaction.ts';
import { scale } from './scale.ts';
import { sequential } from './sequential.ts';

await runTasks(
  'bench',
  [
    {
      name: 'precision',
      describe: 'replica-ratio requested vs achieved share (solver grid + cluster points; --requests, --no-cluster)',
      timeoutMinutes: 8,
      run: precision,
    },
    {
      name: 'reaction',
      describe: 'SLO breach → weight 0, over N trials (--trials 20, --workers 4, --interval 2s, --window 10s)',
      timeoutMinutes: 15,
      run: reaction,
    },
    {
      name: 'sequential',
      describe:
        'simulated releases (no cluster): time to roll back 0.1 % → 0.5 % errors, false rollbacks of 10,000 healthy releases, +20 % latency (--trials 200 --releases 10000 --long-releases 2000)',
      timeoutMinutes: 30,
      run: sequential,
    },
    {
      name: 'scale',
      describe:
        'N policies, M releasing at once: RSS/CPU, ready time, step latency, API requests (--policies 1000 --releasing 100)',
      timeoutMinutes: 40,
      run: scale,
    },
  ],
  process.argv.slice(2),
);
