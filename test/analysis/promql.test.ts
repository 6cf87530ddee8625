import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkTemplate,
  escapeRegex,
  escapeString,
  promDuration,
  quote,
  quoteAlternatives,
  renderQuery,
  TemplateError,
  type TemplateValues,
} from '../../src/analysis/promql.ts';

/**
 * Reads a PromQL string literal starting at `start` (the opening quote) the way Prometheus'
 * lexer does (Go escapes). Returns the value and the index just after the closing quote.
 */
function readStringLiteral(text: string, start: number): { value: string; end: number } {
  const quoteChar = text[start];
  let value = '';
  let i = start + 1;
  const simple: Record<string, string> = {
    n: '\n',
    r: '\r',
    t: '\t',
    '\\': '\\',
    a: '\x07',
    b: '\b',
    f: '\f',
    v: '\v',
  };
  while (i < text.length) {
    const char = text[i]!;
    if (char === quoteChar) return { value, end: i + 1 };
    if (char === '\n') throw new Error('newline inside a string literal');
    if (char === '\\') {
      const next = text[i + 1]!;
      if (next === quoteChar) value += next;
      else if (next in simple) value += simple[next];
      else if (next === 'u') {
        value += String.fromCodePoint(Number.parseInt(text.slice(i + 2, i + 6), 16));
        i += 4;
      } else throw new Error(`unknown escape \\${next}`);
      i += 2;
      continue;
    }
    value += char;
    i++;
  }
  throw new Error('unterminated string literal');
}

const values: TemplateValues = {
  namespace: 'shop',
  deployment: 'web',
  canary: 'web-canary',
  service: 'web-svc',
  ingress: ['web'],
  interval: '2m',
  stableHash: '5d8f7c',
  canaryHash: '6b9c4d',
};

const nasty = fc.string({
  minLength: 1,
  unit: fc.oneof(
    fc.constantFrom(
      '"',
      "'",
      '\\',
      '\n',
      '\r',
      '\t',
      '}',
      '{',
      '|',
      '.',
      '*',
      '`',
      '#',
      '$',
      '(',
      ')',
      '[',
      ']',
      '\0',
      '\x7f',
    ),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  ),
});

