// Putting names into PromQL safely. Every value canaryd inserts into a query goes through these
// functions, so an object name (or a hash read from the cluster) can never change what a query
// means: at worst it matches nothing, and "no data" is inconclusive, never a pass.

/** Escapes a value for the inside of a PromQL string literal quoted with `quote`. */
export function escapeString(value: string, quote: '"' | "'" = '"'): string {
  let out = '';
  // Lone surrogates cannot be encoded as UTF-8; make them U+FFFD rather than fail later.
  for (const char of value.toWellFormed()) {
    const code = char.codePointAt(0)!;
    if (char === '\\') out += '\\\\';
    else if (char === quote) out += `\\${quote}`;
    else if (char === '\n') out += '\\n';
    else if (char === '\r') out += '\\r';
    else if (char === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += char;
  }
  return out;
}

/** Escapes RE2 metacharacters (like Go's regexp.QuoteMeta) so a value matches only itself. */
export function escapeRegex(value: string): string {
  return value.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

/** `"value"`, escaped: the right-hand side of a `label="…"` matcher. */
export function quote(value: string): string {
  return `"${escapeString(value)}"`;
}

/** `"a|b"`, each alternative matching only itself: the right-hand side of a `label=~"…"` matcher. */
export function quoteAlternatives(values: readonly string[]): string {
  return quote(values.map(escapeRegex).join('|'));
}

const PROM_DURATION = /^(\d+(ms|s|m|h|d|w|y))+$/;

/** A duration in PromQL syntax. Whole seconds are written in seconds ("90s"), otherwise in ms. */
export function promDuration(ms: number): string {
  if (!Number.isInteger(ms) || ms <= 0)
    throw new RangeError(`a PromQL duration must be a positive whole number of ms, got ${ms}`);
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

export const TEMPLATE_VARIABLES = [
  'namespace',
  'deployment',
  'canary',
  'service',
  'ingress',
  'interval',
  'stableHash',
  'canaryHash',
] as const;
export type TemplateVariable = (typeof TEMPLATE_VARIABLES)[number];

/** The values a custom query may use. `ingress` lists every Ingress of the release. */
export interface TemplateValues {
  namespace: string;
  deployment: string;
  canary: string;
  service: string;
  ingress: readonly string[];
  /** A PromQL duration such as "1m" (see promDuration). */
  interval: string;
  /** pod-template-hash of the stable and canary pods, once known. */
  stableHash?: string | undefined;
  canaryHash?: string | undefined;
}

export type TemplateErrorCode =
  | 'unknown-variable'
  | 'malformed-placeholder'
  | 'unquoted-variable'
  | 'placeholder-in-raw-string'
  | 'placeholder-in-comment'
  | 'variable-unavailable'
  | 'ambiguous-ingress';

export class TemplateError extends Error {
  readonly code: TemplateErrorCode;
  readonly variable: string | undefined;
  constructor(code: TemplateErrorCode, message: string, variable?: string) {
    super(message);
    this.name = 'TemplateError';
    this.code = code;
    this.variable = variable;
  }
}

/** Where a placeholder sits, which decides how its value is escaped. */
type Context = 'code' | 'string' | 'regex' | 'raw' | 'comment';

interface Placeholder {
  start: number;
  end: number;
  name: string;
  context: Context;
  quote: '"' | "'";
}

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/y;

function isRegexMatcher(template: string, quoteAt: number): boolean {
  let i = quoteAt - 1;
  while (i >= 0 && /\s/.test(template[i]!)) i--;
  return template[i] === '~' && (template[i - 1] === '=' || template[i - 1] === '!');
}

interface LexState {
  context: Context;
  quote: '"' | "'";
}

/** The lexer state after `template[i]`, and how many characters that step consumed. */
function step(template: string, i: number, state: LexState): number {
  const char = template[i]!;
  switch (state.context) {
    case 'code':
      if (char === '"' || char === "'") {
        state.quote = char;
        state.context = isRegexMatcher(template, i) ? 'regex' : 'string';
      } else if (char === '`') state.context = 'raw';
      else if (char === '#') state.context = 'comment';
      return 1;
    case 'string':
    case 'regex':
      if (char === '\\') return 2;
      if (char === state.quote) state.context = 'code';
      return 1;
    case 'raw':
      if (char === '`') state.context = 'code';
      return 1;
    case 'comment':
      if (char === '\n') state.context = 'code';
      return 1;
  }
}

/** Finds every {{placeholder}} with the lexical context it appears in (a tiny PromQL lexer). */
function scan(template: string): Placeholder[] {
  const found: Placeholder[] = [];
  const state: LexState = { context: 'code', quote: '"' };
  let i = 0;
  while (i < template.length) {
    if (template.startsWith('{{', i)) {
      PLACEHOLDER.lastIndex = i;
      const match = PLACEHOLDER.exec(template);
      if (match === null) {
        const shown = JSON.stringify(template.slice(i, i + 20));
        throw new TemplateError('malformed-placeholder', `malformed placeholder at ${shown}: expected {{name}}`);
      }
      found.push({ start: i, end: PLACEHOLDER.lastIndex, name: match[1]!, ...state });
      i = PLACEHOLDER.lastIndex;
    } else {
      i += step(template, i, state);
    }
  }
  return found;
}

const NAME_HINT: Record<TemplateVariable, string> = {
  namespace: 'namespace="{{namespace}}"',
  deployment: 'deployment="{{deployment}}"',
  canary: 'deployment="{{canary}}"',
  service: 'service="{{service}}"',
  ingress: 'ingress=~"{{ingress}}"',
  interval: '[{{interval}}]',
  stableHash: 'pod=~".*-{{stableHash}}-.*"',
  canaryHash: 'pod=~".*-{{canaryHash}}-.*"',
};

function isVariable(name: string): name is TemplateVariable {
  return (TEMPLATE_VARIABLES as readonly string[]).includes(name);
}

/** Checks a template without values: unknown variables, names outside quotes. Throws TemplateError. */
export function checkTemplate(template: string): TemplateVariable[] {
  const used = new Set<TemplateVariable>();
  for (const placeholder of scan(template)) used.add(checkPlaceholder(placeholder));
  return [...used];
}

function checkPlaceholder(placeholder: Placeholder): TemplateVariable {
  const { name, context } = placeholder;
  if (!isVariable(name)) {
    throw new TemplateError(
      'unknown-variable',
      `unknown variable {{${name}}}; known: ${TEMPLATE_VARIABLES.map((v) => `{{${v}}}`).join(', ')}`,
      name,
    );
  }
  if (context === 'raw') {
    throw new TemplateError(
      'placeholder-in-raw-string',
      `{{${name}}} cannot be escaped inside a \`raw string\`; use double quotes`,
      name,
    );
  }
  if (context === 'comment') {
    throw new TemplateError('placeholder-in-comment', `{{${name}}} inside a # comment is not allowed`, name);
  }
  if (context === 'code' && name !== 'interval') {
    throw new TemplateError(
      'unquoted-variable',
      `{{${name}}} must be inside a quoted string, e.g. ${NAME_HINT[name]}`,
      name,
    );
  }
  return name;
}

/** Renders a custom query: each value escaped for where it appears. Throws TemplateError. */
export function renderQuery(template: string, values: TemplateValues): string {
  if (!PROM_DURATION.test(values.interval)) {
    throw new TemplateError(
      'variable-unavailable',
      `interval ${JSON.stringify(values.interval)} is not a PromQL duration`,
      'interval',
    );
  }
  let out = '';
  let last = 0;
  for (const placeholder of scan(template)) {
    const name = checkPlaceholder(placeholder);
    out += template.slice(last, placeholder.start) + renderValue(name, placeholder, values);
    last = placeholder.end;
  }
  return out + template.slice(last);
}

function renderValue(name: TemplateVariable, placeholder: Placeholder, values: TemplateValues): string {
  if (name === 'interval') {
    return placeholder.context === 'code' ? values.interval : escapeString(values.interval, placeholder.quote);
  }
  let alternatives: readonly string[];
  if (name === 'ingress') {
    alternatives = values.ingress;
    // An empty matcher value would match series without the label: refuse rather than widen.
    if (alternatives.length === 0 || alternatives.includes('')) {
      throw new TemplateError('variable-unavailable', '{{ingress}} is used but the release has no Ingress', name);
    }
    if (placeholder.context !== 'regex' && alternatives.length > 1) {
      throw new TemplateError(
        'ambiguous-ingress',
        `the release has ${alternatives.length} Ingresses; match them with ingress=~"{{ingress}}"`,
        name,
      );
    }
  } else {
    const value = values[name];
    if (value === undefined || value === '') {
      throw new TemplateError('variable-unavailable', `{{${name}}} is not known yet for this release`, name);
    }
    alternatives = [value];
  }
  // Grouped so that `ingress=~"web-{{ingress}}"` keeps its prefix on every alternative.
  const text =
    placeholder.context !== 'regex'
      ? alternatives.join('')
      : alternatives.length === 1
        ? escapeRegex(alternatives[0]!)
        : `(?:${alternatives.map(escapeRegex).join('|')})`;
  return escapeString(text, placeholder.quote);
}
