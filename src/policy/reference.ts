// docs/policy.md: a reference of every field, generated from the zod schema
// (scripts/gen-docs.ts writes it; a test fails when the committed file drifts).
import { TEMPLATE_VARIABLES } from '../analysis/index.ts';
import { type JsonSchema, policyJsonSchema } from './schema-json.ts';

interface FieldRow {
  path: string;
  type: string;
  required: boolean;
  defaultValue?: unknown;
  description: string;
}

function typeOf(schema: JsonSchema): string {
  if (schema.enum !== undefined) return schema.enum.map((value) => JSON.stringify(value)).join(' | ');
  if (schema.type === 'array') return `list of ${schema.items ? typeOf(schema.items) : 'any'}`;
  if (schema.type === 'object') return 'object';
  if (schema.pattern === '^(\\d+(\\.\\d+)?(ms|s|m|h|d))+$') return 'duration';
  if (schema.format === 'date-time') return 'RFC 3339 time';
  if (schema.format === 'uri') return 'URL';
  return String(schema.type ?? 'any');
}

function collect(schema: JsonSchema, path: string, required: boolean, rows: FieldRow[]): void {
  const row: FieldRow = { path, type: typeOf(schema), required, description: schema.description ?? '' };
  if (
    schema.default !== undefined &&
    schema.type !== 'object' &&
    !(schema.type === 'array' && path.endsWith('steps'))
  ) {
    row.defaultValue = schema.default;
  }
  if (path === 'spec.strategy.steps') row.defaultValue = '1, 5, 25, 50 % (5m each)';
  if (path !== '') rows.push(row);
  const container = schema.type === 'array' ? schema.items : schema;
  const prefix = schema.type === 'array' ? `${path}[]` : path;
  for (const [name, child] of Object.entries(container?.properties ?? {})) {
    collect(child, prefix === '' ? name : `${prefix}.${name}`, container?.required?.includes(name) ?? false, rows);
  }
}

/**
 * What `kubectl canary validate` (and the controller) refuses beyond the field types above.
 * Errors reject the policy; warnings are printed and the policy is accepted.
 */