describe('escaping values for PromQL strings', () => {
  it('escapes backslash, quote and newline', () => {
    expect(escapeString('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
    expect(escapeString("it's", "'")).toBe("it\\'s");
    expect(escapeString("it's")).toBe("it's");
    expect(escapeString('\0\x1b\x7f')).toBe('\\u0000\\u001b\\u007f');
  });

  it('escapes regex metacharacters so a value matches only itself', () => {
    expect(escapeRegex('web.shop')).toBe('web\\.shop');
    expect(escapeRegex('a|b(c)*[d]{2}^$+?\\')).toBe('a\\|b\\(c\\)\\*\\[d\\]\\{2\\}\\^\\$\\+\\?\\\\');
    expect(quoteAlternatives(['web.shop', 'api'])).toBe('"web\\\\.shop|api"');
  });

  it('round-trips any value through a string literal, which ends exactly where it should', () => {
    fc.assert(
      fc.property(nasty, (value) => {
        const literal = `${quote(value)}}`;
        const read = readStringLiteral(literal, 0);
        expect(read.value).toBe(value.toWellFormed());
        expect(literal.slice(read.end)).toBe('}');
      }),
    );
  });

  it('makes a regex alternative that matches the value and nothing else', () => {
    fc.assert(
      fc.property(nasty, nasty, (value, other) => {
        const source = readStringLiteral(quoteAlternatives([value]), 0).value;
        const regex = new RegExp(`^(?:${source})$`, 'u');
        expect(regex.test(value.toWellFormed())).toBe(true);
        if (other.toWellFormed() !== value.toWellFormed()) expect(regex.test(other.toWellFormed())).toBe(false);
      }),
    );
  });
});

describe('rendering custom query templates', () => {
  it('fills every variable', () => {
    const template =
      'sum(rate(http_requests_total{namespace="{{namespace}}",deployment="{{deployment}}",canary="{{canary}}",' +
      'service="{{ service }}",ingress="{{ingress}}",pod=~".*-{{canaryHash}}-.*",old=~".*-{{stableHash}}-.*"}[{{interval}}]))';
    expect(renderQuery(template, values)).toBe(
      'sum(rate(http_requests_total{namespace="shop",deployment="web",canary="web-canary",' +
        'service="web-svc",ingress="web",pod=~".*-6b9c4d-.*",old=~".*-5d8f7c-.*"}[2m]))',
    );
  });

  it('keeps a Deployment named with quotes and braces inside its label matcher', () => {
    const hostile = 'a"} or vector(1) #';
    const template = 'sum(rate(x{deployment="{{deployment}}"}[1m]))';
    const rendered = renderQuery(template, { ...values, deployment: hostile });
    expect(rendered).toBe('sum(rate(x{deployment="a\\"} or vector(1) #"}[1m]))');
    const literalStart = rendered.indexOf('"');
    const read = readStringLiteral(rendered, literalStart);
    expect(read.value).toBe(hostile);
    expect(rendered.slice(read.end)).toBe('}[1m]))');
  });

  it('keeps any value inside its matcher, in plain, single-quoted and regex matchers', () => {
    fc.assert(
      fc.property(nasty, (hostile) => {
        for (const [template, tail] of [
          ['x{deployment="{{deployment}}"}', '}'],
          ["x{deployment='{{deployment}}'}", '}'],
          ['x{pod=~"{{deployment}}-.*"}', '}'],
          ['x{pod !~ "{{deployment}}"} or y', '} or y'],
        ] as const) {
          const rendered = renderQuery(template, { ...values, deployment: hostile });
          const start = rendered.search(/["']/);
          const read = readStringLiteral(rendered, start);
          expect(rendered.slice(read.end)).toBe(tail);
        }
      }),
    );
  });

  it('escapes regex metacharacters only in regex matchers', () => {
    const dotted = { ...values, deployment: 'web.v2' };
    expect(renderQuery('x{d="{{deployment}}"}', dotted)).toBe('x{d="web.v2"}');
    expect(renderQuery('x{d=~"{{deployment}}"}', dotted)).toBe('x{d=~"web\\\\.v2"}');
    expect(renderQuery('x{d!~"{{deployment}}"}', dotted)).toBe('x{d!~"web\\\\.v2"}');
  });

  it('matches every Ingress of the release in a regex matcher, keeping a prefix on each', () => {
    const two = { ...values, ingress: ['web', 'web.admin'] };
    expect(renderQuery('x{ingress=~"{{ingress}}"}', two)).toBe('x{ingress=~"(?:web|web\\\\.admin)"}');
    expect(renderQuery('x{ingress=~"{{ingress}}"}', values)).toBe('x{ingress=~"web"}');
  });

  it('does not confuse escaped quotes or quotes in comments with the end of a string', () => {
    expect(renderQuery('x{a="\\"{{deployment}}"}', values)).toBe('x{a="\\"web"}');
    expect(renderQuery('x # "a comment\n{a="{{deployment}}"}', values)).toBe('x # "a comment\n{a="web"}');
  });

  it('accepts the interval outside quotes only because it is a PromQL duration', () => {
    expect(renderQuery('rate(x[{{interval}}]) offset {{interval}}', values)).toBe('rate(x[2m]) offset 2m');
    expect(() => renderQuery('rate(x[{{interval}}])', { ...values, interval: '1m]) or vector(1' })).toThrow(
      TemplateError,
    );
  });

  const refusal = (template: string, given: TemplateValues = values) => {
    try {
      renderQuery(template, given);
    } catch (error) {
      if (error instanceof TemplateError) return { code: error.code, message: error.message };
      throw error;
    }
    throw new Error('expected the template to be refused');
  };

  it('refuses unknown variables, listing the known ones', () => {
    const refused = refusal('x{a="{{pod}}"}');
    expect(refused.code).toBe('unknown-variable');
    expect(refused.message).toContain('{{pod}}');
    expect(refused.message).toContain('{{deployment}}');
    expect(() => checkTemplate('x{a="{{Deployment}}"}')).toThrow(/unknown variable/);
  });

  it('refuses names outside a quoted string, showing how to write it', () => {
    expect(refusal('x{deployment={{deployment}}}')).toMatchObject({
      code: 'unquoted-variable',
      message: expect.stringContaining('deployment="{{deployment}}"'),
    });
    expect(refusal('{{namespace}}').code).toBe('unquoted-variable');
  });

  it('refuses placeholders it cannot escape: raw strings and comments', () => {
    expect(refusal('x{a=`{{deployment}}`}').code).toBe('placeholder-in-raw-string');
    expect(refusal('x # {{deployment}}').code).toBe('placeholder-in-comment');
  });

  it('refuses malformed placeholders', () => {
    expect(refusal('x{a="{{ deployment"}').code).toBe('malformed-placeholder');
    expect(refusal('x{a="{{1}}"}').code).toBe('malformed-placeholder');
  });

  it('refuses a hash that is not known yet rather than matching everything', () => {
    expect(refusal('x{pod=~".*-{{canaryHash}}-.*"}', { ...values, canaryHash: undefined }).code).toBe(
      'variable-unavailable',
    );
  });

  it('refuses an empty name, which PromQL would read as "label absent"', () => {
    expect(refusal('x{deployment="{{deployment}}"}', { ...values, deployment: '' }).code).toBe('variable-unavailable');
  });

  it('refuses a single-Ingress matcher when the release has several', () => {
    expect(refusal('x{ingress="{{ingress}}"}', { ...values, ingress: ['a', 'b'] }).code).toBe('ambiguous-ingress');
    expect(refusal('x{ingress=~"{{ingress}}"}', { ...values, ingress: [] }).code).toBe('variable-unavailable');
  });

  it('lists the variables a template uses', () => {
    expect(checkTemplate('x{a="{{deployment}}",b=~"{{ingress}}"}[{{interval}}] / y{a="{{deployment}}"}')).toEqual([
      'deployment',
      'ingress',
      'interval',
    ]);
  });
});

describe('PromQL durations', () => {
  it('writes whole seconds in seconds and the rest in milliseconds', () => {
    expect(promDuration(60_000)).toBe('60s');
    expect(promDuration(90_000)).toBe('90s');
    expect(promDuration(1_500)).toBe('1500ms');
    expect(() => promDuration(0)).toThrow(RangeError);
    expect(() => promDuration(1.5)).toThrow(RangeError);
  });
});
