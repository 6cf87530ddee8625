// Anytime-valid sequential tests: pure statistics, no Prometheus, no clock.
export {
  type Comparison,
  type ComparisonSettings,
  compareRates,
  requestsToProve,
  type SequentialOutcome,
} from './compare.ts';
export {
  type Counts,
  DEFAULT_PRIOR,
  type Interval,
  logMixtureRatio,
  type Prior,
  rateInterval,
  wholeCounts,
} from './rate.ts';
export { lnBeta, lnGamma } from './special.ts';
