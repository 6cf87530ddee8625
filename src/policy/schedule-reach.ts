// Windows and blackouts that leave no time at all: a release that can never start, or steps
// that can never advance. Judged on the recurring parts only (one-off blackouts end; whether
// one covers a given start is for `kubectl canary plan`), over the windows' search horizon.
import { nextAdvanceTime, nextStartTime, SEARCH_HORIZON_MS } from '../schedule/windows.ts';
import type { FieldPath } from './errors.ts';
import type { Reporter } from './findings.ts';
import type { ScheduleSpec } from './schema.ts';

const SCHEDULE: FieldPath = ['spec', 'schedule'];

export function checkScheduleReach(schedule: ScheduleSpec, now: Date, reporter: Reporter): void {
  const recurring = { ...schedule, blackouts: schedule.blackouts.filter((blackout) => blackout.cron !== undefined) };
  const days = `${SEARCH_HORIZON_MS / 86_400_000} days`;
  const related: FieldPath[] = [SCHEDULE];
  for (const kind of ['start', 'advance'] as const) {
    const windows = kind === 'start' ? schedule.startWindows : schedule.advanceWindows;
    const next = kind === 'start' ? nextStartTime : nextAdvanceTime;
    if (next(recurring, now) !== null) continue;
    const what = kind === 'start' ? 'no release can ever start' : 'no step can ever advance';
    if (windows.length > 0 && next({ ...recurring, blackouts: [] }, now) === null) {
      // A rare window (once a year) is legitimate: only a warning; plan judges a given start.
      reporter.warning(
        [...SCHEDULE, `${kind}Windows`],
        `${what} within ${days} from now: none of these windows opens in that time`,
        'kubectl canary plan --from TIME shows when a release would start',
        related,
      );
    } else {
      reporter.error(
        [...SCHEDULE, 'blackouts'],
        `${what}: the recurring blackouts cover ${windows.length > 0 ? `every ${kind} window` : 'all time'} (checked for ${days})`,
        `shorten a blackout or add ${kind} windows outside them`,
        related,
      );
    }
  }
}
