// Drill "bad-input": 1,000 random and hostile policy files (fast-check, fixed seed) written in
// batches into canaryd's --policy-dir: valid ones, valid ones with one known-bad mutation, and
// hostile ones (`__proto__`/`constructor` keys, deep nesting, huge files, alias bombs, garbage).
// canaryd must stay up with bounded memory, accept exactly the valid ones (the CanaryPolicy
// object appears) and reject the rest (a 'policy file rejected' log line naming the file), and a
// valid policy in the cluster must keep working (a release after the flood is promoted).
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { parseAllDocuments, stringify } from 'yaml';
import {
  createPolicy,
  deployApp,
  GROUP,
  PLURAL,
  policyBody,
  release,
  VERSION,
  waitAdopted,
  waitEnd,
} from '../lib/app.ts';
import {
  httpBase,
  INSTALL_MEMORY_LIMIT_MIB,
  INSTALL_NODE_OPTIONS,
  procSample,
  spawnCanaryd,
  waitReady,
} from '../lib/canaryd.ts';
import { benchCluster, createNamespace, logsDir } from '../lib/cluster.ts';
import { type Flags, intFlag, say, sleep, table, writeResults } from '../lib/common.ts';
import { canarydMetrics, sumCounter } from '../lib/metrics.ts';
import { verdict } from './release-check.ts';

const NS = 'bad';

interface Case {
  file: string;
  kind: string;
  /** warn: a file that holds no document at all (empty, comments, null) is reported, not rejected. */
  expect: 'accept' | 'reject' | 'warn';
  text: string;
  name?: string;
}

const validSpec = fc.record({
  weights: fc.uniqueArray(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 5 }),
  hold: fc.constantFrom('10s', '1m', '5m', '1h'),
});

function validPolicy(i: number, spec: { weights: number[]; hold: string }): Record<string, unknown> {
  return {
    apiVersion: 'canaryd.dev/v1alpha1',
    kind: 'CanaryPolicy',
    metadata: { name: `p-${i}`, namespace: NS },
    spec: {
      target: { deployment: `d-${i}`, service: `d-${i}`, router: 'replica-ratio' },
      strategy: {
        steps: [...spec.weights].sort((a, b) => a - b).map((weight) => ({ weight, hold: spec.hold })),
        allowLargeFirstStep: true,
      },
    },
  };
}

// biome-ignore lint/suspicious/noExplicitAny: each mutation reaches into a different part of the policy
const MUTATIONS: Array<[string, (p: any) => void]> = [
  ['unknown spec field', (p) => (p.spec.surprise = true)],
  ['weight above 100', (p) => (p.spec.strategy.steps[0].weight = 150)],
  ['negative weight', (p) => (p.spec.strategy.steps[0].weight = -5)],
  ['bad duration', (p) => (p.spec.strategy.steps[0].hold = 'soon')],
  ['no target', (p) => delete p.spec.target],
  ['wrong apiVersion', (p) => (p.apiVersion = 'canaryd.dev/v9')],
  ['wrong kind', (p) => (p.kind = 'Deployment')],
  ['invalid name', (p) => (p.metadata.name = 'Not_A_Name!')],
  ['steps not a list', (p) => (p.spec.strategy.steps = 'many')],
  ['weight as string', (p) => (p.spec.strategy.steps[0].weight = 'ten')],
  [
    '__proto__ in spec',
    (p) => Object.defineProperty(p.spec, '__proto__', { value: { polluted: 'yes' }, enumerable: true }),
  ],
  ['constructor.prototype in target', (p) => (p.spec.target.constructor = { prototype: { polluted: 'yes' } })],
];

function deep(depth: number): string {
  return `${'['.repeat(depth)}1${']'.repeat(depth)}`;
}

