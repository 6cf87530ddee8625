import { describe, expect, it } from 'vitest';
import { countedSince, MIN_WINDOW_MS, roundWindow } from '../../src/analysis/window.ts';

const now = new Date('2026-03-01T12:00:00Z');
const ago = (ms: number) => new Date(now.getTime() - ms);

describe('the span one analysis round counts', () => {
  it.each([
    // [case, window, release started, step started, from (ms before now), capped by, too short]
    ['no release instants known: the whole window', 60_000, undefined, undefined, 60_000, null, false],
    ['release and step older than the window', 60_000, ago(600_000), ago(120_000), 60_000, null, false],
    [
      'a release started 20 s ago (right after a rollback)',
      60_000,
      ago(20_000),
      ago(20_000),
      20_000,
      'release start',
      false,
    ],
    ['release 40 s ago, its second step 10 s ago', 60_000, ago(40_000), ago(10_000), 10_000, 'step start', false],
    ['release 30 s ago, step instant unknown', 60_000, ago(30_000), undefined, 30_000, 'release start', false],
    ['a step exactly one window old', 60_000, ago(90_000), ago(60_000), 60_000, null, false],
    [
      'a step started exactly the minimum ago',
      60_000,
      ago(90_000),
      ago(MIN_WINDOW_MS),
      MIN_WINDOW_MS,
      'step start',
      false,
    ],
    ['a step started 400 ms ago', 60_000, ago(90_000), ago(400), 400, 'step start', true],
    ['a step "started" in the future (clock skew)', 60_000, ago(90_000), ago(-2000), -2000, 'step start', true],
  ] as const)('%s', (_case, windowMs, releaseStartedAt, stepStartedAt, fromAgo, cappedBy, tooShort) => {
    const window = roundWindow({ windowMs, now, releaseStartedAt, stepStartedAt });
    expect(window.fromMs).toBe(now.getTime() - fromAgo);
    expect(window.toMs).toBe(now.getTime());
    expect(window.cappedBy).toBe(cappedBy);
    expect(window.tooShort !== null).toBe(tooShort);
    // rate() in custom queries always gets a valid, non-empty range.
    expect(window.rangeMs).toBe(Math.max(MIN_WINDOW_MS, fromAgo));
  });

  it('ignores an unreadable instant rather than counting from it', () => {
    const window = roundWindow({ windowMs: 60_000, now, stepStartedAt: new Date('not a date') });
    expect(window).toMatchObject({ fromMs: now.getTime() - 60_000, cappedBy: null, tooShort: null });
  });
});

describe('counting a counter since an instant', () => {
  it('takes the difference of series that existed then, and the whole value of series born since', () => {
    expect(countedSince('x{a="b"}', Date.parse('2026-03-01T11:59:00Z'))).toBe(
      '(x{a="b"} - x{a="b"} @ 1772366340.000 >= 0 or x{a="b"})',
    );
  });
});
