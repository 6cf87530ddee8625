// Strict parsing of a Prometheus range-query answer (/api/v1/query_range) into one series of
// points: what the dashboard draws. A query that yields several series is refused like an
// instant query (the checks aggregate to one number); NaN and ±Inf become gaps (null), since a
// chart cannot place them and the check judges them as no value too.
import { z } from 'zod';
import { type AnswerOrigin, bodySnippet, describeQuery, PrometheusError } from './answer.ts';

/** One series: `[unix seconds, value or null]`, oldest first. */
export type RangePoints = Array<[number, number | null]>;

const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

const rangeAnswer = z.discriminatedUnion('status', [
  z.object({
    status: z.literal('success'),
    data: z.object({
      resultType: z.string(),
      result: z.array(
        z.object({
          metric: z.record(z.string(), z.string()),
          values: z.array(z.tuple([z.number().finite(), z.string()])).optional(),
        }),
      ),
    }),
  }),
  z.object({ status: z.literal('error'), errorType: z.string().optional(), error: z.string().optional() }),
]);

export function parseRangeAnswer(body: string, origin: AnswerOrigin): RangePoints {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    throw new PrometheusError(
      'malformed-answer',
      `answer is not JSON: ${bodySnippet(body)} (${describeQuery(origin)})`,
      {
        ...origin,
        cause: error,
      },
    );
  }
  const parsed = rangeAnswer.safeParse(json);
  if (!parsed.success) {
    throw new PrometheusError('malformed-answer', `not a Prometheus range answer (${describeQuery(origin)})`, origin);
  }
  const answer = parsed.data;
  if (answer.status === 'error') {
    throw new PrometheusError(
      'query-failed',
      `Prometheus: ${answer.errorType ?? 'error'}: ${answer.error ?? ''} (${describeQuery(origin)})`,
      origin,
    );
  }
  if (answer.data.resultType !== 'matrix') {
    throw new PrometheusError(
      'unsupported-result',
      `a range query answered ${answer.data.resultType}, not a matrix (${describeQuery(origin)})`,
      origin,
    );
  }
  const series = answer.data.result;
  if (series.length === 0) return [];
  if (series.length > 1) {
    throw new PrometheusError(
      'multiple-series',
      `the query yields ${series.length} series; aggregate it to one (${describeQuery(origin)})`,
      origin,
    );
  }
  return (series[0]?.values ?? []).map(([at, text]) => {
    const value = DECIMAL.test(text) ? Number(text) : Number.NaN;
    return [at, Number.isFinite(value) ? value : null];
  });
}
