// What the YAML layer gets wrong for a policy author: syntax errors reported where the parser
// gave up (an unclosed quote at the end of the file) rather than where the mistake is, duplicate
// keys without naming the key, and numbers YAML reads from forms nobody means in a policy
// (0x10, 0o17, 1:30 in YAML 1.1, .nan, .inf).
import { isMap, isScalar, isSeq, type LineCounter, type Node, type parseAllDocuments } from 'yaml';
import { type FieldPath, formatFieldPath, type PolicyError } from './errors.ts';

type YamlDocument = Extract<ReturnType<typeof parseAllDocuments>, readonly unknown[]>[number];

/** A value refused before the schema sees it; its path is then not reported again by zod. */
export interface RefusedValue {
  path: FieldPath;
  message: string;
  hint?: string;
}

interface Opening {
  kind: 'double quote' | 'single quote' | 'flow mapping' | 'flow sequence';
  /** Offset of the opening character. */
  start: number;
  /** Offset where the parser stopped reading it. */
  end: number;
}

/** The parser's errors, each positioned at the mistake and naming what is wrong. */
export function yamlSyntaxErrors(document: YamlDocument, lineCounter: LineCounter, source: string): PolicyError[] {
  const openings = unclosed(document.contents as Node | null);
  const duplicates = duplicateKeys(document.contents as Node | null, lineCounter);
  const errors: PolicyError[] = [];
  let duplicateIndex = 0;
  for (const problem of document.errors) {
    if (problem.code === 'DUPLICATE_KEY') {
      const duplicate = duplicates[duplicateIndex++];
      if (duplicate !== undefined) {
        errors.push({ source, ...duplicate.at, path: formatFieldPath(duplicate.path), message: duplicate.message });
        continue;
      }
    }
    const firstLine = problem.message.split('\n')[0] ?? problem.message;
    const opening = openingFor(firstLine, problem.pos[0], openings);
    if (opening !== undefined) {
      const position = lineCounter.linePos(opening.start);
      const end = lineCounter.linePos(opening.end);
      errors.push({
        source,
        line: position.line,
        column: position.col,
        path: '',
        message: `invalid YAML: this ${opening.kind} is never closed (the parser read on to line ${end.line}: ${firstLine})`,
        hint: closingHint(opening.kind),
      });
      continue;
    }
    const position = problem.linePos?.[0] ?? lineCounter.linePos(problem.pos[0]);
    errors.push({ source, line: position.line, column: position.col, path: '', message: `invalid YAML: ${firstLine}` });
  }
  // One unclosed quote or bracket makes the parser complain more than once about it.
  return errors.filter(
    (error, index) => errors.findIndex((other) => other.line === error.line && other.column === error.column) === index,
  );
}

function closingHint(kind: Opening['kind']): string {
  switch (kind) {
    case 'double quote':
      return 'close the string with "';
    case 'single quote':
      return "close the string with ' (write '' for a quote inside it)";
    case 'flow mapping':
      return 'close the mapping with }';
    case 'flow sequence':
      return 'close the list with ]';
  }
}

/** The unclosed construct the parser's message is about: the last one that ended before it. */
function openingFor(message: string, at: number, openings: readonly Opening[]): Opening | undefined {
  const kinds: Opening['kind'][] = [];
  if (/quote/i.test(message)) kinds.push('double quote', 'single quote');
  if (/\}|flow map/i.test(message)) kinds.push('flow mapping');
  if (/\]|flow seq/i.test(message)) kinds.push('flow sequence');
  const candidates = openings.filter((opening) => kinds.includes(opening.kind) && opening.start <= at);
  const found = candidates.sort((a, b) => b.start - a.start)[0];
  if (found === undefined || found.kind.endsWith('quote')) return found;
  // A bracket left open because an unclosed quote inside it swallowed the closing one: the quote
  // is the mistake.
  return (
    openings.find((inner) => inner.kind.endsWith('quote') && inner.start > found.start && inner.start <= found.end) ??
    found
  );
}

type SourceToken = { type?: string; source?: string; end?: Array<{ source: string }> };

