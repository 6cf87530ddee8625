// Controller settings: flags override environment variables, which override defaults. Validated
// by zod so a typo stops the start with a message naming the setting.
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { duration } from '../policy/schema.ts';
import { SHARD_NAME } from '../policy/shard.ts';

export const settingsSchema = z.strictObject({
  kubeconfig: z.string().optional().meta({ description: 'Kubeconfig file; default: in-cluster, then ~/.kube/config.' }),
  listen: z
    .string()
    .regex(/^[^:]+:\d+$/, { message: 'expected HOST:PORT, e.g. 0.0.0.0:8080' })
    .default('0.0.0.0:8080'),
  namespace: z.string().optional().meta({ description: 'Watch only this namespace (default: all).' }),
  shard: z
    .string()
    .regex(SHARD_NAME, { message: 'expected a shard name: lowercase letters, digits and -, at most 40, e.g. a' })
    .optional()
    .meta({
      description:
        'Reconcile only the CanaryPolicies labelled canaryd.dev/shard=SHARD, electing a leader on the Lease <lease-name>-SHARD (default: the policies without the label).',
    }),
  policyDir: z
    .string()
    .optional()
    .meta({ description: 'Directory of CanaryPolicy YAML files to apply and keep in sync.' }),
  notifications: z.string().optional().meta({
    description: 'YAML file of notification receivers and defaults (docs/notifications.md); default: none.',
  }),
  notificationsOutbox: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/, {
      message: 'expected NAMESPACE/NAME of a ConfigMap, e.g. canaryd-system/canaryd-notifications',
    })
    .optional()
    .meta({
      description:
        'ConfigMap (NAMESPACE/NAME) keeping queued notifications across restarts; default: <lease namespace>/canaryd-notifications.',
    }),
  prometheusUrl: z.url().optional().meta({ description: 'Prometheus used by policies that name none.' }),
  leaderElect: z.boolean().default(false),
  leaseNamespace: z.string().default('canaryd-system'),
  leaseName: z.string().default('canaryd-leader'),
  leaseDuration: duration.default('15s'),
  identity: z.string().default(process.env.HOSTNAME ?? `canaryd-${process.pid}`),
  resync: duration.default('5s').meta({ description: 'How often a running release is looked at even without events.' }),
  // A reconcile mostly waits for the API server (its reads come from the caches): workers are
  // cheap, and with 4 a few slow writes held up every policy behind them (docs/scale.md).
  concurrency: z.number().int().min(1).max(64).default(16).meta({
    description:
      'Policies reconciled at once after cluster changes (each one by one worker at a time); --wake-workers more are kept for due wake-ups (a hold ending, an analysis round).',
  }),
  // Reserved for due steps so they do not queue behind other policies' writes on a slow API
  // server; 0 gives wake-ups no workers of their own (docs/scale.md, "Wake-ups first").
  wakeWorkers: z.number().int().min(0).max(64).optional().meta({
    description:
      'Workers beyond --concurrency that take only due wake-ups (default: a quarter of --concurrency, at least 1; 0: wake-ups wait in line with every other reconcile).',
  }),
  logLevel: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
});

export type Settings = z.output<typeof settingsSchema>;

const ENV: Record<string, keyof Settings> = {
  KUBECONFIG: 'kubeconfig',
  CANARYD_LISTEN: 'listen',
  CANARYD_NAMESPACE: 'namespace',
  CANARYD_SHARD: 'shard',
  CANARYD_POLICY_DIR: 'policyDir',
  CANARYD_PROMETHEUS_URL: 'prometheusUrl',
  CANARYD_NOTIFICATIONS: 'notifications',
  CANARYD_NOTIFICATIONS_OUTBOX: 'notificationsOutbox',
  CANARYD_LEADER_ELECT: 'leaderElect',
  CANARYD_LEASE_NAMESPACE: 'leaseNamespace',
  CANARYD_LEASE_NAME: 'leaseName',
  CANARYD_LEASE_DURATION: 'leaseDuration',
  CANARYD_IDENTITY: 'identity',
  CANARYD_RESYNC: 'resync',
  CANARYD_CONCURRENCY: 'concurrency',
  CANARYD_WAKE_WORKERS: 'wakeWorkers',
  CANARYD_LOG_LEVEL: 'logLevel',
};

const coerce = (key: keyof Settings, value: string): unknown => {
  if (key === 'leaderElect') return value === 'true' || value === '1' || value === '';
  // A number only when it reads as one: "four" stays a string and is refused as such, not as NaN.
  if (key === 'concurrency' || key === 'wakeWorkers')
    return /^\s*-?\d+(\.\d+)?\s*$/.test(value) ? Number(value) : value;
  return value;
};

/** The flag of a setting, without its dashes: wakeWorkers → wake-workers. */
const flagOf = (key: string): string => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** How an SRE sets it, for an error: `--wake-workers (CANARYD_WAKE_WORKERS)`. */
const spelling = (key: string): string => {
  const flag = `--${flagOf(key)}`;
  const variable = Object.entries(ENV).find(([, k]) => k === key)?.[0];
  return variable === undefined ? flag : `${flag} (${variable})`;
};

export class SettingsError extends Error {
  override name = 'SettingsError';
}

export function loadSettings(argv: string[], env: NodeJS.ProcessEnv): Settings {
  const raw: Record<string, unknown> = {};
  /** The text each setting was given as, for an error. */
  const given: Record<string, string> = {};
  for (const [name, key] of Object.entries(ENV)) {
    const value = env[name];
    if (value !== undefined && value !== '') {
      raw[key] = coerce(key, value);
      given[key] = value;
    }
  }
  const options = Object.fromEntries(
    Object.keys(settingsSchema.shape).map((key) => [
      flagOf(key),
      { type: key === 'leaderElect' ? ('boolean' as const) : ('string' as const) },
    ]),
  );
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: false });
  } catch (error) {
    throw new SettingsError(
      `${(error as Error).message}\nflags: ${Object.keys(options)
        .map((o) => `--${o}`)
        .join(' ')}`,
    );
  }
  for (const [flag, value] of Object.entries(parsed.values)) {
    const key = flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()) as keyof Settings;
    raw[key] = typeof value === 'string' ? coerce(key, value) : value;
    if (typeof value === 'string') given[key] = value;
  }
  const result = settingsSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const key = String(issue.path[0] ?? '');
      if (key === '') return `  (settings): ${issue.message}`;
      const value = given[key] === undefined ? '' : ` ${JSON.stringify(given[key])}`;
      return `  ${spelling(key)}${value}: ${issue.message}`;
    });
    throw new SettingsError(`invalid canaryd settings:\n${problems.join('\n')}`);
  }
  return result.data;
}
