// Per-policy metrics from the policy's status. Level-triggered like the controller: it is handed
// the whole status after each write and derives gauges directly and counters from what changed
// since the last look. The first look at a policy (e.g. after a restart) only sets a baseline, so
// a restarted controller never counts old releases or measurements again.
//
// Every series whose labels are known before its first event exists at 0 from the first look
// (per policy: the release counters; per namespace: the durations by outcome; per configured
// check: each verdict), so rate() and increase() see that first event: a series born at 1 has no
// earlier sample to rise from. They go when the policy is deleted (a check's, when it leaves the
// spec; a namespace's durations, with its last policy).
//
// The durations are by namespace, not by policy: a histogram is 13 series per outcome, which per
// policy made 52 of a policy's ~69 series (5,000 policies: 345,000 lines, 34 MB, over a second to
// render with the event loop held; docs/scale.md, "Metrics at scale").
import type { MetricDefinitions } from './registry.ts';

const PHASES = ['idle', 'waiting', 'progressing', 'paused', 'promoting', 'succeeded', 'rollingBack', 'failed'] as const;
const VERDICTS = ['pass', 'fail', 'inconclusive'] as const;
const OUTCOMES = ['succeeded', 'rolledBack', 'superseded', 'cancelled'] as const;

/** The parts of a CanaryPolicy status the metrics read (the controller's PolicyStatus fits). */
export interface ReleaseStatusSample {
  phase: string;
  /** Achieved canary share, percent. */
  weight: number;
  /** "2/4" while a release runs, "" otherwise. */
  step: string;
  release: {
    current?: { revision: number; startedAt?: string };
    history: Array<{ revision: number; startedAt: string; endedAt: string; outcome: string }>;
  };
  analysis: { measurements: Array<{ check: string; at: string; value: number | null; verdict: string }> };
  /** The spec in force: its analysis checks are the checks whose verdicts are counted. */
  activeSpec?: { analysis?: { checks?: ReadonlyArray<{ name: string }> } } | undefined;
}

interface Seen {
  /** Highest history revision already counted as ended. */
  endedRevision: number;
  /** Highest revision already counted as started. */
  startedRevision: number;
  /** Newest measurement time already counted. */
  measuredAt: string;
  checks: Set<string>;
}

