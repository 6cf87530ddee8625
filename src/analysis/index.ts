// The analysis module: Prometheus SLO checks, their verdicts, and what they mean for a release.
export {
  type AnswerOrigin,
  PrometheusError,
  parseQueryAnswer,
  parseSampleValue,
} from './answer.ts';
export {
  type AnalysisTarget,
  type CheckQueries,
  canaryRequestsQuery,
  latencyQuery,
  successRateQuery,
  type Track,
} from './builtin.ts';
export {
  checkProblems,
  DEFAULT_SUCCESS_RATE_MIN,
  describeThresholds,
  type Judgement,
  judge,
  type Observation,
  type Observations,
  type Thresholds,
  thresholdsOf,
  type Verdict,
} from './checks.ts';
export { BUILTIN_QUERIES, type BuiltinQueries } from './data-plane.ts';
export {
  type AnalysisAction,
  type AnalysisCounters,
  type AnalysisDecision,
  type DecideContext,
  decide,
  INITIAL_COUNTERS,
  type RoundSummary,
  recordRound,
  resumeCounters,
  roundVerdict,
  STALE_AFTER_INTERVALS,
} from './decide.ts';
export {
  analysisWindowMs,
  evaluateCheck,
  evaluateRound,
  type Measurement,
  queriesFor,
  type RoundContext,
} from './evaluate.ts';
export { appendMeasurements, DEFAULT_MEASUREMENT_LOG_SIZE, latestByCheck } from './log.ts';
export {
  createPrometheusProvider,
  DEFAULT_MAX_ANSWER_BYTES,
  type PrometheusClientOptions,
  type PrometheusCredentials,
  type PrometheusProvider,
  prometheusClientOptions,
  type QueryRange,
} from './prometheus.ts';
export {
  checkTemplate,
  escapeRegex,
  escapeString,
  promDuration,
  quote,
  quoteAlternatives,
  renderQuery,
  TEMPLATE_VARIABLES,
  TemplateError,
  type TemplateErrorCode,
  type TemplateValues,
  type TemplateVariable,
} from './promql.ts';
export {
  isMetricQueryError,
  METRIC_QUERY_ERROR_CODES,
  type MetricProvider,
  MetricQueryError,
  type MetricQueryErrorCode,
  type QueryResult,
} from './provider.ts';
export { parseRangeAnswer, type RangePoints } from './range.ts';
export {
  traefikCanaryRequestsQuery,
  traefikGatewayMatchers,
  traefikIngressNginxMatchers,
  traefikLatencyQuery,
  traefikNormalize,
  traefikSuccessRateQuery,
} from './traefik.ts';
export {
  countedSince,
  MIN_WINDOW_MS,
  promTimestamp,
  type QueryWindow,
  roundWindow,
  type WindowInputs,
} from './window.ts';
