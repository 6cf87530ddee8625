// The scale benchmark's tables and results file (bench/scale.ts measures, this prints).

import { type AdoptionTime, describeAdoptionTime } from './adoption-time.ts';
import { round, table, writeResults } from './common.ts';
import type { ControllerWork } from './controller-work.ts';
import { describeCaches, type Footprint } from './footprint.ts';
import type { LoopLag } from './loop-lag.ts';
import { type PerUnit, RELEASE_PHASES, type WritesByReleasePhase } from './release-phases.ts';
import { per, type RequestWindow, requestRows } from './requests.ts';
import type { StepLatency } from './step-latency.ts';

const WRITES = ['CREATE', 'UPDATE', 'PATCH', 'APPLY', 'DELETE', 'DELETECOLLECTION'];

/** GET / LIST / writes in a { VERB: n } record. */
export function readsAndWrites(byVerb: Record<string, number>) {
  const sum = (verbs: string[]) => verbs.reduce((total, verb) => total + (byVerb[verb] ?? 0), 0);
  return { get: sum(['GET']), list: sum(['LIST']), writes: sum(WRITES), watch: sum(['WATCH']) };
}

interface ScaleReport {
  setup: { policies: number; releasing: number } & Record<string, unknown>;
  /** The fleet's router (the results file is named after it unless replica-ratio, the default). */
  router: string;
  /** The shard of each replica ([] for one unsharded replica). */
  shards: string[];
  readyMs: number;
  adoptedMs: number;
  /** Where adoption's time went (from the audit log); null without one. */
  adoption: AdoptionTime | null;
  /** canaryd's worst event loop delay while adopting. */
  adoptionLoopLag: LoopLag;
  /** CPU while adopting, % of a core: canaryd (all replicas) and each process of the cluster. */
  adoptionCpuPercent: Record<string, number | null>;
  /** null: reconciles had not stopped within --settle-minutes. */
  quietMs: number | null;
  /** spawn → canaryd_events_pending 0 (the idle minute starts then); null: not within the bound. */
  eventsWrittenMs: number | null;
  idle: {
    process: { rssMiBMean: number | null; rssMiBMax: number | null; cpuPercent: number | null };
    reconciles: number;
    requests: RequestWindow;
    perMinute: { otherThanWatchesAndLeases: number | null; leaseRenewals: number | null; watchesOpened: number | null };
    /** The replica with the largest RSS (the only one without shards). */
    footprint: Footprint;
    footprints: Footprint[];
  };
  load?: {
    underLoad: { rssMiBMean: number | null; rssMiBMax: number | null; cpuPercent: number | null; seconds: number };
    peakFootprint: Footprint;
    peakFootprints: Footprint[];
    releaseSeconds: number | null;
    /** Each cluster process's CPU (% of a core) while the releases ran. */
    clusterCpuPercent: Record<string, number>;
    outcomes: Record<string, number>;
    /** Queue waits, reconcile and request times, GC over the release phase. */
    work: ControllerWork;
    requests: RequestWindow;
    stepsTotal: number;
    /** canaryd's writes by the phase of each release (null without an audit log). */
    writesByPhase: WritesByReleasePhase | null;
    latency: StepLatency;
    /** The status writes of the first releasing policy, in order. */
    oneRelease: Array<Record<string, unknown>>;
  };
}

/** { "VERB resource": n } → { VERB: n } */
const verbsOf = (byVerbResource: Record<string, number>) => {
  const out: Record<string, number> = {};
  for (const [key, n] of Object.entries(byVerbResource)) {
    const verb = key.split(' ')[0] ?? '';
    out[verb] = (out[verb] ?? 0) + n;
  }
  return out;
};

const rw = (counts: ReturnType<typeof readsAndWrites>, by: number) =>
  `${round(counts.get / by, 2)} GET, ${round(counts.list / by, 2)} LIST, ${round(counts.writes / by, 2)} writes`;

