// Drill "conflicting-writers": during a release another client changes what canaryd manages —
// scales the canary Deployment, edits the Service selector, edits the canary Ingress weight.
// Reported per edit: did canaryd put its intended state back, how fast, and did it record an
// Event. This drill observes; it does not change the controller.
import type * as k8s from '@kubernetes/client-node';
import { waitFor } from '../../e2e/cluster/wait.ts';
import { solveReplicaSplit } from '../../src/traffic/replica-solver.ts';
import {
  createPolicy,
  deployApp,
  eventsIn,
  mergePatch,
  policyBody,
  readPolicy,
  release,
  waitAdopted,
} from '../lib/app.ts';
import { spawnCanaryd, waitReady } from '../lib/canaryd.ts';
import { type BenchCluster, benchCluster, createNamespace, logsDir } from '../lib/cluster.ts';
import { type Flags, intFlag, say, sleep, table, writeResults } from '../lib/common.ts';
import { verdict } from './release-check.ts';

const NGINX = 'nginx.ingress.kubernetes.io/';

interface EditResult {
  router: string;
  edit: string;
  before: string;
  editedTo: string;
  after: string;
  restored: boolean;
  restoredAfterMs: number | null;
  events: string[];
  note?: string;
}

async function tryEdit(
  cluster: BenchCluster,
  namespace: string,
  router: string,
  edit: string,
  read: () => Promise<string>,
  write: () => Promise<void>,
  undo: (() => Promise<void>) | undefined,
  waitSeconds: number,
): Promise<EditResult> {
  const before = await read();
  const eventsBefore = new Set(
    (await eventsIn(cluster, namespace)).map((e) => `${e.reason}|${e.object}|${e.message}|${e.count}`),
  );
  const at = Date.now();
  await write();
  const editedTo = await read();
  let restoredAt: number | undefined;
  await waitFor(
    async () => {
      if ((await read()) === before) {
        restoredAt = Date.now();
        return true;
      }
      return false;
    },
    { timeoutMs: waitSeconds * 1000, intervalMs: 200, description: `${edit} restored` },
  ).catch(() => {});
  await sleep(1000);
  const after = await read();
  const events = (await eventsIn(cluster, namespace))
    .filter((e) => !eventsBefore.has(`${e.reason}|${e.object}|${e.message}|${e.count}`))
    .filter((e) => e.object.startsWith('CanaryPolicy/') || e.reason.toLowerCase().includes('drift'))
    .map((e) => `${e.type} ${e.reason} ${e.object}: ${e.message}`.slice(0, 200));
  const result: EditResult = {
    router,
    edit,
    before,
    editedTo,
    after,
    restored: restoredAt !== undefined,
    restoredAfterMs: restoredAt === undefined ? null : restoredAt - at,
    events,
  };
  if (!result.restored && undo) {
    await undo();
    result.note = 'not restored by canaryd within the wait; the drill put it back itself';
  }
  say(
    `${router}: ${edit}: ${before} → ${editedTo} → ${after} ${result.restored ? `(restored after ${result.restoredAfterMs} ms)` : '(NOT restored)'}; events: ${events.length ? events.join(' | ') : 'none'}`,
  );
  return result;
}

const replicasOf = async (cluster: BenchCluster, namespace: string, name: string) =>
  String((await cluster.apps.readNamespacedDeployment({ name, namespace })).spec?.replicas);
const selectorOf = async (cluster: BenchCluster, namespace: string, name: string) =>
  JSON.stringify((await cluster.core.readNamespacedService({ name, namespace })).spec?.selector ?? {});

/** 'in proportion' when the canary has the replicas the solver gives for `weight` beside the stable ones. */
const proportionOf = async (cluster: BenchCluster, namespace: string, weight: number) => {
  const stable = Number(await replicasOf(cluster, namespace, 'web'));
  const canary = Number(await replicasOf(cluster, namespace, 'web-canary'));
  const needed = solveReplicaSplit(weight, stable, { surgeBudget: 0 }).canaryReplicas;
  return canary === needed ? 'in proportion' : `${canary} canary beside ${stable} stable (${weight} % needs ${needed})`;
};

