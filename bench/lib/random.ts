// Seeded randomness for simulations (bench/sequential.ts, the sequential tests): the same seed
// gives the same numbers on every machine, so simulated rates are reproducible.

/** mulberry32: a small 32-bit PRNG, uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Binomial(n, p) by geometric skips between successes: O(n·min(p, 1−p) + 1). */
export function binomial(random: () => number, n: number, p: number): number {
  if (p <= 0 || n <= 0) return 0;
  if (p >= 1) return n;
  if (p > 0.5) return n - binomial(random, n, 1 - p);
  const logQ = Math.log1p(-p);
  let successes = 0;
  let position = 0;
  for (;;) {
    position += Math.floor(Math.log(1 - random()) / logQ) + 1;
    if (position > n) return successes;
    successes++;
  }
}

/** Poisson(mean) as a binomial over many tiny slices: exact enough for request counts. */
export function poisson(random: () => number, mean: number): number {
  const slices = Math.max(1000, Math.ceil(mean * 100));
  return binomial(random, slices, mean / slices);
}

/** A standard normal draw (Box–Muller). */
export function normal(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}
