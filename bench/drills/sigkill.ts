// Drill "sigkill": SIGKILL canaryd at random moments while releases run, restart it each time.
// Four apps release at once per round; some new revisions answer 50 % errors (the analysis must
// roll them back), the others are healthy (they must be promoted). Every release must end as the
// analysis says, with no step repeated or skipped, and no canary object left behind.
import { waitFor } from '../../e2e/cluster/wait.ts';
import {
  backgroundLoad,
  createPolicy,
  deployApp,
  errorRateCheck,
  policyBody,
  RESTING,
  readPolicy,
  release,
  type StatusEvent,
  waitAdopted,
  watchPolicies,
} from '../lib/app.ts';
import { type Canaryd, sampleProcess, spawnCanaryd, waitReady } from '../lib/canaryd.ts';
import { benchCluster, createNamespace, logsDir } from '../lib/cluster.ts';
import { type Flags, intFlag, say, sleep, table, writeResults } from '../lib/common.ts';
import { checkRelease, orphans, type ReleaseVerdict, verdict } from './release-check.ts';

const NS = 'sigkill';
const APPS = ['app-0', 'app-1', 'app-2', 'app-3'];
const STEPS = [
  { weight: 20, hold: '3s' },
  { weight: 40, hold: '3s' },
  { weight: 50, hold: '3s' },
];

export async function sigkill(flags: Flags): Promise<{ ok: boolean }> {
  const count = intFlag(flags, 'count', 20);
  const maxRounds = intFlag(flags, 'rounds', 12);
  const cluster = await benchCluster('sigkill');
  const args = ['--resync', '1s'];
  let canaryd: Canaryd = spawnCanaryd(cluster.info.kubeconfig, logsDir(cluster), args);
  await waitReady(canaryd);
  await createNamespace(cluster, NS);
  const events: StatusEvent[] = [];
  const watch = await watchPolicies(cluster, NS, (e) => events.push(e));
  const loads = [];
  const kills: Array<{ at: string; round: number; states: string[] }> = [];
  const verdicts: Array<ReleaseVerdict & { round: number }> = [];
  const orphaned: string[] = [];
  let rounds = 0;
  try {
    for (const app of APPS) {
      await deployApp(cluster, NS, app, { replicas: 3 });
      await createPolicy(
        cluster,
        NS,
        policyBody(NS, app, {
          steps: STEPS,
          analysis: {
            prometheus: { address: cluster.info.prometheusUrl, timeout: '2s' },
            interval: '2s',
            window: '10s',
            failureLimit: 0,
            inconclusiveLimit: 1000,
            checks: [errorRateCheck(app)],
          },
        }),
      );
    }
    for (const app of APPS) await waitAdopted(cluster, NS, app);
    for (const app of APPS) loads.push(backgroundLoad(cluster, NS, app, { perSecond: 20, maxRequests: 100_000 }));
    say(
      `${APPS.length} apps adopted (3 replicas each, steps 20/40/50 % held 3 s, error-rate analysis every 2 s), load on`,
    );
    while (kills.length < count && rounds < maxRounds) {
      const round = ++rounds;
      const version = `v${round + 1}`;
      const bad = new Set(APPS.filter((_, i) => (i + round) % 2 === 1));
      const since = Date.now();
      const imagesBefore = new Map<string, string | undefined>();
      for (const app of APPS) {
        const d = await cluster.apps.readNamespacedDeployment({ name: app, namespace: NS });
        imagesBefore.set(app, d.spec?.template.spec?.containers[0]?.image);
      }
      for (const app of APPS) await release(cluster, NS, app, version, { errorRate: bad.has(app) ? 0.5 : 0 });
      say(`round ${round}: ${version} released to ${APPS.join(', ')} (bad: ${[...bad].join(', ')})`);
      const allEnded = async () => {
        for (const app of APPS) {
          const p = await readPolicy(cluster, NS, app);
          const current = p?.status?.release?.history.at(-1);
          if (
            !p?.status?.phase ||
            !RESTING.has(p.status.phase) ||
            !current ||
            Date.parse(current.endedAt ?? '0') < since
          )
            return false;
        }
        return true;
      };
      const roundDeadline = Date.now() + 180_000;
      while (!(await allEnded()) && Date.now() < roundDeadline) {
        if (kills.length >= count) {
          await sleep(500);
          continue;
        }
        await sleep(300 + Math.random() * 3500);
        if (await allEnded()) break;
        const states = await Promise.all(
          APPS.map(async (app) => {
            const s = (await readPolicy(cluster, NS, app))?.status;
            return `${app}:${s?.phase}@${s?.step || '-'}`;
          }),
        );
        await canaryd.kill();
        kills.push({ at: new Date().toISOString(), round, states });
        say(`SIGKILL #${kills.length} (round ${round}; ${states.join(' ')})`);
        await sleep(Math.random() * 1000);
        canaryd = spawnCanaryd(cluster.info.kubeconfig, logsDir(cluster), args);
        await waitReady(canaryd);
      }
      // Let the last re-pauses and deletions land before looking for leftovers.
      await waitFor(async () => (await orphans(cluster, NS)).length === 0, {
        timeoutMs: 30_000,
        description: 'canary objects removed',
      }).catch(() => {});
      const left = await orphans(cluster, NS);
      orphaned.push(...left.map((o) => `round ${round}: ${o}`));
      for (const app of APPS) {
        const v = { round, ...checkRelease(app, events, since, bad.has(app) ? 'failed' : 'succeeded', STEPS.length) };
        const d = await cluster.apps.readNamespacedDeployment({ name: app, namespace: NS });
        const image = d.spec?.template.spec?.containers[0]?.image;
        // A healthy release rolls the stable Deployment; a rolled-back one gets its old template back.
        const wantImage = bad.has(app) ? imagesBefore.get(app) : `canaryd-demo:${version}`;
        if (image !== wantImage) v.problems.push(`Deployment image ${image}, expected ${wantImage}`);
        if (d.spec?.paused !== true) v.problems.push('Deployment not paused after the release');
        verdicts.push(v);
        say(
          `round ${round} ${app}: ${v.phase} (expected ${v.expected}), steps ${v.steps.join('→') || '-'}${v.problems.length ? `; PROBLEMS: ${v.problems.join('; ')}` : ''}`,
        );
      }
      if (left.length) say(`round ${round}: orphaned ${left.join(', ')}`);
    }
  } finally {
    watch.stop();
    for (const l of loads) await l.stop();
    const usage = sampleProcess(canaryd.pid).stop();
    say(`canaryd at the end: ${JSON.stringify({ rssMiB: usage.rssMiBMax })}`);
    await canaryd.stop();
    await cluster.down();
  }
  const bad = verdicts.filter((v) => v.problems.length > 0);
  const ok = kills.length >= count && bad.length === 0 && orphaned.length === 0;
  table(
    ['round', 'app', 'expected', 'ended', 'steps', 'problems'],
    verdicts.map((v) => [v.round, v.app, v.expected, v.phase, v.steps.join('→'), v.problems.join('; ') || 'none']),
  );
  say(
    `${kills.length} SIGKILLs over ${rounds} rounds, ${verdicts.length} releases; ${bad.length} with problems; ${orphaned.length} orphans`,
  );
  say(`verdict: ${verdict(ok)}`);
  writeResults('drill-sigkill', {
    setup: {
      apps: APPS.length,
      steps: STEPS,
      analysis: 'error-rate every 2 s over 10 s, failureLimit 0',
      requestedKills: count,
    },
    kills,
    releases: verdicts,
    orphaned,
    verdict: verdict(ok),
  });
  return { ok };
}