function generate(count: number, seed: number): Case[] {
  const cases: Case[] = [];
  const specs = fc.sample(validSpec, { numRuns: count, seed });
  const garbage = fc.sample(fc.string({ maxLength: 400 }), { numRuns: count, seed: seed + 1 });
  const randomJson = fc.sample(fc.jsonValue({ maxDepth: 6 }), { numRuns: count, seed: seed + 2 });
  for (let i = 0; i < count; i++) {
    const spec = specs[i] as { weights: number[]; hold: string };
    const slot = i % 10;
    const file = `f-${String(i).padStart(4, '0')}.yaml`;
    if (slot < 2) {
      cases.push({ file, kind: 'valid', expect: 'accept', text: stringify(validPolicy(i, spec)), name: `p-${i}` });
    } else if (slot < 5) {
      const [label, mutate] = MUTATIONS[i % MUTATIONS.length] as [string, (p: unknown) => void];
      const p = validPolicy(i, spec);
      mutate(p);
      let text = stringify(p);
      if (label === '__proto__ in spec') text = text.replace('spec:\n', 'spec:\n  __proto__:\n    polluted: yes\n');
      cases.push({ file, kind: `mutation: ${label}`, expect: 'reject', text, name: `p-${i}` });
    } else if (slot === 5) {
      const variants = [
        ['__proto__ at top level', `__proto__:\n  polluted: yes\n${stringify(validPolicy(i, spec))}`],
        ['__proto__ only', '__proto__:\n  polluted: yes\n  isAdmin: true\n'],
        ['constructor.prototype only', 'constructor:\n  prototype:\n    polluted: yes\n'],
        [
          '__proto__ in metadata',
          stringify(validPolicy(i, spec)).replace('metadata:\n', 'metadata:\n  __proto__: { polluted: yes }\n'),
        ],
      ] as const;
      const [label, text] = variants[i % variants.length] as readonly [string, string];
      cases.push({ file, kind: `hostile: ${label}`, expect: 'reject', text, name: `p-${i}` });
    } else if (slot === 6) {
      const depth = [100, 1000, 10_000, 50_000][i % 4] as number;
      cases.push({ file, kind: `hostile: nesting depth ${depth}`, expect: 'reject', text: `spec: ${deep(depth)}\n` });
    } else if (slot === 7) {
      if (i % 20 === 7) {
        // Over the 1 MiB file limit.
        cases.push({ file, kind: 'hostile: 1.5 MB file', expect: 'reject', text: `x: "${'a'.repeat(1_500_000)}"\n` });
      } else {
        const laughs = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
        for (let k = 1; k < 9; k++)
          laughs.push(
            `${String.fromCharCode(97 + k)}: &${String.fromCharCode(97 + k)} [${Array(9)
              .fill(`*${String.fromCharCode(96 + k)}`)
              .join(',')}]`,
          );
        cases.push({ file, kind: 'hostile: alias bomb', expect: 'reject', text: `${laughs.join('\n')}\n` });
      }
    } else if (slot === 8) {
      const text = garbage[i] || ':';
      cases.push({ file, kind: 'garbage string', expect: holdsNothing(text) ? 'warn' : 'reject', text });
    } else {
      const text = JSON.stringify(randomJson[i] ?? null) || 'x';
      cases.push({ file, kind: 'random JSON value', expect: holdsNothing(text) ? 'warn' : 'reject', text });
    }
  }
  return cases;
}

/** Does the text hold no document at all (empty, only comments, only null documents)? */
function holdsNothing(text: string): boolean {
  try {
    const documents = parseAllDocuments(text);
    if (!Array.isArray(documents)) return true;
    return documents.every((document) => document.errors.length === 0 && document.toJS() == null);
  } catch {
    return false;
  }
}

