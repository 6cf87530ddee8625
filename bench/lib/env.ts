// Imported first by bench/run.ts and bench/drill.ts: the benchmark clusters get their own pod range
// (other engineers' clusters use other ranges on this machine) before anything reads it.
process.env.CANARYD_POD_CIDR ??= '198.18.128.0/18';
if (!process.env.CANARYD_POD_CIDR.startsWith('198.18.')) {
  throw new Error(`CANARYD_POD_CIDR=${process.env.CANARYD_POD_CIDR}: expected a subrange of 198.18.0.0/16`);
}
export const BENCH_POD_CIDR = process.env.CANARYD_POD_CIDR;
/** Each benchmark/drill gets <base>-<name> as its cluster state dir. */
export const BENCH_STATE_BASE = process.env.CANARYD_BENCH_DIR ?? '/tmp/canaryd-bench';
