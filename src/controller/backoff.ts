// Per-key retry delays after failed reconciles: exponential, capped, reset by a success (like
// client-go's per-item rate limiter). Pure bookkeeping; the queue does the waiting.
export interface BackoffOptions {
  baseMs?: number;
  capMs?: number;
}

export class KeyBackoff {
  readonly #failures = new Map<string, number>();
  readonly #baseMs: number;
  readonly #capMs: number;

  constructor(options: BackoffOptions = {}) {
    this.#baseMs = options.baseMs ?? 1000;
    this.#capMs = options.capMs ?? 5 * 60_000;
  }

  /** A failure of `key`: how long to wait before trying it again (base, 2×base, 4×base, … cap). */
  failed(key: string): number {
    const failures = (this.#failures.get(key) ?? 0) + 1;
    this.#failures.set(key, failures);
    return Math.min(this.#baseMs * 2 ** Math.min(failures - 1, 30), this.#capMs);
  }

  /** Failures in a row so far (0 after a success). */
  failures(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  succeeded(key: string): void {
    this.#failures.delete(key);
  }
}
