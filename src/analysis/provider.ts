// The MetricProvider port: one instant query, one number (or a precise account of why there is
// none). prometheus.ts implements it over HTTP; tests implement it in memory.
//
// "No data", NaN and ±Inf are answers, not errors: the query ran and the metric backend said
// something the evaluator must not mistake for a pass. Errors (unreachable, timeout, a malformed
// answer) reject with a MetricQueryError instead.

export type QueryResult =
  /** A finite number. `at` is the evaluation time the backend reported. */
  | { kind: 'value'; value: number; at: Date }
  /** The query matched no series: typically no traffic yet, or a wrong label. */
  | { kind: 'empty' }
  /** NaN: usually 0/0, e.g. a success rate over a window without requests. */
  | { kind: 'nan'; at: Date }
  /** +Inf or -Inf, e.g. histogram_quantile whose quantile lies beyond the last bucket. */
  | { kind: 'infinite'; sign: 1 | -1; at: Date };

export interface MetricProvider {
  /** Evaluates `promql` at `at` (default: now, as the backend sees it). Rejects with MetricQueryError. */
  query(promql: string, options?: { at?: Date; signal?: AbortSignal }): Promise<QueryResult>;
}

/** Stable codes of query failures; docs/analysis.md lists each one (a test checks it). */
export const METRIC_QUERY_ERROR_CODES = {
  config: 'The provider settings are unusable (bad address, both bearer and basic auth).',
  timeout: 'No complete answer within the timeout.',
  aborted: 'The caller cancelled the query (controller shutting down).',
  unreachable: 'No HTTP answer: DNS, connection refused or reset, TLS failure.',
  unauthorized: 'Prometheus (or a proxy in front of it) answered 401 or 403.',
  'http-status': 'A non-2xx answer that is not a Prometheus error body (a proxy error page, 404, 502).',
  'query-failed': 'Prometheus rejected or failed the query (status "error"); its message is quoted.',
  'answer-too-large': 'The answer exceeded the size limit (1 MiB by default).',
  'malformed-answer': 'The answer is not the JSON Prometheus sends (HTML, wrong types, bad numbers).',
  'unsupported-result': 'A range vector (matrix) or string result: an instant query must yield one number.',
  'multiple-series': 'The query yielded more than one series; aggregate it (sum, max, ...) to one.',
} as const;

export type MetricQueryErrorCode = keyof typeof METRIC_QUERY_ERROR_CODES;

export class MetricQueryError extends Error {
  readonly code: MetricQueryErrorCode;
  readonly query: string | undefined;
  readonly address: string | undefined;
  constructor(
    code: MetricQueryErrorCode,
    message: string,
    options: { query?: string; address?: string; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'MetricQueryError';
    this.code = code;
    this.query = options.query;
    this.address = options.address;
  }
}

export const isMetricQueryError = (error: unknown, code?: MetricQueryErrorCode): error is MetricQueryError =>
  error instanceof MetricQueryError && (code === undefined || error.code === code);
