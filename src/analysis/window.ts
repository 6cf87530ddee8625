// Which span of time one analysis round judges. Pure: the controller passes the clock and the
// release's own instants.
//
// Why capped: a data plane reuses the canary backend's name for every release (Traefik's
// `…-canary@kubernetesingressnginx`, ingress-nginx's canary upstream), so its counters carry one
// release's requests into the next. A window reaching back before this release (or this step)
// judged a healthy release started right after a rollback on the rolled-back canary's errors
// (issue 11). The round counts from the later of `now - window`, the release's start and the
// step's start.

/** Shortest span a round counts; a younger step has nothing to judge yet. */
export const MIN_WINDOW_MS = 1000;

export interface WindowInputs {
  /** The configured window (spec.analysis.window, or its default). */
  windowMs: number;
  now: Date;
  /** When the release's steps began (current.startedAt). */
  releaseStartedAt?: Date | undefined;
  /** When the current step's weight was set (current.stepStartedAt). */
  stepStartedAt?: Date | undefined;
}

export interface QueryWindow {
  /** First instant counted (unix ms). */
  fromMs: number;
  /** The round's instant (unix ms): queries are evaluated at it. */
  toMs: number;
  /** toMs - fromMs, at least MIN_WINDOW_MS: the range of rate() in custom queries ({{interval}}). */
  rangeMs: number;
  /** What cut the configured window short, or null when it applies whole. */
  cappedBy: 'release start' | 'step start' | null;
  /** Why this round cannot judge anything yet (the span is shorter than MIN_WINDOW_MS), or null. */
  tooShort: string | null;
}

/** The span of one round: the configured window, cut at the release's and the step's start. */
export function roundWindow(inputs: WindowInputs): QueryWindow {
  const toMs = inputs.now.getTime();
  let fromMs = toMs - inputs.windowMs;
  let cappedBy: QueryWindow['cappedBy'] = null;
  const starts = [
    ['release start', inputs.releaseStartedAt],
    ['step start', inputs.stepStartedAt],
  ] as const;
  for (const [name, start] of starts) {
    if (start !== undefined && Number.isFinite(start.getTime()) && start.getTime() > fromMs) {
      fromMs = start.getTime();
      cappedBy = name;
    }
  }
  const spanMs = Math.floor(toMs - fromMs);
  const tooShort =
    spanMs < MIN_WINDOW_MS
      ? `the ${cappedBy ?? 'window'} was ${Math.max(0, spanMs)} ms ago; a round needs at least ${MIN_WINDOW_MS} ms of it`
      : null;
  return { fromMs, toMs, rangeMs: Math.max(MIN_WINDOW_MS, spanMs), cappedBy, tooShort };
}

/** A PromQL `@` timestamp (unix seconds, ms precision). */
export function promTimestamp(ms: number): string {
  return (ms / 1000).toFixed(3);
}

/**
 * Per series, what a counter selector counted from `fromMs` to the evaluation time: the exact
 * difference of its samples, and the whole value of a series born after `fromMs` (or reset since,
 * e.g. a proxy restart), which started from zero. rate()/increase() would miss a new series'
 * first count (the first 500s of a canary make a new `code="500"` series): they read a canary
 * failing 30 % of its requests as 94 % successful.
 */
export function countedSince(selector: string, fromMs: number): string {
  return `(${selector} - ${selector} @ ${promTimestamp(fromMs)} >= 0 or ${selector})`;
}
