// Anytime-valid sequential tests: pure statistics, no Prometheus, no clock.
export {
  ALPHA_SHARE,
  type Comparison,
  type ComparisonSettings,
  compareOnce,
  compareRates,
  differenceRange,
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
export {
  EMPTY_RATIO,
  foldInterval,
  logMixture,
  RATIO_GRID,
  type RatioEvidence,
  type RatioInterval,
  ratioInterval,
} from './ratio.ts';
export { lnBeta, lnGamma } from './special.ts';
