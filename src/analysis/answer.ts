// Strict parsing of a Prometheus instant-query answer (GET/POST /api/v1/query) into a QueryResult.
// Anything that is not exactly one number, no data, NaN or ±Inf is an error: a proxy's HTML page,
// a matrix, a string or a malformed value must never be read as a measurement.
import { z } from 'zod';
import { MetricQueryError, type MetricQueryErrorCode, type QueryResult } from './provider.ts';

/** Where an answer came from, for error messages a person can act on. */
export interface AnswerOrigin {
  query: string;
  address: string;
}

// Go's strconv.FormatFloat output plus the exponent forms other backends (Thanos, Mimir,
// VictoriaMetrics) send. Deliberately not Number(): Number("") is 0 and Number("0x1f") is 31.
const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const sampleValue = z.tuple([z.number().finite(), z.string()]);

const vectorSample = z.object({
  metric: z.record(z.string(), z.string()),
  value: sampleValue.optional(),
  histogram: z.unknown().optional(),
});

const successAnswer = z.object({
  status: z.literal('success'),
  data: z.object({
    resultType: z.enum(['scalar', 'vector', 'matrix', 'string']),
    result: z.unknown(),
  }),
});

const errorAnswer = z.object({
  status: z.literal('error'),
  errorType: z.string().optional(),
  error: z.string().optional(),
});

const answer = z.discriminatedUnion('status', [successAnswer, errorAnswer]);

export class PrometheusError extends MetricQueryError {
  constructor(
    code: MetricQueryErrorCode,
    message: string,
    options: { query?: string; address?: string; cause?: unknown } = {},
  ) {
    super(code, message, options);
    this.name = 'PrometheusError';
  }
}

/** `query … at <address>` for messages; long queries are shortened. */
export function describeQuery(origin: AnswerOrigin): string {
  const query = origin.query.length > 300 ? `${origin.query.slice(0, 300)}…` : origin.query;
  return `query ${JSON.stringify(query)} at ${origin.address}`;
}

/** The first characters of a body, printable, for "this is not JSON" messages. */
export function bodySnippet(body: string): string {
  const flat = body.replace(/\s+/g, ' ').trim();
  return JSON.stringify(flat.length > 80 ? `${flat.slice(0, 80)}…` : flat);
}

function fail(code: MetricQueryErrorCode, what: string, origin: AnswerOrigin, cause?: unknown): never {
  throw new PrometheusError(code, `${what} (${describeQuery(origin)})`, { ...origin, cause });
}

/** A sample value string as Prometheus writes it: decimal, "NaN", "+Inf", "-Inf". */
export function parseSampleValue(text: string, at: Date, origin: AnswerOrigin): QueryResult {
  if (text === 'NaN') return { kind: 'nan', at };
  if (text === '+Inf' || text === 'Inf') return { kind: 'infinite', sign: 1, at };
  if (text === '-Inf') return { kind: 'infinite', sign: -1, at };
  if (!DECIMAL.test(text)) fail('malformed-answer', `sample value ${bodySnippet(text)} is not a number`, origin);
  const value = Number(text);
  // A decimal too large for a double (1e999) parses to Infinity: report it as such, not as a value.
  if (!Number.isFinite(value)) return { kind: 'infinite', sign: value > 0 ? 1 : -1, at };
  return { kind: 'value', value, at };
}

function parseSample(sample: unknown, origin: AnswerOrigin): QueryResult {
  const parsed = sampleValue.safeParse(sample);
  if (!parsed.success) fail('malformed-answer', 'sample is not [timestamp, "value"]', origin, parsed.error);
  const [seconds, text] = parsed.data;
  return parseSampleValue(text, new Date(seconds * 1000), origin);
}

function parseVector(result: unknown, origin: AnswerOrigin): QueryResult {
  const parsed = z.array(vectorSample).safeParse(result);
  if (!parsed.success) fail('malformed-answer', 'vector result has an unexpected shape', origin, parsed.error);
  const series = parsed.data;
  if (series.length === 0) return { kind: 'empty' };
  if (series.length > 1) {
    // Summing silently would hide a query mistake (per-pod ratios or quantiles do not add up).
    const shown = series
      .slice(0, 3)
      .map((s) => labelSet(s.metric))
      .join(', ');
    fail(
      'multiple-series',
      `expected one series, got ${series.length} (${shown}${series.length > 3 ? ', …' : ''}); aggregate the query with sum(), max() or similar`,
      origin,
    );
  }
  const only = series[0]!;
  if (only.value === undefined) {
    fail(
      'unsupported-result',
      'a native histogram sample is not a number; apply histogram_quantile() or similar',
      origin,
    );
  }
  return parseSample(only.value, origin);
}

function labelSet(metric: Record<string, string>): string {
  const pairs = Object.entries(metric).map(([name, value]) => `${name}=${JSON.stringify(value)}`);
  return `{${pairs.join(',')}}`;
}

/** Parses the body of a 2xx (or a Prometheus error) answer. Throws PrometheusError. */
export function parseQueryAnswer(body: string, origin: AnswerOrigin): QueryResult {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    fail('malformed-answer', `answer is not JSON: ${bodySnippet(body)}`, origin, error);
  }
  const parsed = answer.safeParse(json);
  if (!parsed.success) {
    fail('malformed-answer', `answer is not a Prometheus query answer: ${bodySnippet(body)}`, origin, parsed.error);
  }
  const data = parsed.data;
  if (data.status === 'error') {
    const kind = data.errorType ? `${data.errorType}: ` : '';
    fail('query-failed', `Prometheus failed the query: ${kind}${data.error ?? '(no message)'}`, origin);
  }
  switch (data.data.resultType) {
    case 'scalar':
      return parseSample(data.data.result, origin);
    case 'vector':
      return parseVector(data.data.result, origin);
    default:
      return fail(
        'unsupported-result',
        `result type "${data.data.resultType}" is not a number; an instant query must yield a scalar or one series`,
        origin,
      );
  }
}
