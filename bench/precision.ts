// Benchmark "precision": how close the replica-ratio router gets to a requested share. The solver
// (src/traffic/replica-solver.ts) over a grid of stable replicas × weights × surge budgets, then a
// few grid points on the local cluster: the share the load generator really measures (requests
// answered by v2 / all, endpoints chosen uniformly like kube-proxy) against the request.
import { sendLoad } from '../e2e/cluster/loadgen.ts';
import { waitFor } from '../e2e/cluster/wait.ts';
import { solveReplicaSplit } from '../src/traffic/replica-solver.ts';
import { createPolicy, deployApp, policyBody, readPolicy, release, waitAdopted } from './lib/app.ts';
import { spawnCanaryd, waitReady } from './lib/canaryd.ts';
import { benchCluster, createNamespace, logsDir } from './lib/cluster.ts';
import { type Flags, intFlag, round, say, table, writeResults } from './lib/common.ts';

const WEIGHTS = [1, 5, 10, 25, 50];
const BUDGETS = [0, 5];
const STABLE = Array.from({ length: 20 }, (_, i) => i + 1);
/** [stable replicas, weight, surge budget] verified on the cluster. */
const CLUSTER_POINTS: Array<[number, number, number]> = [
  [3, 25, 0],
  [4, 25, 0],
  [9, 10, 0],
  [10, 5, 5],
  [19, 5, 0],
  [2, 50, 0],
];

export function solverGrid() {
  const points = [];
  for (const stable of STABLE)
    for (const weight of WEIGHTS)
      for (const surgeBudget of BUDGETS) {
        const s = solveReplicaSplit(weight, stable, { surgeBudget });
        points.push({
          stable,
          weight,
          surgeBudget,
          canaryReplicas: s.canaryReplicas,
          stableReplicas: s.stableReplicas,
          achieved: round(s.achievedShare, 3),
          errorPoints: round(s.shareError, 3),
          extra: s.extra,
        });
      }
  const groups = [];
  for (const weight of WEIGHTS)
    for (const surgeBudget of BUDGETS) {
      const g = points.filter((p) => p.weight === weight && p.surgeBudget === surgeBudget);
      const errors = g.map((p) => p.errorPoints ?? 0);
      groups.push({
        weight,
        surgeBudget,
        meanErrorPoints: round(errors.reduce((a, b) => a + b, 0) / errors.length, 2),
        maxErrorPoints: round(Math.max(...errors), 2),
        withinFifth: g.filter((p) => (p.errorPoints ?? 0) <= weight / 5 + 1e-9).length,
        of: g.length,
        extraMean: round(g.reduce((a, p) => a + p.extra, 0) / g.length, 2),
        extraMax: Math.max(...g.map((p) => p.extra)),
        canaryPodsMean: round(g.reduce((a, p) => a + p.canaryReplicas, 0) / g.length, 2),
      });
    }
  return { points, groups };
}

/** Wilson 95 % interval for k of n, in percent. */
function wilson(k: number, n: number): [number, number] {
  if (n === 0) return [0, 100];
  const z = 1.96;
  const p = k / n;
  const d = 1 + (z * z) / n;
  const c = (p + (z * z) / (2 * n)) / d;
  const h = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / d;
  return [round((c - h) * 100, 2) ?? 0, round((c + h) * 100, 2) ?? 0];
}