export async function badInput(flags: Flags): Promise<{ ok: boolean }> {
  const count = intFlag(flags, 'count', 1000);
  const batchSize = intFlag(flags, 'batch', 100);
  const seed = intFlag(flags, 'seed', 20_261_123);
  const cases = generate(count, seed);
  const cluster = await benchCluster('bad-input');
  const dir = join(cluster.stateDir, 'policy-dir');
  mkdirSync(dir, { recursive: true });
  const canaryd = spawnCanaryd(cluster.info.kubeconfig, logsDir(cluster), ['--resync', '1s', '--policy-dir', dir]);
  await waitReady(canaryd);
  const outcomes: Array<{ file: string; kind: string; expect: string; got: string }> = [];
  const rss: number[] = [];
  // V8's used heap as canaryd reports it: what is live (plus garbage not yet collected). RSS
  // alone also counts heap the allocator keeps after a collection.
  const heap: number[] = [];
  const heapUsed = async () =>
    sumCounter(await canarydMetrics(httpBase(canaryd.address() ?? '')), 'canaryd_nodejs_heap_size_used_bytes');
  let goodPhase = '?';
  try {
    await createNamespace(cluster, NS);
    await createNamespace(cluster, 'good');
    await deployApp(cluster, 'good', 'web', { replicas: 3 });
    await createPolicy(
      cluster,
      'good',
      policyBody('good', 'web', {
        steps: [
          { weight: 25, hold: '2s' },
          { weight: 50, hold: '2s' },
        ],
      }),
    );
    await waitAdopted(cluster, 'good', 'web');
    rss.push(procSample(canaryd.pid)?.rssBytes ?? 0);
    heap.push(await heapUsed());
    say(`${cases.length} cases (seed ${seed}); canaryd RSS before: ${(rss[0]! / 2 ** 20).toFixed(1)} MiB`);
    for (let b = 0; b < cases.length; b += batchSize) {
      const batch = cases.slice(b, b + batchSize);
      for (const c of batch) writeFileSync(join(dir, c.file), c.text);
      // Every file gets an answer: rejected in the log, or its policy object created.
      const answer = async (c: Case): Promise<string | undefined> => {
        const rejected = canaryd
          .lines()
          .some((l) => l.msg === 'policy file rejected' && String(l.error).includes(c.file));
        if (rejected) return 'reject';
        const applied = canaryd
          .lines()
          .some((l) => l.msg === 'policy applied from file' && String(l.source).includes(c.file));
        if (applied) return 'accept';
        const warned = canaryd
          .lines()
          .some((l) => l.msg === 'policy file warning' && String(l.warning).includes(c.file));
        if (warned) return 'warn';
        return undefined;
      };
      const started = Date.now();
      let pending = batch;
      while (pending.length > 0 && Date.now() - started < 60_000 && canaryd.alive()) {
        await sleep(500);
        const still: Case[] = [];
        for (const c of pending) if ((await answer(c)) === undefined) still.push(c);
        pending = still;
      }
      for (const c of batch)
        outcomes.push({
          file: c.file,
          kind: c.kind,
          expect: c.expect,
          got: (await answer(c)) ?? (canaryd.alive() ? 'no answer' : 'canaryd down'),
        });
      for (const c of batch) rmSync(join(dir, c.file), { force: true });
      const sample = procSample(canaryd.pid);
      rss.push(sample?.rssBytes ?? 0);
      if (canaryd.alive()) heap.push(await heapUsed());
      say(
        `batch ${b / batchSize + 1}: ${batch.length} files answered in ${Date.now() - started} ms; canaryd ${canaryd.alive() ? 'up' : 'DOWN'}, RSS ${((sample?.rssBytes ?? 0) / 2 ** 20).toFixed(1)} MiB, heap used ${((heap.at(-1) ?? 0) / 2 ** 20).toFixed(1)} MiB`,
      );
      if (!canaryd.alive()) break;
    }
    // Accepted policies exist as objects with the file's spec.
    const list = (await cluster.custom.listNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: NS,
      plural: PLURAL,
    })) as {
      items: Array<{ metadata: { name: string } }>;
    };
    say(`${list.items.length} CanaryPolicy objects created from files in namespace ${NS}`);
    say('a valid policy keeps working: releasing v2 of good/web');
    await release(cluster, 'good', 'web', 'v2');
    goodPhase = (await waitEnd(cluster, 'good', 'web', 90_000).catch(() => null))?.status?.phase ?? 'did not end';
    say(`good/web release: ${goodPhase}`);
  } finally {
    await canaryd.stop();
    await cluster.down();
  }
  const wrong = outcomes.filter((o) => o.got !== o.expect);
  const byKind = new Map<string, { n: number; wrong: number; got: Record<string, number> }>();
  for (const o of outcomes) {
    const k = o.kind.replace(/nesting depth \d+/, 'nesting depth N');
    const e = byKind.get(k) ?? { n: 0, wrong: 0, got: {} };
    e.n++;
    if (o.got !== o.expect) e.wrong++;
    e.got[o.got] = (e.got[o.got] ?? 0) + 1;
    byKind.set(k, e);
  }
  table(
    ['kind', 'n', 'expected', 'outcomes', 'wrong'],
    [...byKind].map(([k, v]) => [
      k,
      v.n,
      outcomes.find((o) => o.kind.replace(/nesting depth \d+/, 'nesting depth N') === k)?.expect,
      JSON.stringify(v.got),
      v.wrong,
    ]),
  );
  const rssMiB = rss.map((r) => Math.round((r / 2 ** 20) * 10) / 10);
  const heapMiB = heap.map((h) => Math.round((h / 2 ** 20) * 10) / 10);
  // Bounded: canaryd runs with the install's heap cap and its RSS stays under the install's
  // container memory limit all through the flood (else Kubernetes would OOM-kill it).
  const bounded = Math.max(...rssMiB) < INSTALL_MEMORY_LIMIT_MIB;
  const ok = wrong.length === 0 && goodPhase === 'succeeded' && bounded && outcomes.length === count;
  say(
    `${outcomes.length} files, ${wrong.length} answered wrongly; RSS MiB per batch ${rssMiB.join(' → ')}; heap used MiB ${heapMiB.join(' → ')}; memory ${bounded ? 'within' : 'OVER'} the install's ${INSTALL_MEMORY_LIMIT_MIB} MiB limit (heap cap ${INSTALL_NODE_OPTIONS.join(' ')}); good release ${goodPhase}`,
  );
  say(`verdict: ${verdict(ok)}`);
  writeResults('drill-bad-input', {
    setup: {
      count,
      batchSize,
      seed,
      path: 'files in --policy-dir (CanaryPolicy objects: not exercised by this drill)',
    },
    byKind: Object.fromEntries(byKind),
    wrong: wrong.slice(0, 50),
    rssMiB,
    heapMiB,
    memory: { limitMiB: INSTALL_MEMORY_LIMIT_MIB, nodeOptions: INSTALL_NODE_OPTIONS, withinLimit: bounded },
    goodRelease: goodPhase,
    verdict: verdict(ok),
  });
  return { ok };
}
