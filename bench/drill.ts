// `npm run drill -- [sigkill|adoption-kill|apiserver-outage|prometheus-outage|conflicting-writers|bad-input|all] [--flags]`
import './lib/env.ts';
import { adoptionKill } from './drills/adoption-kill.ts';
import { badInput } from './drills/bad-input.ts';
import { conflictingWriters } from './drills/conflicting-writers.ts';
import { apiserverOutage, prometheusOutage } from './drills/outages.ts';
import { sigkill } from './drills/sigkill.ts';
import { runTasks } from './lib/runner.ts';

await runTasks(
  'drill',
  [
    {
      name: 'sigkill',
      describe: 'SIGKILL canaryd at random moments during releases and restart it (--count 20)',
      timeoutMinutes: 15,
      run: sigkill,
    },
    {
      name: 'adoption-kill',
      describe: 'SIGKILL canaryd while it adopts, templates changed meanwhile (--rounds 4 --apps 40 --kills 3)',
      timeoutMinutes: 15,
      run: adoptionKill,
    },
    {
      name: 'apiserver-outage',
      describe: 'stop kube-apiserver mid-release (--seconds 30), restart it with the same command line',
      timeoutMinutes: 6,
      run: apiserverOutage,
    },
    {
      name: 'prometheus-outage',
      describe: 'stop Prometheus mid-release (--seconds 25): no promotion while away, resumes after',
      timeoutMinutes: 6,
      run: prometheusOutage,
    },
    {
      name: 'conflicting-writers',
      describe: 'another client edits canary replicas, Service selectors, the canary Ingress weight (--wait 20)',
      timeoutMinutes: 8,
      run: conflictingWriters,
    },
    {
      name: 'bad-input',
      describe: '1,000 random and hostile policy files through --policy-dir (--count 1000 --batch 100 --seed N)',
      timeoutMinutes: 12,
      run: badInput,
    },
  ],
  process.argv.slice(2),
);
