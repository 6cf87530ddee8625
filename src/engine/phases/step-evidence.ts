// Evidence that acts on a step at once, whether it is entering, holding or paused: a new analysis
// round (rollback, pause, or lifting a pause analysis caused) and the data plane's verdict on the
// route (a Gateway that refuses it pauses the release; accepting it again lets it go on).
import { type Context, event, type HandlerResult } from '../context.ts';
import { pause, setPhase, startRollback } from '../transitions.ts';
import type { ReleaseState } from '../types.ts';

/** A round not seen before: 'rollback' (any time in the release) and 'pause' (this step) act at once. */
export function readRound(state: ReleaseState, context: Context, analysing: boolean): HandlerResult | null {
  const current = state.current!;
  const analysis = context.observed.analysis;
  if (analysis === undefined || analysis.round <= (current.analysis.lastRound ?? Number.NEGATIVE_INFINITY)) return null;
  current.analysis.lastRound = analysis.round;
  const roundAt = Date.parse(analysis.at);
  const inRelease = current.startedAt !== undefined && roundAt >= Date.parse(current.startedAt);
  const inStep = current.stepStartedAt !== undefined && roundAt >= Date.parse(current.stepStartedAt);
  if (inRelease && analysis.decision === 'rollback') {
    return { goto: startRollback(state, context, `analysis: ${analysis.reason}`, 'rolledBack') };
  }
  if (analysing && inStep && analysis.decision === 'pause' && state.phase === 'progressing') {
    return { goto: pause(state, context, 'analysis', 'analysis', `inconclusive analysis: ${analysis.reason}`) };
  }
  // A pause that analysis caused lifts when the evidence comes back (Prometheus returns, traffic
  // arrives): a round after the pause passes. Pauses by a person or a step gate stay.
  const pausedAt = current.pausedBy?.cause === 'analysis' ? Date.parse(current.pausedBy.at) : undefined;
  if (
    state.phase === 'paused' &&
    pausedAt !== undefined &&
    (analysis.decision === 'advance-allowed' || analysis.decision === 'advance-now') &&
    roundAt > pausedAt
  ) {
    event(
      context,
      'Normal',
      'AnalysisRecovered',
      `revision ${current.revision}: analysis passes again; the release continues`,
    );
    current.pausedBy = undefined;
    return { goto: setPhase(state, 'progressing', 'analysis recovered: the release continues') };
  }
  return null;
}

/**
 * The data plane refused the route (a Gateway's Accepted or ResolvedRefs is False): pause with
 * its reason rather than give weight to a canary it will not serve. Accepted again, the release
 * goes on; a pause by a person or a step gate stays.
 */
export function readRouteVerdict(state: ReleaseState, context: Context): HandlerResult | null {
  const current = state.current!;
  const rejected = context.observed.route.rejected;
  if (rejected !== undefined && state.phase === 'progressing') {
    return { goto: pause(state, context, 'route', 'gateway', `the Gateway refused the route: ${rejected}`) };
  }
  // Already paused by a step gate or a person when the Gateway's verdict arrives (a Gateway
  // answers moments after a write, so a resume can open the next step first): that pause stays,
  // but the status says the route is refused and its weight is not written (stepActions).
  const held = current.pausedBy;
  if (state.phase === 'paused' && held !== undefined && held.cause !== 'route') {
    const refusedNote = `${held.reason}; the Gateway refused the route: `;
    if (rejected !== undefined && state.reason !== refusedNote + rejected) {
      event(
        context,
        'Warning',
        'RouteRefused',
        `revision ${current.revision}: the Gateway refused the route: ${rejected}`,
      );
      setPhase(state, 'paused', refusedNote + rejected);
    } else if (rejected === undefined && state.reason.startsWith(refusedNote)) {
      setPhase(state, 'paused', held.reason);
    }
  }
  if (rejected === undefined && state.phase === 'paused' && current.pausedBy?.cause === 'route') {
    event(
      context,
      'Normal',
      'RouteAccepted',
      `revision ${current.revision}: the Gateway accepts the route again; the release continues`,
    );
    current.pausedBy = undefined;
    return { goto: setPhase(state, 'progressing', 'the Gateway accepts the route again: the release continues') };
  }
  return null;
}
