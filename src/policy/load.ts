// Policies from YAML files: several documents per file, a directory (a mounted ConfigMap), all
// errors at once, and one bad document never hides the good ones.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { LineCounter, type Node, parseAllDocuments } from 'yaml';
import { type PolicyError, sortPolicyErrors } from './errors.ts';
import { type Locate, locatorFor } from './positions.ts';
import type { CanaryPolicy } from './schema.ts';
import { validateDocument } from './validate.ts';
import { nonDecimalNumbers, yamlSyntaxErrors } from './yaml-checks.ts';

export interface LoadedPolicy {
  policy: CanaryPolicy;
  /** The file (and line where the document starts) it came from. */
  source: string;
  line?: number;
}

/** A document that was rejected; `key` ("namespace/name") when it names itself. */
export interface RejectedPolicy {
  key?: string;
  source: string;
}

export interface PolicyLoad {
  policies: LoadedPolicy[];
  errors: PolicyError[];
  warnings: PolicyError[];
  rejected: RejectedPolicy[];
}

/** Where each loaded policy's fields are, for errors about the set (duplicates). */
const locators = new WeakMap<LoadedPolicy, Locate>();

export const MAX_FILE_BYTES = 1024 * 1024;
/** yaml's guard against "billion laughs": aliases resolved per document. */
export const MAX_ALIAS_COUNT = 100;
const POLICY_FILE = /\.(ya?ml|json)$/i;

export function emptyLoad(): PolicyLoad {
  return { policies: [], errors: [], warnings: [], rejected: [] };
}

/** Parses every document of one file's text. */
export function parsePolicyText(text: string, source: string): PolicyLoad {
  const load = emptyLoad();
  if (text.length > MAX_FILE_BYTES) {
    load.errors.push({ source, path: '', message: `file too large: ${text.length} bytes, at most ${MAX_FILE_BYTES}` });
    load.rejected.push({ source });
    return load;
  }
  const lineCounter = new LineCounter();
  let documents: ReturnType<typeof parseAllDocuments>;
  try {
    documents = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true, keepSourceTokens: true });
  } catch (cause) {
    // The parser can exhaust the stack on absurd nesting; that is a bad file, not a crash.
    load.errors.push({ source, path: '', message: `cannot parse YAML: ${(cause as Error).message}` });
    load.rejected.push({ source });
    return load;
  }
  // An empty stream (comments only) is not a list.
  if (Array.isArray(documents)) for (const document of documents) addDocument(load, document, lineCounter, source);
  if (load.policies.length === 0 && load.errors.length === 0) {
    // Not an error (an empty file in a mounted ConfigMap is harmless), but never silent.
    load.warnings.push({
      source,
      path: '',
      message: 'no CanaryPolicy in this file: it is empty or holds only comments and empty (null) documents',
    });
  }
  return { ...load, errors: sortPolicyErrors(load.errors), warnings: sortPolicyErrors(load.warnings) };
}

/** One document of parseAllDocuments' answer (which is a list, or an EmptyStream). */
type YamlDocument = Extract<ReturnType<typeof parseAllDocuments>, readonly unknown[]>[number];

