// Durations as SREs write them in policies: Go-style "30s", "5m", "1h30m", "250ms", plus "d" for days.

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;

/** Milliseconds in a duration such as "1h30m" (5400000). Throws an Error that quotes the input. */
export function parseDuration(text: string): number {
  if (typeof text !== 'string' || text.length === 0) {
    throw new Error(`invalid duration ${JSON.stringify(text)}: expected a duration such as "30s", "5m" or "1h30m"`);
  }
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < text.length) {
    const at = PART.lastIndex;
    const match = PART.exec(text);
    if (match === null) {
      throw new Error(
        `invalid duration ${JSON.stringify(text)}: unexpected ${JSON.stringify(text.slice(at))}; ` +
          'expected numbers with units ms, s, m, h or d, e.g. "90s" or "1h30m"',
      );
    }
    total += Number(match[1]) * (UNIT_MS[match[2] as string] as number);
  }
  if (!Number.isFinite(total) || total > Number.MAX_SAFE_INTEGER) {
    throw new Error(`invalid duration ${JSON.stringify(text)}: too large`);
  }
  return Math.round(total);
}

/** The shortest policy spelling of a duration: 5400000 -> "1h30m", 0 -> "0s". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) throw new Error(`cannot format duration ${ms}`);
  if (ms < 0) return `-${formatDuration(-ms)}`;
  let rest = Math.round(ms);
  if (rest === 0) return '0s';
  let text = '';
  for (const unit of ['d', 'h', 'm', 's', 'ms']) {
    const size = UNIT_MS[unit] as number;
    const count = Math.floor(rest / size);
    if (count > 0) {
      text += `${count}${unit}`;
      rest -= count * size;
    }
  }
  return text;
}