const SPANS: Record<string, string> = {
  start: "first status write → step 1's weight decided",
  firstStep: "step 1's weight decided → step 2 entered",
  steps: 'step 2 entered → promoting (per transition)',
  promotion: 'promoting → succeeded (its write included)',
  drain: 'after the succeeded write',
};

type Row = [string, string, string, number, number, string];

/** Rows of the table by release phase: phase, span, per what, writes, apart from Events, by verb and resource; then the whole release. */
export function releasePhaseRows(w: WritesByReleasePhase): Row[] {
  const row = (name: string, unit: string, u: PerUnit): Row => {
    const verbs = Object.entries(u.byVerbResource).map(([key, n]) => `${key} ${n}`);
    return [name, SPANS[name] ?? 'the release', unit, u.writes, u.withoutEvents, verbs.join(', ')];
  };
  const rows = RELEASE_PHASES.map((name) => {
    const { perStepTransition: perStep, perRelease } = w.phases[name];
    return perStep ? row(name, 'step transition', perStep) : row(name, 'release', perRelease);
  });
  return [...rows, row('all', 'release', w.perRelease)];
}

const RELEASE_PHASES_NOTE =
  "canaryd's writes in the release phase's window (apiserver audit; the Lease, reads and watches left out) by the phase of the release they belong to (bench/lib/release-phases.ts): start (the release's first status write → before the decision that sets step 1's weight: the canary created, its Events), firstStep (that decision → before the one entering step 2), steps (→ before the status write entering promoting; perStepTransition over releases × (steps − 1)), promotion (→ the status write recording succeeded, included), drain (what follows: weight 0, the canary's removal, the last status). A write is a policy's by name (the app, <app>-canary, Events <app>.<hex>). Events are written in the background, one at a time: they count in the phase they were written in, later than decided under load.";

/** The main table's line beside the per-step ones: what a step transition writes, apart from the release's once. */
function stepWritesRows(w: WritesByReleasePhase | null): Array<[string, string]> {
  if (w === null) return [];
  const each = w.phases.steps.perStepTransition;
  const once = (['start', 'promotion', 'drain'] as const).map((name) => w.phases[name].perRelease.writes);
  return [
    [
      'per step transition (steps 2…n): canaryd writes by release phase (audit)',
      `${each?.writes ?? 0} (${JSON.stringify(each?.byVerbResource ?? {})}); step 1 ${w.phases.firstStep.perRelease.writes}; per release: start / promotion / drain ${once.join(' / ')}`,
    ],
  ];
}

function printReleasePhases(w: WritesByReleasePhase | null): void {
  if (w === null) return;
  console.log(
    `\ncanaryd's writes by phase of each release (apiserver audit): ${w.releases} releases, ${w.stepTransitions} step transitions`,
  );
  table(['phase', 'from → to', 'per', 'writes', 'apart from Events', 'by verb and resource'], releasePhaseRows(w));
  console.log(
    `Events count where written (in the background, later than decided under load); status writes matched to the watch in order for ${w.matchedInOrder} of ${w.releases} releases (the rest by time); releases left out: ${w.leftOut.length}; writes of no release: ${w.unattributed.writes} ${JSON.stringify(w.unattributed.byVerbResource)}`,
  );
}

const heap = (f: Footprint) =>
  `heap used ${f.heapUsedMiB} of ${f.heapTotalMiB} MiB, external ${f.externalMiB} MiB; RSS anon ${f.rssAnonMiB} + file ${f.rssFileMiB} MiB`;

const settledIn = (ms: number | null) => (ms === null ? 'not within --settle-minutes' : `${ms} ms`);