export async function conflictingWriters(flags: Flags): Promise<{ ok: boolean }> {
  const waitSeconds = intFlag(flags, 'wait', 20);
  const cluster = await benchCluster('conflicting-writers');
  const canaryd = spawnCanaryd(cluster.info.kubeconfig, logsDir(cluster), ['--resync', '1s']);
  await waitReady(canaryd);
  const results: EditResult[] = [];
  try {
    // replica-ratio
    const rr = 'cw-rr';
    await createNamespace(cluster, rr);
    await deployApp(cluster, rr, 'web', { replicas: 4 });
    await createPolicy(cluster, rr, policyBody(rr, 'web', { steps: [{ weight: 25, hold: '30m' }] }));
    await waitAdopted(cluster, rr, 'web');
    await release(cluster, rr, 'web', 'v2');
    await waitFor(
      async () =>
        ((await readPolicy(cluster, rr, 'web'))?.status?.weight ?? 0) > 0 &&
        (await cluster.apps.readNamespacedDeployment({ name: 'web-canary', namespace: rr })).status?.readyReplicas ===
          1,
      { timeoutMs: 60_000, description: 'replica-ratio step 1 with its canary ready' },
    );
    say('replica-ratio release at step 1 (1 canary beside 4 stable)');
    results.push(
      await tryEdit(
        cluster,
        rr,
        'replica-ratio',
        'scale the canary Deployment to 3',
        () => replicasOf(cluster, rr, 'web-canary'),
        async () => {
          await cluster.apps.patchNamespacedDeployment(
            { name: 'web-canary', namespace: rr, body: { spec: { replicas: 3 } } },
            mergePatch,
          );
        },
        async () => {
          await cluster.apps.patchNamespacedDeployment(
            { name: 'web-canary', namespace: rr, body: { spec: { replicas: 1 } } },
            mergePatch,
          );
        },
        waitSeconds,
      ),
    );
    results.push(
      await tryEdit(
        cluster,
        rr,
        'replica-ratio',
        'add a label to the Service selector (canary and stable pods drop out)',
        () => selectorOf(cluster, rr, 'web'),
        async () => {
          await cluster.core.patchNamespacedService(
            { name: 'web', namespace: rr, body: { spec: { selector: { edited: 'by-someone' } } } },
            mergePatch,
          );
        },
        async () => {
          await cluster.core.patchNamespacedService(
            { name: 'web', namespace: rr, body: { spec: { selector: { edited: null } } } },
            mergePatch,
          );
        },
        waitSeconds,
      ),
    );
    results.push(
      await tryEdit(
        cluster,
        rr,
        'replica-ratio',
        // The stable size is the user's (or an autoscaler's): canaryd's intent is the share, so
        // "restored" means the canary resized to keep 25 % beside 6 stable pods.
        'scale the stable Deployment from 4 to 6 (as an autoscaler would): canary resized to keep 25 %',
        () => proportionOf(cluster, rr, 25),
        async () => {
          await cluster.apps.patchNamespacedDeployment(
            { name: 'web', namespace: rr, body: { spec: { replicas: 6 } } },
            mergePatch,
          );
        },
        undefined,
        waitSeconds,
      ),
    );

    // ingress-nginx
    const ing = 'cw-ing';
    await createNamespace(cluster, ing);
    await cluster.networking
      .createIngressClass({ body: { metadata: { name: 'nginx' }, spec: { controller: 'k8s.io/ingress-nginx' } } })
      .catch(() => {});
    await deployApp(cluster, ing, 'web', { replicas: 2 });
    await cluster.networking.createNamespacedIngress({
      namespace: ing,
      body: {
        metadata: { name: 'web', namespace: ing },
        spec: {
          ingressClassName: 'nginx',
          rules: [
            {
              host: 'web.example.com',
              http: {
                paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }],
              },
            },
          ],
        },
      } as k8s.V1Ingress,
    });
    await createPolicy(
      cluster,
      ing,
      policyBody(ing, 'web', { router: 'ingress-nginx', steps: [{ weight: 5, hold: '30m' }] }),
    );
    await waitAdopted(cluster, ing, 'web');
    await release(cluster, ing, 'web', 'v2');
    const weightOf = async () =>
      String(
        (await cluster.networking.readNamespacedIngress({ name: 'web-canary', namespace: ing }).catch(() => null))
          ?.metadata?.annotations?.[`${NGINX}canary-weight`],
      );
    await waitFor(async () => (await weightOf()) === '5', { timeoutMs: 60_000, description: 'canary Ingress at 5 %' });
    await waitFor(
      async () =>
        (await cluster.apps.readNamespacedDeployment({ name: 'web-canary', namespace: ing })).status?.readyReplicas ===
        1,
      { timeoutMs: 60_000, description: 'ingress canary ready' },
    );
    say('ingress-nginx release at step 1 (canary Ingress weight 5)');
    results.push(
      await tryEdit(
        cluster,
        ing,
        'ingress-nginx',
        'set the canary Ingress canary-weight to 50',
        weightOf,
        async () => {
          await cluster.networking.patchNamespacedIngress(
            {
              name: 'web-canary',
              namespace: ing,
              body: { metadata: { annotations: { [`${NGINX}canary-weight`]: '50' } } },
            },
            mergePatch,
          );
        },
        undefined,
        waitSeconds,
      ),
    );
    results.push(
      await tryEdit(
        cluster,
        ing,
        'ingress-nginx',
        'remove the pod-template-hash pin from the stable Service selector',
        () => selectorOf(cluster, ing, 'web'),
        async () => {
          await cluster.core.patchNamespacedService(
            { name: 'web', namespace: ing, body: { spec: { selector: { 'pod-template-hash': null } } } },
            mergePatch,
          );
        },
        undefined,
        waitSeconds,
      ),
    );
    results.push(
      await tryEdit(
        cluster,
        ing,
        'ingress-nginx',
        'scale the canary Deployment to 3',
        () => replicasOf(cluster, ing, 'web-canary'),
        async () => {
          await cluster.apps.patchNamespacedDeployment(
            { name: 'web-canary', namespace: ing, body: { spec: { replicas: 3 } } },
            mergePatch,
          );
        },
        undefined,
        waitSeconds,
      ),
    );
    results.push(
      await tryEdit(
        cluster,
        ing,
        'ingress-nginx',
        'point the canary Service selector at the stable pods',
        () => selectorOf(cluster, ing, 'web-canary'),
        async () => {
          await cluster.core.patchNamespacedService(
            { name: 'web-canary', namespace: ing, body: { spec: { selector: { 'canaryd.dev/track': null } } } },
            mergePatch,
          );
        },
        undefined,
        waitSeconds,
      ),
    );
  } finally {
    await canaryd.stop();
    await cluster.down();
  }
  table(
    ['router', 'edit', 'restored', 'after ms', 'event'],
    results.map((r) => [
      r.router,
      r.edit,
      r.restored ? 'yes' : 'NO',
      r.restoredAfterMs,
      r.events.length ? 'yes' : 'NO',
    ]),
  );
  const gaps = results
    .filter((r) => !r.restored || r.events.length === 0)
    .map(
      (r) =>
        `${r.router}: ${r.edit}: ${r.restored ? 'restored' : 'not restored'}, ${r.events.length ? 'Event recorded' : 'no Event'}`,
    );
  const ok = gaps.length === 0;
  for (const g of gaps) say(`gap: ${g}`);
  say(`verdict: ${verdict(ok)}`);
  writeResults('drill-conflicting-writers', { setup: { waitSeconds }, results, gaps, verdict: verdict(ok) });
  return { ok };
}