async function onCluster(flags: Flags) {
  const requests = intFlag(flags, 'requests', 2000);
  const cluster = await benchCluster('precision');
  const canaryd = spawnCanaryd(cluster.info.kubeconfig, logsDir(cluster), ['--resync', '1s']);
  say(`canaryd ready in ${await waitReady(canaryd)} ms`);
  const results = [];
  try {
    await Promise.all(
      CLUSTER_POINTS.map(async ([stable, weight, budget], i) => {
        const ns = `precision-${i}`;
        await createNamespace(cluster, ns);
        await deployApp(cluster, ns, 'web', { replicas: stable });
        await createPolicy(
          cluster,
          ns,
          policyBody(ns, 'web', { steps: [{ weight, hold: '30m' }], surgeBudget: budget }),
        );
        await waitAdopted(cluster, ns, 'web');
        await release(cluster, ns, 'web', 'v2');
      }),
    );
    say(`${CLUSTER_POINTS.length} releases started, each holding one step`);
    for (const [i, [stable, weight, budget]] of CLUSTER_POINTS.entries()) {
      const ns = `precision-${i}`;
      const solved = solveReplicaSplit(weight, stable, { surgeBudget: budget });
      const policy = await waitFor(
        async () => {
          const p = await readPolicy(cluster, ns, 'web');
          const canary = await cluster.apps
            .readNamespacedDeployment({ name: 'web-canary', namespace: ns })
            .catch(() => null);
          const stableDep = await cluster.apps.readNamespacedDeployment({ name: 'web', namespace: ns });
          const ready =
            (p?.status?.weight ?? 0) > 0 &&
            canary?.status?.readyReplicas === solved.canaryReplicas &&
            stableDep.status?.readyReplicas === solved.stableReplicas;
          return ready ? p : undefined;
        },
        { timeoutMs: 90_000, intervalMs: 500, description: `${ns}: canary at its step with the solver's pods` },
      );
      // Let the endpoints settle, then measure.
      await new Promise((r) => setTimeout(r, 1500));
      const report = await sendLoad(cluster.kc, { namespace: ns, service: 'web', requests, concurrency: 4 });
      const answered = Object.values(report.byVersion).reduce((a, b) => a + b, 0);
      const v2 = report.byVersion.v2 ?? 0;
      const measured = answered ? (v2 * 100) / answered : 0;
      const [lo, hi] = wilson(v2, answered);
      const row = {
        stable,
        weight,
        surgeBudget: budget,
        solver: {
          canary: solved.canaryReplicas,
          stable: solved.stableReplicas,
          achieved: round(solved.achievedShare, 2),
        },
        statusWeight: policy.status?.weight,
        requests: answered,
        failures: report.failures,
        measuredShare: round(measured, 2),
        ci95: [lo, hi],
        solverShareInCi: solved.achievedShare >= lo && solved.achievedShare <= hi,
      };
      say(
        `S=${stable} w=${weight} % budget ${budget}: ${solved.canaryReplicas} canary beside ${solved.stableReplicas} stable, ` +
          `solver ${round(solved.achievedShare, 2)} %, status ${policy.status?.weight} %, measured ${row.measuredShare} % [${lo}, ${hi}] over ${answered} requests`,
      );
      results.push(row);
    }
  } finally {
    await canaryd.stop();
    await cluster.down();
  }
  return { requestsPerPoint: requests, points: results };
}

export async function precision(flags: Flags): Promise<{ ok: boolean }> {
  say(`solver grid: stable 1..20 × weights ${WEIGHTS.join(', ')} % × surge budgets ${BUDGETS.join(', ')}`);
  const grid = solverGrid();
  table(
    ['weight %', 'budget', 'mean |err| pp', 'max |err| pp', 'within w/5', 'extra mean', 'extra max', 'canary pods'],
    grid.groups.map((g) => [
      g.weight,
      g.surgeBudget,
      g.meanErrorPoints,
      g.maxErrorPoints,
      `${g.withinFifth}/${g.of}`,
      g.extraMean,
      g.extraMax,
      g.canaryPodsMean,
    ]),
  );
  let cluster: Awaited<ReturnType<typeof onCluster>> | { skipped: string } = { skipped: '--no-cluster' };
  if (!flags['no-cluster']) {
    cluster = await onCluster(flags);
    table(
      ['stable', 'weight %', 'budget', 'pods c/s', 'solver %', 'status %', 'measured %', '95 % CI', 'in CI'],
      cluster.points.map((p) => [
        p.stable,
        p.weight,
        p.surgeBudget,
        `${p.solver.canary}/${p.solver.stable}`,
        p.solver.achieved,
        p.statusWeight,
        p.measuredShare,
        `${p.ci95[0]}–${p.ci95[1]}`,
        p.solverShareInCi ? 'yes' : 'NO',
      ]),
    );
  }
  writeResults('precision', {
    setup: {
      grid: {
        stable: '1..20',
        weights: WEIGHTS,
        surgeBudgets: BUDGETS,
        maxCanaryReplicas: 'stable replicas (default)',
      },
      cluster:
        'local cluster (real control plane, kwok nodes); one policy per point, router replica-ratio, one step held; ' +
        'load generator picks a ready endpoint uniformly per request (kube-proxy-like)',
    },
    groups: grid.groups,
    points: grid.points,
    cluster,
  });
  const ok = 'points' in cluster ? cluster.points.every((p) => p.solverShareInCi) : true;
  return { ok };
}