/** Quoted scalars and flow collections whose closing character is missing. */
function unclosed(root: Node | null): Opening[] {
  const found: Opening[] = [];
  walk(root, [], (node) => {
    const range = node.range;
    if (range === undefined || range === null) return;
    const kind = unclosedKind(node, (node as { srcToken?: SourceToken }).srcToken);
    if (kind !== undefined) found.push({ kind, start: range[0], end: range[1] });
  });
  return found;
}

const CLOSED_DOUBLE = /^"(?:[^"\\]|\\.)*"$/s;
const CLOSED_SINGLE = /^'(?:[^']|'')*'$/s;

function unclosedKind(node: Node, token: SourceToken | undefined): Opening['kind'] | undefined {
  if (isScalar(node) && node.type === 'QUOTE_DOUBLE') {
    return CLOSED_DOUBLE.test(token?.source ?? '') ? undefined : 'double quote';
  }
  if (isScalar(node) && node.type === 'QUOTE_SINGLE') {
    return CLOSED_SINGLE.test(token?.source ?? '') ? undefined : 'single quote';
  }
  if (!(isMap(node) || isSeq(node)) || node.flow !== true || token?.type !== 'flow-collection') return undefined;
  const close = isMap(node) ? '}' : ']';
  if ((token.end ?? []).some((end) => end.source === close)) return undefined;
  return isMap(node) ? 'flow mapping' : 'flow sequence';
}

interface Duplicate {
  path: FieldPath;
  at: { line: number; column: number };
  message: string;
}

/** Every key that appears twice in one mapping, in file order, naming the key and both lines. */
export function duplicateKeys(root: Node | null, lineCounter: LineCounter): Duplicate[] {
  const duplicates: Duplicate[] = [];
  walk(root, [], (node, path) => {
    if (!isMap(node)) return;
    const seen = new Map<string, number>();
    for (const pair of node.items) {
      if (!isScalar(pair.key) || pair.key.range === undefined || pair.key.range === null) continue;
      const name = String(pair.key.value);
      const offset = pair.key.range[0];
      const first = seen.get(name);
      if (first === undefined) {
        seen.set(name, offset);
        continue;
      }
      const firstLine = lineCounter.linePos(first).line;
      const again = lineCounter.linePos(offset);
      duplicates.push({
        path: [...path, name],
        at: { line: again.line, column: again.col },
        message: `duplicate key \`${name}\`: first on line ${firstLine}, again on line ${again.line}; only the last one counts`,
      });
    }
  });
  return duplicates.sort((a, b) => a.at.line - b.at.line || a.at.column - b.at.column);
}

/** A number as people write it in a policy: decimal, with an optional fraction and exponent. */
const DECIMAL = /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;

/**
 * Numbers YAML reads from hexadecimal, octal, binary, sexagesimal (1:30 is 90 in YAML 1.1) or
 * with digit separators, and the special values .nan and .inf: refused wherever they appear,
 * because the value canaryd would use is not what the author sees.
 */
export function nonDecimalNumbers(root: Node | null): RefusedValue[] {
  const refused: RefusedValue[] = [];
  walk(root, [], (node, path) => {
    if (!isScalar(node) || typeof node.value !== 'number') return;
    const text = ((node as { srcToken?: { source?: string } }).srcToken?.source ?? String(node.value)).trim();
    if (DECIMAL.test(text)) return;
    if (!Number.isFinite(node.value)) {
      refused.push({
        path,
        message: `expected a finite decimal number, found \`${text}\` (YAML reads it as ${node.value})`,
        hint: 'write a number such as 99.5; quote it if you meant a string',
      });
    } else {
      refused.push({
        path,
        message: `expected a decimal number, found \`${text}\`, which YAML reads as ${node.value}`,
        hint: `write ${node.value} if that is what you mean; quote it if you meant a string`,
      });
    }
  });
  return refused;
}

/** Visits every node with its field path (keys of mappings, indices of lists). */
function walk(node: Node | null, path: FieldPath, visit: (node: Node, path: FieldPath) => void): void {
  if (node === null || node === undefined) return;
  visit(node, path);
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
      if (key !== undefined) walk(pair.value as Node | null, [...path, key], visit);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, index) => {
      walk(item as Node | null, [...path, index], visit);
    });
  }
}
