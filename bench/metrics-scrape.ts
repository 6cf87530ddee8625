// Benchmark "metrics-scrape" (no cluster): the size of canaryd's /metrics and the time one
// scrape holds the event loop, with N policies known to the metrics (each with one analysis
// check, at rest). The scrape renders every series synchronously per metric, so at thousands of
// policies it is a pause of the whole controller, once per Prometheus scrape interval.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createMetrics } from '../src/metrics/index.ts';
import { type Flags, round, say, table, writeResults } from './lib/common.ts';

const SCRAPES = 5;
/** 100 policies per namespace, as in the scale benchmark (5,000 in 50 namespaces). */
const PER_NAMESPACE = 100;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function atRest(policies: number) {
  const metrics = createMetrics({ defaultMetrics: false });
  for (let i = 0; i < policies; i++) {
    metrics.observeRelease(`ns-${Math.floor(i / PER_NAMESPACE)}`, `app-${i}`, {
      phase: 'idle',
      weight: 0,
      step: '',
      release: {
        history: [
          { revision: 1, startedAt: '2026-01-01T00:00:00Z', endedAt: '2026-01-01T00:00:00Z', outcome: 'adopted' },
        ],
      },
      analysis: { measurements: [] },
      activeSpec: { analysis: { checks: [{ name: 'success-rate' }] } },
    });
  }
  return metrics;
}

export async function metricsScrape(flags: Flags): Promise<{ ok: boolean }> {
  const counts = String(flags.policies ?? '100,1000,5000')
    .split(',')
    .map(Number);
  if (counts.some((n) => !Number.isInteger(n) || n < 0))
    throw new Error(`--policies ${flags.policies}: expected N[,N…]`);
  const rows = [];
  for (const policies of counts) {
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    const metrics = atRest(policies);
    gc();
    const heapAfter = process.memoryUsage().heapUsed;
    const times: number[] = [];
    let text = '';
    for (let i = 0; i < SCRAPES; i++) {
      const started = performance.now();
      text = await metrics.registry.metrics();
      times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    const row = {
      policies,
      series: text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length,
      megabytes: round(text.length / 1e6, 2),
      scrapeMsMedian: round(times[Math.floor(SCRAPES / 2)] ?? 0, 0),
      scrapeMsMax: round(times.at(-1) ?? 0, 0),
      heapMiB: round((heapAfter - heapBefore) / 2 ** 20, 1),
    };
    say(`${policies} policies: ${JSON.stringify(row)}`);
    rows.push(row);
  }
  table(
    ['policies', 'series', 'MB per scrape', `scrape ms (median / max of ${SCRAPES})`, 'heap MiB (after GC)'],
    rows.map((r) => [r.policies, r.series, r.megabytes, `${r.scrapeMsMedian} / ${r.scrapeMsMax}`, r.heapMiB]),
  );
  writeResults('metrics-scrape', { scrapes: SCRAPES, rows });
  return { ok: true };
}
