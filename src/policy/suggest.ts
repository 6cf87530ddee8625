// "Did you mean …?" for misspelt field names, enum values, template variables and time zones.

export function editDistance(a: string, b: string): number {
  const previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = previous[0] as number;
    previous[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = previous[j] as number;
      const substitution = diagonal + (a[i - 1] === b[j - 1] ? 0 : 1);
      previous[j] = Math.min(above + 1, (previous[j - 1] as number) + 1, substitution);
      diagonal = above;
    }
  }
  return previous[b.length] as number;
}

/** The closest candidate, if it is close enough to be a plausible typo; case differences are free. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const tolerance = Math.max(2, Math.floor(word.length / 3));
  if (bestDistance <= tolerance) return best;
  // A longer spelling around a real name: "stepWieghts" is most likely `steps`.
  for (const candidate of candidates) {
    const stem = candidate.toLowerCase().replace(/s$/, '');
    if (stem.length >= 4 && (lower.startsWith(stem) || lower.endsWith(stem))) return candidate;
  }
  return undefined;
}
