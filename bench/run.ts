// `npm run bench -- [precision|reaction|sequential|scale|memory|metrics-scrape|release-requests|all] [--flags]`: benchmarks on their own local cluster.
import './lib/env.ts';
import { runTasks } from './lib/runner.ts';
import { memory } from './memory.ts';
import { metricsScrape } from './metrics-scrape.ts';
import { precision } from './precision.ts';
import { reaction } from './reaction.ts';
import { releaseRequests } from './release-requests.ts';
import { scale, scaleTimeoutMinutes } from './scale.ts';
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
        "N policies, M releasing at once: adoption time, step due → weight written, API requests per step by verb/resource (audit log, own counter, apiserver), a quiet minute, RSS/heap/caches, each cluster process's CPU (defaults: --policies 1000 --releasing 100 --idle-seconds 60 --settle-minutes 10 --concurrency 16 --shards 1 --router replica-ratio; also --router ingress-nginx, --heap-mib N, --wake-workers K, --node-options=--flag; 0 is valid for policies and releasing)",
      timeoutMinutes: scaleTimeoutMinutes,
      run: scale,
    },
    {
      name: 'memory',
      describe:
        "where canaryd's memory goes: import cost per module, then RSS/heap/caches with 0 and with N resting policies (--policies 100 --settle-seconds 30 --heap-snapshot --skip-imports --node-options=--flag)",
      timeoutMinutes: 20,
      run: memory,
    },
    {
      name: 'metrics-scrape',
      describe:
        'no cluster: size of /metrics and the time one scrape holds the event loop with N policies (--policies 100,1000,5000)',
      timeoutMinutes: 5,
      run: metricsScrape,
    },
    {
      name: 'release-requests',
      describe:
        'every API request canaryd makes for one healthy 3-step ingress-nginx release with analysis, against Flagger’s 127 (--hold 60s --interval 60s)',
      timeoutMinutes: 20,
      run: releaseRequests,
    },
  ],
  process.argv.slice(2),
);