const VALIDATION_RULES = [
  '## Validation rules',
  '',
  'Beyond the types above, `kubectl canary validate` and the controller check what a policy means.',
  'Every finding names the file, line:column, field path and reason; errors reject the policy (the last',
  'valid version stays in force), warnings are printed and the policy is accepted.',
  '',
  '- **Thresholds in the unit of their check.** A built-in `successRate` check returns a percent (0-100): a',
  '  `min` or `max` of 1 or less is a fraction written by mistake (0.99 reads as 0.99 %, not 99 %) and is an',
  '  error, as is a bound above 100. A built-in `latency` check returns seconds: a bound above 60 (almost',
  '  surely milliseconds) or below 0 is an error. `custom` checks are in whatever unit their query returns.',
  '- **Every error of a file in one run.** When the schema refuses part of a document (an unknown field, a',
  '  wrong type), the meaning checks still run on the rest: the refused part is left out (or given its',
  '  default), and only findings that cannot depend on it are reported.',
  '- **YAML mistakes where they are.** An unclosed quote, `{` or `[` is reported at its opening, not where',
  '  the parser gave up; a duplicate key is named with both of its lines (YAML would keep only the last).',
  '- **Numbers are decimal.** A number YAML reads from `0x10`, `0o17`, `0b101`, `1:30` (YAML 1.1',
  '  sexagesimal), `.nan` or `.inf` is an error wherever it appears: write `16`, or quote it for a string.',
  '- **No field that would be ignored.** A field the chosen strategy, router or check type never reads is',
  '  an error naming it and why (defaults never count): with `strategy.type: blueGreen`, `strategy.steps`,',
  '  `allowLargeFirstStep`, `routing.testersFirst` (the preview is the testers-only phase) and',
  '  `replicaRatio.*`; with `canary`, `strategy.blueGreen`; with router `ingress-nginx`, `replicaRatio.*`;',
  '  with `replica-ratio`, `target.ingresses` and `routing`; without `analysis.checks`, every other',
  '  `analysis` field; `quantile` on a non-latency check, `sampleQuery` on a built-in check, `minSample` on a',
  '  custom check without `sampleQuery`, `stableQuery` on a custom check without `relative` thresholds.',
  '- **A blueGreen preview testers can reach.** The preview is testers only: it starts once the canary',
  '  Ingress routes them by `routing.header` or `routing.cookie`. Without either, or with router',
  '  `replica-ratio`, it would never start (the release rolls back after `timeouts.canaryReady`): an error;',
  '  with router `auto` a warning (it depends on auto finding an Ingress).',
  '- **Holds give a step time.** A zero hold (`0s`) is an error on every step that holds — canary steps,',
  '  `routing.testersFirst`, `blueGreen.previewHold` and `switchBackHold` — unless the step has',
  '  `pause: true` (a person ends it): the step would advance the moment its weight is set. A hold shorter',
  '  than `analysis.interval` is a warning: the step lasts until its first analysis round.',
  '- **Timeouts fit the steps.** `timeouts.release` runs from the first step to the start of promotion;',
  '  it is an error when it is not longer than the least time the steps take (the sum of their holds,',
  '  each at least one analysis interval when checks are set, testers-first and blueGreen steps',
  '  included). `timeouts.canaryReady` must be shorter than `timeouts.release`; a `timeouts.promotion`',
  '  shorter than `timeouts.canaryReady` is a warning.',
  '- **Time to start and advance.** Recurring blackouts that cover every start window (or all time, with',
  '  no windows), and the same for advance windows, are errors: no release could ever start, or no step',
  '  advance. Windows that do not open within 35 days are a warning (a yearly window is allowed).',
  '  One-off blackouts end, so `kubectl canary plan` judges them against a start time (and exits 1 when',
  '  that release could never be promoted).',
  '- **One policy per Deployment.** Two policy files for the same Deployment (or the same name) are an',
  '  error naming both. Two CanaryPolicy objects for one Deployment (applied by hand, or one from a',
  '  file and one by kubectl) are caught by the controller: the one that already manages the',
  '  Deployment (its `canaryd.dev/policy` annotation names it), else the first created (then by name),',
  '  keeps it; each other one touches nothing — no finalizer, no pause, no canary — and says why in',
  '  its status (`Ready=False`, reason `TargetClaimed`, the message naming the policy that manages',
  '  it, shown by `kubectl get canarypolicies -o wide` and `kubectl canary status`) and in one Warning',
  '  Event `TargetClaimed`. It looks again every 30 s and takes over once the other is deleted or',
  '  targets another Deployment. Deleting a refused policy removes it at once. With label shards',
  "  (docs/scale.md) each replica sees only its own shard's policies, so two policies for one",
  "  Deployment in different shards are not caught: keep an app's policies in one shard.",
  '',
];

function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

export function policyReferenceMarkdown(): string {
  const rows: FieldRow[] = [];
  collect(policyJsonSchema(), '', true, rows);
  const lines = [
    '<!-- Generated by scripts/gen-docs.ts from src/policy/schema.ts. Do not edit. -->',
    '# CanaryPolicy reference',
    '',
    'Every field of a `CanaryPolicy` (`apiVersion: canaryd.dev/v1alpha1`). Required fields are marked **required**;',
    'everything else has a default or is optional. Durations are written like `30s`, `5m`, `1h30m`, `2d`.',
    'See `config/examples/` for complete policies and [schedule.md](schedule.md) for windows and blackouts.',
    '',
    '| Field | Type | Default | Description |',
    '| --- | --- | --- | --- |',
  ];
  for (const row of rows) {
    const defaultText =
      row.defaultValue === undefined
        ? ''
        : `\`${typeof row.defaultValue === 'string' ? row.defaultValue : JSON.stringify(row.defaultValue)}\``;
    const type = row.required ? `${row.type}, **required**` : row.type;
    lines.push(`| \`${row.path}\` | ${cell(type)} | ${cell(defaultText)} | ${cell(row.description)} |`);
  }
  lines.push(
    '',
    '## Template variables in PromQL',
    '',
    `${TEMPLATE_VARIABLES.map((variable) => `\`{{${variable}}}\``).join(', ')}.`,
    'Any other `{{name}}` is an error. Values are escaped before they are put into a query, so every variable',
    'except `{{interval}}` must sit inside a quoted string (`deployment="{{deployment}}"`, `pod=~"{{canary}}-.*"`),',
    'and none may appear in a `` `raw string` `` or a `# comment`. See [analysis](analysis.md#custom-checks).',
    '',
    ...VALIDATION_RULES,
  );
  return lines.join('\n');
}