export function reportScale(r: ScaleReport): void {
  if (r.adoption) console.log(`adoption: ${describeAdoptionTime(r.adoption)}`);
  const { policies: n, releasing: m } = r.setup;
  const idleAudit = r.idle.requests.audited;
  const k = r.shards.length;
  const perReplica = (all: Footprint[]) => all.map((f, j) => `${r.shards[j]} ${f.rssMiB} MiB`).join(', ');
  const rows: Array<[string, string | number | null]> = [
    ['policies / releasing', `${n} / ${m}`],
    ...(k
      ? [
          ['replicas', `${k} shards (${r.shards.join(', ')}), the policies split evenly, the releasing ones too`] as [
            string,
            string,
          ],
        ]
      : []),
    ['spawn → /readyz', `${r.readyMs} ms`],
    ['spawn → all adopted', `${r.adoptedMs} ms`],
    ...(r.adoption
      ? [
          [
            'adoption per policy p50: API server + canaryd between its writes',
            `${r.adoption.spanMs.p50} ms = ${r.adoption.apiServerMs.p50} + ${r.adoption.canarydMs.p50} (${r.adoption.writesPerPolicy} writes, ${r.adoption.meanInFlight} policies in flight)`,
          ] as [string, string],
        ]
      : []),
    [
      `adoption: worst event loop delay (canaryd measures, per ${r.adoptionLoopLag.everyMs / 1000} s)`,
      `${r.adoptionLoopLag.maxMs} ms (${r.adoptionLoopLag.windowsMaxMs.join(', ')})`,
    ],
    [
      'adoption: CPU, % of a core',
      Object.entries(r.adoptionCpuPercent)
        .map(([name, percent]) => `${name} ${percent ?? '?'}`)
        .join(', '),
    ],
    ['spawn → queue drained', settledIn(r.quietMs)],
    ['spawn → every Event written (idle starts)', settledIn(r.eventsWrittenMs)],
    [`idle (${r.idle.requests.seconds} s): reconciles`, r.idle.reconciles],
    [
      'idle: requests per minute apart from watches and Lease (apiserver audit)',
      `${r.idle.perMinute.otherThanWatchesAndLeases} ${JSON.stringify(idleAudit?.otherByVerbResource ?? {})}`,
    ],
    [
      'idle: Lease requests / watches opened per minute',
      `${r.idle.perMinute.leaseRenewals} / ${r.idle.perMinute.watchesOpened}`,
    ],
    ['idle: canaryd counter (its KubeApi)', JSON.stringify(r.idle.requests.canaryd.byVerbResource)],
    [
      `idle RSS mean / max${k ? ' (largest replica)' : ''}`,
      `${r.idle.process.rssMiBMean} / ${r.idle.process.rssMiBMax} MiB`,
    ],
    ...(k ? [['idle RSS per replica', perReplica(r.idle.footprints)] as [string, string]] : []),
    ['idle memory', heap(r.idle.footprint)],
    [`idle CPU${k ? ' (all replicas)' : ''}`, `${r.idle.process.cpuPercent} % of a core`],
    ['cached objects (idle)', describeCaches(r.idle.footprint.cachedObjects)],
  ];
  const load = r.load;
  if (load) {
    const by = load.stepsTotal;
    // Lease renewals and watches apart: the issue's "0 GET and 0 LIST per step" is about reconciles.
    const audited = readsAndWrites(verbsOf(load.requests.audited?.otherByVerbResource ?? {}));
    const leases = (load.requests.audited?.leases ?? 0) / by;
    const own = readsAndWrites(load.requests.canaryd.byVerb);
    const all = readsAndWrites(load.requests.apiserverAllClients.byVerb);
    const w = load.latency.weightWritten;
    const s = load.latency.statusWritten;
    const r = load.latency.routeWrite;
    rows.push(
      [
        `load RSS mean / max${k ? ' (largest replica)' : ''}`,
        `${load.underLoad.rssMiBMean} / ${load.underLoad.rssMiBMax} MiB`,
      ],
      ...(k ? [['load RSS per replica (largest seen)', perReplica(load.peakFootprints)] as [string, string]] : []),
      ['load memory (largest RSS seen)', heap(load.peakFootprint)],
      [
        `load CPU${k ? ' (all replicas)' : ''}`,
        `${load.underLoad.cpuPercent} % of a core over ${load.underLoad.seconds} s`,
      ],
      ['cached objects (load)', describeCaches(load.peakFootprint.cachedObjects)],
      ['releases ended in', `${load.releaseSeconds} s (${JSON.stringify(load.outcomes)})`],
      ['step due → weight written p50 / p99 / max', `${w.p50} / ${w.p99} / ${w.max} ms (n ${w.n})`],
      ['step due → status written p50 / p99', `${s.p50} / ${s.p99} ms`],
      [
        'of which the route write itself p50 / p99 / max',
        `${r.p50} / ${r.p99} / ${r.max} ms (n ${r.n}; the rest: waiting for a worker, deciding)`,
      ],
      [`per step (${by} steps): canaryd, apiserver audit, without Lease and watches`, rw(audited, by)],
      [
        'per step: canaryd Lease requests / watches opened',
        `${round(leases, 2)} / ${round((load.requests.audited?.watches ?? 0) / by, 2)}`,
      ],
      ['per step: canaryd, its own counter', rw(own, by)],
      ['per step: canaryd, cache live reads', JSON.stringify(per(load.requests.canaryd.liveReads, by))],
      ['per step: all clients, apiserver_request_total', rw(all, by)],
      ...stepWritesRows(load.writesByPhase),
    );
  }
  table(['measure', 'value'], rows);
  if (load) {
    console.log(`\nrequests per step of the release phase (${load.stepsTotal} steps), by verb and resource:`);
    table(
      ['verb resource', 'canaryd (audit)', 'canaryd (own counter)', 'all clients (apiserver_request_total)'],
      requestRows(load.requests, load.stepsTotal),
    );
  }
  printReleasePhases(load?.writesByPhase ?? null);
  writeResults(`scale-${n}x${m}${r.router === 'replica-ratio' ? '' : `-${r.router}`}${k ? `-shards${k}` : ''}`, {
    setup: r.setup,
    shards: r.shards,
    readyMs: r.readyMs,
    adoptedMs: r.adoptedMs,
    adoption: r.adoption,
    adoptionLoopLag: r.adoptionLoopLag,
    adoptionCpuPercent: r.adoptionCpuPercent,
    quietMs: r.quietMs,
    eventsWrittenMs: r.eventsWrittenMs,
    idle: r.idle,
    ...(load
      ? {
          underLoad: load.underLoad,
          peakFootprint: load.peakFootprint,
          peakFootprints: load.peakFootprints,
          releaseSeconds: load.releaseSeconds,
          clusterCpuPercent: load.clusterCpuPercent,
          outcomes: load.outcomes,
          controllerWork: load.work,
          stepLatencyMs: load.latency.weightWritten,
          stepLatencyToStatusMs: load.latency.statusWritten,
          stepRouteWriteMs: load.latency.routeWrite,
          stepsTotal: load.stepsTotal,
          ...(load.writesByPhase && { writesByReleasePhase: { note: RELEASE_PHASES_NOTE, ...load.writesByPhase } }),
          statusWritesOfOneRelease: load.oneRelease,
          apiRequests: {
            note: "audited: canaryd's identity in the apiserver's audit log (every request, watches and informer lists included); canaryd: its own canaryd_kubernetes_requests_total (its KubeApi: reconciles, Events, Lease; not the informers); apiserverAllClients: apiserver_request_total deltas over the release phase, every client together (kube-controller-manager, scheduler, kwok, this benchmark's watch)",
            window: load.requests,
            perStep: {
              audited: per(load.requests.audited?.byVerbResource ?? {}, load.stepsTotal),
              canaryd: per(load.requests.canaryd.byVerbResource, load.stepsTotal),
              apiserverAllClients: per(load.requests.apiserverAllClients.byVerb, load.stepsTotal),
            },
          },
        }
      : {}),
  });
}
