// Drill "adoption-kill": SIGKILL canaryd while it adopts, restart it, and change templates in the
// middle of it all. Adoption writes the pause first (carrying the adopted template's hash) and
// persists the adoption after it (docs/engine.md, "Adoption"), so a kill can land before the
// pause, between the pause and its record, or after both, with a template change before or after
// any of them. Wherever they land, every policy must end adopted: its stable revision the template
// its pods run, the Deployment paused with that rollout complete and marked with its adoption,
// a changed template either adopted (rolled by Kubernetes) or released as a canary, never lost and
// never paused halfway; and no canary object left behind.
import type * as k8s from '@kubernetes/client-node';
import { waitFor } from '../../e2e/cluster/wait.ts';
import { ADOPTED_TEMPLATE_ANNOTATION } from '../../src/controller/names.ts';
import { templateHash } from '../../src/controller/template.ts';
import { createPolicy, deployApp, policyBody, readPolicy, release } from '../lib/app.ts';
import { type Canaryd, spawnCanaryd, waitReady } from '../lib/canaryd.ts';
import { benchCluster, createNamespace, logsDir } from '../lib/cluster.ts';
import { type Flags, intFlag, say, sleep, table, writeResults } from '../lib/common.ts';
import { orphans, verdict } from './release-check.ts';

const NS = 'adoption-kill';
const STEPS = [{ weight: 50, hold: '1s' }];
const ARGS = ['--resync', '1s'];

interface AppVerdict {
  round: number;
  app: string;
  changed: boolean;
  history: string;
  problems: string[];
}

const random = (low: number, high: number) => low + Math.random() * (high - low);
const hashOf = (d: k8s.V1Deployment) => templateHash(d.spec?.template as never);
/** The stable revision a policy's status records (not in bench/lib/app.ts's narrow status type). */
const stableOf = (status: unknown) =>
  (status as { release?: { stable?: { templateHash?: string } } } | undefined)?.release?.stable;

export async function adoptionKill(flags: Flags): Promise<{ ok: boolean }> {
  const rounds = intFlag(flags, 'rounds', 4);
  const perRound = intFlag(flags, 'apps', 40);
  const killsPerRound = intFlag(flags, 'kills', 3);
  const cluster = await benchCluster('adoption-kill');
  let canaryd: Canaryd = spawnCanaryd(cluster.info.kubeconfig, logsDir(cluster), ARGS);
  await waitReady(canaryd);
  await createNamespace(cluster, NS);
  const kills: Array<{ round: number; afterSpawnMs: number; adoptedBefore: number; pausedUnrecorded: number }> = [];
  const verdicts: AppVerdict[] = [];
  const orphaned: string[] = [];
  try {
    for (let round = 1; round <= rounds; round++) {
      const apps = Array.from({ length: perRound }, (_, i) => `r${round}-app-${i}`);
      const changed = new Set(apps.filter(() => Math.random() < 0.5));
      await canaryd.kill(); // the apps and their policies appear while no canaryd runs
      for (const app of apps) await deployApp(cluster, NS, app, { replicas: 2, wait: false });
      for (const app of apps) {
        await waitFor(
          async () =>
            (await cluster.apps.readNamespacedDeployment({ name: app, namespace: NS })).status?.availableReplicas === 2,
          { timeoutMs: 90_000, intervalMs: 300, description: `${app} Available` },
        );
        await createPolicy(cluster, NS, policyBody(NS, app, { steps: STEPS }));
      }
      // The templates change at random moments over the kills to come.
      const chaosMs = killsPerRound * 2500;
      const changes = [...changed].map(async (app) => {
        await sleep(random(0, chaosMs));
        await release(cluster, NS, app, 'v2');
      });
      for (let k = 0; k < killsPerRound; k++) {
        canaryd = spawnCanaryd(cluster.info.kubeconfig, logsDir(cluster), ARGS);
        // canaryd adopts as soon as its caches are filled, about when it answers /readyz: kill
        // it somewhere in the 700 ms after that.
        const readyMs = await waitReady(canaryd);
        const afterReadyMs = Math.round(random(0, 700));
        await sleep(afterReadyMs);
        await canaryd.kill();
        const afterSpawnMs = readyMs + afterReadyMs;
        const policies = await Promise.all(apps.map((app) => readPolicy(cluster, NS, app)));
        const adoptedBefore = policies.filter((p) => stableOf(p?.status) !== undefined).length;
        // Killed between the pause and its record: paused and marked, nothing in the status yet.
        const deployments = (await cluster.apps.listNamespacedDeployment({ namespace: NS })).items;
        const pausedUnrecorded = apps.filter((app, i) => {
          const d = deployments.find((x) => x.metadata?.name === app);
          const marked = d?.metadata?.annotations?.[ADOPTED_TEMPLATE_ANNOTATION] !== undefined;
          return d?.spec?.paused === true && marked && stableOf(policies[i]?.status) === undefined;
        }).length;
        kills.push({ round, afterSpawnMs, adoptedBefore, pausedUnrecorded });
        say(
          `round ${round}: SIGKILL ${afterSpawnMs} ms after start; ${adoptedBefore}/${apps.length} adoptions recorded, ${pausedUnrecorded} paused and not recorded yet`,
        );
      }
      await Promise.all(changes);
      canaryd = spawnCanaryd(cluster.info.kubeconfig, logsDir(cluster), ARGS);
      await waitReady(canaryd);
      say(`round ${round}: ${changed.size} of ${apps.length} templates changed; canaryd running again`);

      const settled = async (app: string) => {
        const policy = await readPolicy(cluster, NS, app);
        const d = await cluster.apps.readNamespacedDeployment({ name: app, namespace: NS });
        const status = policy?.status;
        const ready = (
          status as { conditions?: Array<{ type: string; status: string }> } | undefined
        )?.conditions?.find((c) => c.type === 'Ready');
        return (
          ready?.status === 'True' &&
          (status?.phase === 'idle' || status?.phase === 'succeeded') &&
          stableOf(status)?.templateHash === hashOf(d)
        );
      };
      await waitFor(async () => (await Promise.all(apps.map(settled))).every(Boolean), {
        timeoutMs: 180_000,
        intervalMs: 1000,
        description: `round ${round}: every policy adopted, its stable revision the Deployment's template`,
      }).catch((error: Error) => say(error.message));
      await waitFor(async () => (await orphans(cluster, NS)).length === 0, {
        timeoutMs: 30_000,
        description: 'canary objects removed',
      }).catch(() => {});
      orphaned.push(...(await orphans(cluster, NS)).map((o) => `round ${round}: ${o}`));
      for (const app of apps) verdicts.push(await judge(cluster, round, app, changed.has(app)));
      const bad = verdicts.filter((v) => v.round === round && v.problems.length > 0);
      say(`round ${round}: ${apps.length - bad.length}/${apps.length} as they must be`);
    }
  } finally {
    await canaryd.stop();
    await cluster.down();
  }
  const bad = verdicts.filter((v) => v.problems.length > 0);
  const ok = bad.length === 0 && orphaned.length === 0 && kills.length === rounds * killsPerRound;
  table(
    ['round', 'app', 'template changed', 'history', 'problems'],
    verdicts.map((v) => [v.round, v.app, v.changed ? 'yes' : 'no', v.history, v.problems.join('; ') || 'none']),
  );
  const shapes = new Map<string, number>();
  for (const v of verdicts) shapes.set(v.history, (shapes.get(v.history) ?? 0) + 1);
  say(`outcomes: ${JSON.stringify(Object.fromEntries(shapes))}`);
  const window = kills.reduce((sum, k) => sum + k.pausedUnrecorded, 0);
  say(`found paused and not recorded at a kill: ${window} (a policy may count at more than one kill)`);
  say(
    `${kills.length} SIGKILLs during adoption over ${rounds} rounds, ${verdicts.length} policies; ${bad.length} with problems; ${orphaned.length} orphans`,
  );
  say(`verdict: ${verdict(ok)}`);
  writeResults('drill-adoption-kill', {
    setup: { rounds, appsPerRound: perRound, killsPerRound, steps: STEPS, replicas: 2 },
    kills,
    killedBetweenPauseAndRecord: window,
    policies: verdicts,
    outcomes: Object.fromEntries(shapes),
    orphaned,
    verdict: verdict(ok),
  });
  return { ok };
}