export function releaseMetrics(m: MetricDefinitions) {
  const seen = new Map<string, Seen>();
  /** Policies seen per namespace: its duration series exist while it has one. */
  const policiesIn = new Map<string, number>();
  const keyOf = (namespace: string, policy: string) => `${namespace}/${policy}`;

  type Labels = { namespace: string; policy: string };

  function setGauges(labels: Labels, status: ReleaseStatusSample): void {
    const [step, steps] = parseStep(status.step);
    m.canaryWeight.set(labels, Number.isFinite(status.weight) ? status.weight : 0);
    m.step.set(labels, step);
    m.steps.set(labels, steps);
    for (const phase of PHASES) m.phase.set({ ...labels, phase }, phase === status.phase ? 1 : 0);
  }

  function countEndedReleases(labels: Labels, memory: Seen, status: ReleaseStatusSample): void {
    for (const entry of status.release.history) {
      if (entry.revision <= memory.endedRevision || entry.outcome === 'adopted') continue;
      // A release that ended before it was ever counted as started (it started and ended
      // between two looks) is started too.
      if (entry.revision > memory.startedRevision) m.releasesStarted.inc(labels);
      if (entry.outcome === 'succeeded') m.releasesSucceeded.inc(labels);
      if (entry.outcome === 'rolledBack') m.releasesRolledBack.inc(labels);
      const seconds = (Date.parse(entry.endedAt) - Date.parse(entry.startedAt)) / 1000;
      if (Number.isFinite(seconds) && seconds >= 0) {
        m.releaseDuration.observe({ namespace: labels.namespace, outcome: entry.outcome }, seconds);
      }
    }
  }

  function countVerdicts(labels: Labels, memory: Seen, status: ReleaseStatusSample): void {
    for (const measurement of status.analysis.measurements) {
      if (measurement.at <= memory.measuredAt) continue;
      m.analysisVerdicts.inc({ ...labels, check: measurement.check, verdict: measurement.verdict });
    }
  }

  /**
   * Each configured check's verdict series at 0 from the start; a check that left the spec (and
   * the measurements) loses its series.
   */
  function followChecks(labels: Labels, memory: Seen, status: ReleaseStatusSample): void {
    const configured = new Set((status.activeSpec?.analysis?.checks ?? []).map((check) => check.name));
    for (const check of configured) {
      memory.checks.add(check);
      // Adding 0 creates a missing series and leaves an existing one as it is.
      for (const verdict of VERDICTS) m.analysisVerdicts.inc({ ...labels, check, verdict }, 0);
    }
    if (status.activeSpec === undefined) return; // nothing known about the checks: keep what is there
    const measured = new Set(status.analysis.measurements.map((measurement) => measurement.check));
    for (const check of memory.checks) {
      if (configured.has(check) || measured.has(check)) continue;
      memory.checks.delete(check);
      removeCheck(labels, check);
    }
  }

  function removeCheck(labels: Labels, check: string): void {
    m.analysisValue.remove({ ...labels, check });
    for (const verdict of VERDICTS) m.analysisVerdicts.remove({ ...labels, check, verdict });
  }

  // Latest value per check; a check whose latest round had no number drops its series rather
  // than showing a stale value.
  function setAnalysisValues(labels: Labels, memory: Seen, status: ReleaseStatusSample): void {
    const latest = new Map<string, number | null>();
    for (const measurement of status.analysis.measurements) latest.set(measurement.check, measurement.value);
    for (const [check, value] of latest) {
      memory.checks.add(check);
      if (value === null || !Number.isFinite(value)) m.analysisValue.remove({ ...labels, check });
      else m.analysisValue.set({ ...labels, check }, value);
    }
  }

  /** A policy seen for the first time: its namespace's durations exist from its first policy. */
  function joinNamespace(namespace: string): void {
    const inNamespace = policiesIn.get(namespace) ?? 0;
    policiesIn.set(namespace, inNamespace + 1);
    // zero() resets a series: only for the namespace's first policy.
    if (inNamespace === 0) for (const outcome of OUTCOMES) m.releaseDuration.zero({ namespace, outcome });
  }

  /** A policy forgotten: its namespace's durations go with the namespace's last policy. */
  function leaveNamespace(namespace: string): void {
    const left = (policiesIn.get(namespace) ?? 1) - 1;
    if (left > 0) {
      policiesIn.set(namespace, left);
      return;
    }
    policiesIn.delete(namespace);
    for (const outcome of OUTCOMES) m.releaseDuration.remove({ namespace, outcome });
  }

  function observe(namespace: string, policy: string, status: ReleaseStatusSample): void {
    const labels = { namespace, policy };
    setGauges(labels, status);
    const current = status.release.current;
    const startedRevision = current?.startedAt === undefined ? 0 : current.revision;
    const endedRevision = Math.max(0, ...status.release.history.map((entry) => entry.revision));
    let newestAt = '';
    for (const measurement of status.analysis.measurements) {
      if (measurement.at > newestAt) newestAt = measurement.at;
    }
    const previous = seen.get(keyOf(namespace, policy));
    const memory: Seen = previous ?? { endedRevision, startedRevision, measuredAt: newestAt, checks: new Set() };
    seen.set(keyOf(namespace, policy), memory);
    // Before this look's verdicts are counted: a check's first verdict then rises from 0.
    followChecks(labels, memory, status);
    if (previous === undefined) {
      // Counters exist from the first look, so rate() and increase() see the first release.
      for (const counter of [m.releasesStarted, m.releasesSucceeded, m.releasesRolledBack]) counter.inc(labels, 0);
      joinNamespace(namespace);
    } else {
      countEndedReleases(labels, memory, status);
      if (startedRevision > memory.startedRevision && startedRevision > memory.endedRevision) {
        m.releasesStarted.inc(labels);
      }
      countVerdicts(labels, memory, status);
    }
    memory.endedRevision = Math.max(memory.endedRevision, endedRevision);
    memory.startedRevision = Math.max(memory.startedRevision, startedRevision, endedRevision);
    if (newestAt > memory.measuredAt) memory.measuredAt = newestAt;
    setAnalysisValues(labels, memory, status);
  }

  function forget(namespace: string, policy: string): void {
    const labels = { namespace, policy };
    const memory = seen.get(keyOf(namespace, policy));
    seen.delete(keyOf(namespace, policy));
    for (const metric of [
      m.canaryWeight,
      m.step,
      m.steps,
      m.releasesStarted,
      m.releasesSucceeded,
      m.releasesRolledBack,
    ]) {
      metric.remove(labels);
    }
    for (const phase of PHASES) m.phase.remove({ ...labels, phase });
    if (memory !== undefined) leaveNamespace(namespace);
    for (const check of memory?.checks ?? []) removeCheck(labels, check);
  }

  return { observe, forget };
}

/** "2/4" → [2, 4]; anything else → [0, 0]. */
export function parseStep(step: string): [number, number] {
  const match = /^(\d+)\/(\d+)$/.exec(step);
  return match ? [Number(match[1]), Number(match[2])] : [0, 0];
}
