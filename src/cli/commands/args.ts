// Flags the cluster commands share with kubectl (-n/--namespace, --context, --kubeconfig), parsed
// into plain data. Pure: a usage problem is a UsageError (exit 2), never a process exit.
import { parseArgs } from 'node:util';

export class UsageError extends Error {
  override name = 'UsageError';
}

export interface ClusterFlags {
  namespace?: string;
  context?: string;
  kubeconfig?: string;
}

const CLUSTER_OPTIONS = {
  namespace: { type: 'string', short: 'n' },
  context: { type: 'string' },
  kubeconfig: { type: 'string' },
} as const;

type ExtraOptions = Record<string, { type: 'string' | 'boolean'; short?: string }>;

export interface ParsedArgs {
  cluster: ClusterFlags;
  positionals: string[];
  values: Record<string, string | boolean | undefined>;
}

/** Parses kubectl-style flags; `extra` adds the command's own. Unknown flags are usage errors. */
export function parseClusterArgs(args: string[], extra: ExtraOptions = {}): ParsedArgs {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, allowPositionals: true, strict: true, options: { ...CLUSTER_OPTIONS, ...extra } });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const text = (key: string) => (typeof values[key] === 'string' ? (values[key] as string) : undefined);
  const cluster: ClusterFlags = {};
  for (const key of ['namespace', 'context', 'kubeconfig'] as const) {
    const value = text(key);
    if (value === '') throw new UsageError(`--${key} needs a value`);
    if (value !== undefined) cluster[key] = value;
  }
  return { cluster, positionals: parsed.positionals, values };
}

/** Exactly one NAME positional. */
export function oneName(positionals: string[]): string {
  if (positionals.length !== 1 || positionals[0] === undefined) {
    throw new UsageError(
      positionals.length === 0 ? 'NAME is required' : `expected one NAME, got ${positionals.join(' ')}`,
    );
  }
  const name = positionals[0];
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name)) {
    throw new UsageError(`${JSON.stringify(name)} is not a valid CanaryPolicy name`);
  }
  return name;
}

/** A whole number >= 1 from a flag such as --to-revision. */
export function revisionFlag(flag: string, value: string | boolean | undefined): number | undefined {
  if (value === undefined) return undefined;
  const revision = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(revision) || revision < 1) {
    throw new UsageError(`--${flag} must be a whole number >= 1, got ${JSON.stringify(value)}`);
  }
  return revision;
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600 };

/** A duration flag in seconds ("30s", "2m", "1h", "0"). */
export function secondsFlag(flag: string, value: string | boolean | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const match = typeof value === 'string' ? /^(\d+)(s|m|h)?$/.exec(value) : null;
  if (match === null)
    throw new UsageError(`--${flag} must be a duration such as 30s, 2m or 1h, got ${JSON.stringify(value)}`);
  return Number(match[1]) * (UNIT_SECONDS[match[2] ?? 's'] ?? 1);
}