/** What the policy and its Deployment must say once everything settled. */
async function judge(
  cluster: Awaited<ReturnType<typeof benchCluster>>,
  round: number,
  app: string,
  changed: boolean,
): Promise<AppVerdict> {
  const problems: string[] = [];
  const d = await cluster.apps.readNamespacedDeployment({ name: app, namespace: NS });
  const status = (await readPolicy(cluster, NS, app))?.status;
  const release = status?.release as
    | { stable?: { templateHash?: string }; history?: Array<{ outcome?: string; changeCause?: string }> }
    | undefined;
  // The version a history entry ends at: the last one its change cause names ("v1 → v2": v2).
  const history = (release?.history ?? []).map((h) => `${h.outcome}(${h.changeCause?.match(/v\d/g)?.at(-1) ?? '?'})`);
  const image = d.spec?.template.spec?.containers[0]?.image;
  const want = changed ? 'canaryd-demo:v2' : 'canaryd-demo:v1';
  if (image !== want) problems.push(`Deployment image ${image}, expected ${want}`);
  if (d.spec?.paused !== true) problems.push('Deployment not paused');
  const replicas = d.spec?.replicas ?? 1;
  const s = d.status ?? {};
  if (
    (s.observedGeneration ?? 0) < (d.metadata?.generation ?? 0) ||
    s.updatedReplicas !== replicas ||
    s.availableReplicas !== replicas
  )
    problems.push(
      `rollout not complete (updated ${s.updatedReplicas}, available ${s.availableReplicas} of ${replicas})`,
    );
  if (release?.stable?.templateHash !== hashOf(d)) problems.push('stable revision is not the template the pods run');
  if (d.metadata?.annotations?.[ADOPTED_TEMPLATE_ANNOTATION] === undefined) problems.push('no adoption mark');
  const shape = history.join(' → ');
  const allowed = changed ? ['adopted(v2)', 'adopted(v1) → succeeded(v2)'] : ['adopted(v1)'];
  if (!allowed.includes(shape)) problems.push(`history ${shape || '(none)'}, expected ${allowed.join(' or ')}`);
  return { round, app, changed, history: shape, problems };
}
