import { describe, expect, it } from 'vitest';
import { parseQueryAnswer } from '../../src/analysis/answer.ts';
import { isMetricQueryError, type MetricQueryErrorCode } from '../../src/analysis/provider.ts';

const origin = { query: 'sum(rate(x[1m]))', address: 'http://prometheus.monitoring:9090' };
const at = new Date(1_700_000_000_000);

const vectorOf = (...values: string[]) =>
  JSON.stringify({
    status: 'success',
    data: {
      resultType: 'vector',
      result: values.map((value, i) => ({ metric: { pod: `p${i}` }, value: [1_700_000_000, value] })),
    },
  });
const scalarOf = (value: unknown) =>
  JSON.stringify({ status: 'success', data: { resultType: 'scalar', result: [1_700_000_000, value] } });

function errorOf(body: string): { code: MetricQueryErrorCode; message: string } {
  try {
    parseQueryAnswer(body, origin);
  } catch (error) {
    if (isMetricQueryError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected the answer to be refused');
}

describe('answer parser: what counts as a number', () => {
  it.each([
    ['99.5', 99.5],
    ['0', 0],
    ['-3', -3],
    ['1e+06', 1e6],
    ['2.5E-3', 0.0025],
    ['.5', 0.5],
  ])('reads the sample value %s', (text, value) => {
    expect(parseQueryAnswer(vectorOf(text), origin)).toEqual({ kind: 'value', value, at });
    expect(parseQueryAnswer(scalarOf(text), origin)).toEqual({ kind: 'value', value, at });
  });

  it('reads NaN and ±Inf as themselves, not as numbers', () => {
    expect(parseQueryAnswer(vectorOf('NaN'), origin)).toEqual({ kind: 'nan', at });
    expect(parseQueryAnswer(vectorOf('+Inf'), origin)).toEqual({ kind: 'infinite', sign: 1, at });
    expect(parseQueryAnswer(vectorOf('-Inf'), origin)).toEqual({ kind: 'infinite', sign: -1, at });
    expect(parseQueryAnswer(scalarOf('1e999'), origin)).toEqual({ kind: 'infinite', sign: 1, at });
  });

  it('reads an empty vector as no data', () => {
    expect(parseQueryAnswer(vectorOf(), origin)).toEqual({ kind: 'empty' });
  });

  it('ignores fields it does not need (warnings, infos, stats)', () => {
    const body = JSON.stringify({
      status: 'success',
      warnings: ['PromQL info: metric might not be a counter'],
      infos: [],
      data: { resultType: 'scalar', result: [1_700_000_000, '7'], stats: {} },
    });
    expect(parseQueryAnswer(body, origin)).toEqual({ kind: 'value', value: 7, at });
  });
});

describe('answer parser: malformed and hostile answers are errors, never numbers', () => {
  it.each([
    ['empty string', ''],
    ['a padded number', ' 1'],
    ['hex', '0x1f'],
    ['JavaScript Infinity', 'Infinity'],
    ['lowercase nan', 'nan'],
    ['a number with a unit', '5ms'],
    ['two numbers', '1 2'],
  ])('refuses the sample value %s', (_what, text) => {
    const error = errorOf(vectorOf(text));
    expect(error.code).toBe('malformed-answer');
    expect(error.message).toContain('is not a number');
  });

  it.each([
    ['a number instead of a string', scalarOf(5)],
    ['null', scalarOf(null)],
    ['an object', scalarOf({ valueOf: 1 })],
  ])('refuses a sample value that is %s', (_what, body) => {
    expect(errorOf(body).code).toBe('malformed-answer');
  });

  it.each([
    ['HTML', '<html><body><h1>502 Bad Gateway</h1></body></html>'],
    ['truncated JSON', '{"status":"success","data":{"resultType":"vec'],
    ['a bare number', '42'],
    ['null', 'null'],
    ['an array', '[1,"2"]'],
    ['no status', JSON.stringify({ data: { resultType: 'scalar', result: [1, '1'] } })],
    ['an unknown status', JSON.stringify({ status: 'ok', data: { resultType: 'scalar', result: [1, '1'] } })],
    ['an unknown result type', JSON.stringify({ status: 'success', data: { resultType: 'histogram', result: [] } })],
    ['no data', JSON.stringify({ status: 'success' })],
    [
      'a vector that is not an array',
      JSON.stringify({ status: 'success', data: { resultType: 'vector', result: {} } }),
    ],
    [
      'a series without labels',
      JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [{ value: [1, '1'] }] } }),
    ],
    [
      'a timestamp that is a string',
      JSON.stringify({ status: 'success', data: { resultType: 'scalar', result: ['1700000000', '1'] } }),
    ],
    [
      'a sample with three elements',
      JSON.stringify({ status: 'success', data: { resultType: 'scalar', result: [1, '1', '2'] } }),
    ],
  ])('refuses %s', (_what, body) => {
    const error = errorOf(body);
    expect(error.code).toBe('malformed-answer');
    expect(error.message).toContain(origin.address);
    expect(error.message).toContain(origin.query);
  });

  it('quotes the start of a non-JSON answer so a person can tell what answered', () => {
    expect(errorOf('<!DOCTYPE html>\n<title>Sign in - SSO</title>').message).toContain(
      '<!DOCTYPE html> <title>Sign in',
    );
  });

  it('refuses matrix and string results', () => {
    const matrix = JSON.stringify({
      status: 'success',
      data: { resultType: 'matrix', result: [{ metric: {}, values: [[1, '1']] }] },
    });
    const string = JSON.stringify({ status: 'success', data: { resultType: 'string', result: [1, 'hello'] } });
    expect(errorOf(matrix)).toMatchObject({ code: 'unsupported-result', message: expect.stringContaining('matrix') });
    expect(errorOf(string)).toMatchObject({ code: 'unsupported-result', message: expect.stringContaining('string') });
  });

  it('refuses a native histogram sample', () => {
    const body = JSON.stringify({
      status: 'success',
      data: { resultType: 'vector', result: [{ metric: {}, histogram: [1, { count: '3', sum: '1', buckets: [] }] }] },
    });
    expect(errorOf(body).code).toBe('unsupported-result');
  });

  it('refuses more than one series, naming some of them and how to fix the query', () => {
    const error = errorOf(vectorOf('1', '2', '3', '4'));
    expect(error.code).toBe('multiple-series');
    expect(error.message).toContain('got 4');
    expect(error.message).toContain('{pod="p0"}');
    expect(error.message).toContain('sum()');
  });

  it('surfaces the message of a Prometheus error answer', () => {
    const body = JSON.stringify({
      status: 'error',
      errorType: 'execution',
      error: 'query timed out in expression evaluation',
    });
    expect(errorOf(body)).toMatchObject({
      code: 'query-failed',
      message: expect.stringContaining('execution: query timed out in expression evaluation'),
    });
  });

  it('is not fooled by prototype keys in labels', () => {
    const body = `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__proto__":"x","constructor":"y"},"value":[1700000000,"5"]}]}}`;
    expect(parseQueryAnswer(body, origin)).toEqual({ kind: 'value', value: 5, at });
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('shortens a huge query in messages', () => {
    const long = { query: `sum(${'a'.repeat(5000)})`, address: origin.address };
    let message = '';
    try {
      parseQueryAnswer('nope', long);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message.length).toBeLessThan(600);
  });
});