/** Validates one parsed YAML document and adds its policy, or its errors, to `load`. */
function addDocument(load: PolicyLoad, document: YamlDocument, lineCounter: LineCounter, source: string): void {
  const syntaxErrors = yamlSyntaxErrors(document, lineCounter, source);
  // A duplicate key leaves a readable document: validate the rest too, so one run shows every
  // error. After any other syntax error the structure is a guess; report only the syntax.
  if (document.errors.some((problem) => problem.code !== 'DUPLICATE_KEY')) {
    load.errors.push(...syntaxErrors);
    load.rejected.push({ source });
    return;
  }
  const start = lineCounter.linePos(document.range?.[0] ?? 0);
  let value: unknown;
  try {
    value = document.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (cause) {
    load.errors.push({
      source,
      line: start.line,
      column: start.col,
      path: '',
      message: `cannot read document: ${(cause as Error).message}`,
      hint: 'YAML aliases are limited to keep a policy cheap to load',
    });
    load.rejected.push({ source });
    return;
  }
  if (value === null || value === undefined) return; // an empty document, e.g. after a trailing `---`
  const locate = locatorFor(document, lineCounter);
  const validation = validateDocument(value, source, locate, nonDecimalNumbers(document.contents as Node | null));
  load.warnings.push(...validation.warnings);
  if (syntaxErrors.length > 0) {
    load.errors.push(...syntaxErrors, ...validation.errors);
    load.rejected.push(validation.key === undefined ? { source } : { key: validation.key, source });
  } else if (validation.policy !== undefined) {
    const loaded: LoadedPolicy = { policy: validation.policy, source, line: start.line };
    locators.set(loaded, locate);
    load.policies.push(loaded);
  } else {
    load.errors.push(...validation.errors);
    load.rejected.push(validation.key === undefined ? { source } : { key: validation.key, source });
  }
}

/**
 * Loads files and directories (their *.yaml, *.yml and *.json files; dot-entries such as a
 * ConfigMap's `..data` are skipped, the symlinks pointing into it are followed). Checks the set
 * for duplicates: two policies with one name, or two policies for one Deployment.
 */
export async function loadPolicyFiles(paths: string | readonly string[]): Promise<PolicyLoad> {
  const files: Array<{ file: string; size: number }> = [];
  const load = emptyLoad();
  for (const path of typeof paths === 'string' ? [paths] : paths) {
    try {
      const found = await stat(path);
      if (found.isDirectory()) {
        const entries = (await readdir(path)).filter((entry) => !entry.startsWith('.') && POLICY_FILE.test(entry));
        for (const entry of entries.sort()) {
          const file = join(path, entry);
          const info = await stat(file);
          if (info.isFile()) files.push({ file, size: info.size });
        }
      } else {
        files.push({ file: path, size: found.size });
      }
    } catch (cause) {
      load.errors.push({ source: path, path: '', message: `cannot read: ${(cause as Error).message}` });
      load.rejected.push({ source: path });
    }
  }
  for (const { file, size } of files) {
    if (size > MAX_FILE_BYTES) {
      // Refused unread: a flood of huge files must not cost their size in memory.
      load.errors.push({ source: file, path: '', message: `file too large: ${size} bytes, at most ${MAX_FILE_BYTES}` });
      load.rejected.push({ source: file });
      continue;
    }
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (cause) {
      // A ConfigMap swap can remove a file between readdir and read; the next event reloads.
      load.errors.push({ source: file, path: '', message: `cannot read: ${(cause as Error).message}` });
      load.rejected.push({ source: file });
      continue;
    }
    merge(load, parsePolicyText(text, file));
  }
  return rejectDuplicates(load);
}

function merge(into: PolicyLoad, from: PolicyLoad): void {
  into.policies.push(...from.policies);
  into.errors.push(...from.errors);
  into.warnings.push(...from.warnings);
  into.rejected.push(...from.rejected);
}

/** The first policy (in file order) for a name or a Deployment wins; later ones are errors. */
export function rejectDuplicates(load: PolicyLoad): PolicyLoad {
  const byName = new Map<string, LoadedPolicy>();
  const byDeployment = new Map<string, LoadedPolicy>();
  const policies: LoadedPolicy[] = [];
  for (const loaded of load.policies) {
    const { metadata, spec } = loaded.policy;
    const name = `${metadata.namespace}/${metadata.name}`;
    const deployment = `${metadata.namespace}/${spec.target.deployment}`;
    const sameName = byName.get(name);
    const sameDeployment = byDeployment.get(deployment);
    if (sameName !== undefined) {
      load.errors.push({
        source: loaded.source,
        ...positionOf(loaded, ['metadata', 'name']),
        path: 'metadata.name',
        message: `policy ${name} is defined twice (first in ${where(sameName)})`,
        hint: 'give each policy its own name',
      });
      load.rejected.push({ key: name, source: loaded.source });
    } else if (sameDeployment !== undefined) {
      const other = sameDeployment.policy.metadata;
      load.errors.push({
        source: loaded.source,
        ...positionOf(loaded, ['spec', 'target', 'deployment']),
        path: 'spec.target.deployment',
        message: `deployment ${deployment} is already managed by policy ${other.namespace}/${other.name} (${where(sameDeployment)})`,
        hint: 'one policy per Deployment',
      });
      load.rejected.push({ key: name, source: loaded.source });
    } else {
      byName.set(name, loaded);
      byDeployment.set(deployment, loaded);
      policies.push(loaded);
    }
  }
  return { ...load, policies, errors: sortPolicyErrors(load.errors), warnings: sortPolicyErrors(load.warnings) };
}

function positionOf(loaded: LoadedPolicy, path: readonly string[]): { line?: number; column?: number } {
  const position = locators.get(loaded)?.(path);
  if (position !== undefined) return { line: position.line, column: position.column };
  return loaded.line === undefined ? {} : { line: loaded.line };
}

function where(loaded: LoadedPolicy): string {
  return loaded.line === undefined ? loaded.source : `${loaded.source}:${loaded.line}`;
}
