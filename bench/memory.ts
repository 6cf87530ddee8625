// Benchmark "memory": where canaryd's resident memory goes (issue 13: "find where the 170 MiB of
// an empty controller goes"; goal below 100 MiB at 100 policies).
// 1. Import cost (no cluster): a fresh Node process with the install's V8 flags imports one
//    module at a time (canaryd's dependencies, then its own layers) and reports RSS and heap.
// 2. canaryd as installed (heap cap, leader election) on its own local cluster with 0 policies,
//    then with --policies N (default 100) adopted and resting: RSS (anonymous / file-backed),
//    the V8 heap by space, external memory and cache sizes, after --settle-seconds (30).
//    --heap-snapshot also takes a V8 heap snapshot at both points (SIGUSR2) and summarises it;
//    --node-options="--flag …" adds V8 flags to the install's (to try one before changing deploy/).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  httpBase,
  INSTALL_NODE_OPTIONS,
  sampleProcess,
  spawnCanaryd,
  waitReady,
  waitReconcilesSettle,
} from './lib/canaryd.ts';
import { benchCluster, canarydKubeconfig, logsDir } from './lib/cluster.ts';
import { type Flags, intFlag, say, sleep, table, wordsFlag, writeResults } from './lib/common.ts';
import { createFleet, waitAdoptedFleet, watchFleet } from './lib/fleet.ts';
import { describeCaches, describeFootprint, type Footprint, footprint, readSmaps } from './lib/footprint.ts';
import { HEAP_SNAPSHOT_FLAGS, type HeapSummary, summariseHeapSnapshot, takeHeapSnapshot } from './lib/heap-snapshot.ts';
import { IMPORTED, type ImportCost, importCost } from './lib/import-cost.ts';
import { canarydMetrics } from './lib/metrics.ts';
import { LEADER_ARGS } from './scale.ts';

interface Point {
  policies: number;
  rss: ReturnType<ReturnType<typeof sampleProcess>['stop']>;
  footprint: Footprint;
  heap?: HeapSummary;
  /**
   * Sampled after an earlier point's heap snapshot: writing one leaves ~100+ MiB of native memory
   * in the process (1,000 policies on 2026-12-04: 301 MiB after a snapshot, 172-186 without), so
   * this point's RSS says little.
   */
  afterSnapshot: boolean;
}

function importCosts(): ImportCost[] {
  say(`import cost: ${IMPORTED.length} fresh Node processes, one module each`);
  const costs = IMPORTED.map((module) => {
    const cost = importCost(module);
    say(
      `  ${cost.module}: RSS ${cost.rssMiB} MiB, heap used ${cost.heapUsedMiB} MiB${cost.error ? ` (${cost.error})` : ''}`,
    );
    return cost;
  });
  table(
    ['module imported (alone)', 'RSS MiB', 'anon', 'file', 'heap used', 'external'],
    costs.map((c) => [c.module, c.rssMiB, c.rssAnonMiB, c.rssFileMiB, c.heapUsedMiB, c.externalMiB]),
  );
  return costs;
}

export async function memory(flags: Flags): Promise<{ ok: boolean }> {
  const n = intFlag(flags, 'policies', 100);
  const settleSeconds = intFlag(flags, 'settle-seconds', 30);
  const snapshots = flags['heap-snapshot'] === true || flags['heap-snapshot'] === 'true';
  // Experiments with V8 flags beyond the install's, e.g. --node-options=--max-semi-space-size=2.
  const extraNodeOptions = wordsFlag(flags, 'node-options');
  const imports = flags['skip-imports'] ? [] : importCosts();
  const cluster = await benchCluster('memory', { audit: true });
  const fleet = await watchFleet(cluster);
  const logDir = logsDir(cluster);
  const canaryd = spawnCanaryd(canarydKubeconfig(cluster), logDir, LEADER_ARGS, [
    ...extraNodeOptions,
    ...(snapshots ? HEAP_SNAPSHOT_FLAGS(logDir) : []),
  ]);
  try {
    const readyMs = await waitReady(canaryd);
    const base = httpBase(canaryd.address() ?? '');
    say(`canaryd ready in ${readyMs} ms with 0 policies`);
    let snapshotsTaken = 0;
    const measure = async (policies: number): Promise<Point> => {
      await waitReconcilesSettle(base);
      say(`${policies} policies: settling ${settleSeconds} s, then sampling 10 s`);
      await sleep(settleSeconds * 1000);
      const sampler = sampleProcess(canaryd.pid, 500);
      await sleep(10_000);
      const rss = sampler.stop();
      const smaps = readSmaps(canaryd.pid);
      const point: Point = {
        policies,
        rss,
        footprint: footprint(canaryd.pid, await canarydMetrics(base), smaps),
        afterSnapshot: snapshotsTaken > 0,
      };
      // The whole map, for a closer look at the anonymous mappings than the summary gives.
      if (smaps !== null) writeFileSync(join(logDir, `smaps-${policies}.txt`), smaps);
      say(
        `${policies} policies: ${describeFootprint(point.footprint)}; caches ${describeCaches(point.footprint.cachedObjects)}`,
      );
      if (snapshots) {
        const file = await takeHeapSnapshot(canaryd.pid, logDir);
        snapshotsTaken++;
        point.heap = summariseHeapSnapshot(file);
        say(`${policies} policies: heap snapshot ${file}: ${JSON.stringify(point.heap.byTypeMiB)}`);
      }
      return point;
    };
    const empty = await measure(0);
    if (n > 0) {
      const createdAt = Date.now();
      await createFleet(cluster, n);
      await waitAdoptedFleet(fleet, n, createdAt, canaryd.alive);
    }
    const full = n > 0 ? await measure(n) : undefined;
    const points = [empty, ...(full ? [full] : [])];
    table(
      ['policies', 'RSS mean / max MiB', 'anon / file MiB', 'heap used / total MiB', 'external MiB', 'cached objects'],
      points.map((p) => [
        p.policies,
        `${p.rss.rssMiBMean} / ${p.rss.rssMiBMax}${p.afterSnapshot ? ' (after a heap snapshot: inflated)' : ''}`,
        `${p.footprint.rssAnonMiB} / ${p.footprint.rssFileMiB}`,
        `${p.footprint.heapUsedMiB} / ${p.footprint.heapTotalMiB}`,
        p.footprint.externalMiB,
        describeCaches(p.footprint.cachedObjects),
      ]),
    );
    for (const p of points)
      console.log(`heap spaces used at ${p.policies}: ${JSON.stringify(p.footprint.heapSpacesUsedMiB)}`);
    writeResults(`memory-0-${n}`, {
      setup: {
        policies: n,
        settleSeconds,
        canaryd: `as installed (${LEADER_ARGS.join(' ')}), heap snapshots: ${snapshots}`,
        nodeOptions: [...INSTALL_NODE_OPTIONS, ...extraNodeOptions],
      },
      readyMs,
      imports,
      points,
    });
    return { ok: canaryd.alive() };
  } finally {
    fleet.stop();
    await canaryd.stop();
    await cluster.down();
  }
}
