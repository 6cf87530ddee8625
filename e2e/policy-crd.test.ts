// The CanaryPolicy CRD (deploy/crd.yaml, generated from the zod schema) on the real apiserver:
// it installs cleanly, fills in the same defaults as our validator, refuses what the schema can
// express (ranges, enums, types, unknown fields, required fields), accepts everything our
// validator accepts, and `kubectl get canarypolicies` shows phase, weight and step.
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { parsePolicyText } from '../src/policy/load.ts';
import type { CanaryPolicySpec } from '../src/policy/schema.ts';
import { REPO_ROOT } from './cluster/cluster.ts';
import { apiMessage, CRD_NAME, GROUP, installCrd, PLURAL, statusOf, VERSION } from './support/crd.ts';
import { useTestEnv } from './support/env.ts';

const FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'policies');
const EXAMPLES = join(REPO_ROOT, 'config', 'examples');
const TABLE = 'application/json;as=Table;v=v1;g=meta.k8s.io';

type Manifest = Record<string, unknown> & { metadata?: Record<string, unknown>; spec?: Record<string, unknown> };

const yamlFiles = (dir: string) =>
  readdirSync(dir)
    .filter((file) => file.endsWith('.yaml'))
    .sort()
    .map((file) => join(dir, file));

/** Every non-empty document of a file, as the JSON a client would send. */
function documentsOf(file: string): Manifest[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((document) => document.toJS() as Manifest | null)
    .filter((value): value is Manifest => value !== null && value !== undefined);
}

/** A copy of the manifest with one nested field set: a mistake written into a valid policy. */
function withField(manifest: Manifest, path: ReadonlyArray<string | number>, value: unknown): Manifest {
  const copy = structuredClone(manifest);
  let node = copy as Record<string | number, unknown>;
  for (const segment of path.slice(0, -1)) node = node[segment] as Record<string | number, unknown>;
  node[path[path.length - 1]!] = value;
  return copy;
}

// Invalid fixtures the CRD schema can see (types, ranges, enums, patterns, required and unknown
// fields, the apiVersion), each with what the apiserver's message must name.
const SCHEMA_LEVEL: Record<string, string[]> = {
  'weight-above-100.yaml': ['spec.strategy.steps[1].weight', 'less than or equal to 100'],
  'misspelt-field.yaml': ['unknown field "spec.strategy.stepWieghts"'],
  'unknown-router.yaml': ['spec.target.router', 'Unsupported value: "nginx"'],
  'bad-duration.yaml': ['spec.strategy.steps[0].hold', 'should match'],
  'missing-service.yaml': ['spec.target.service', 'Required value'],
  'proto-key.yaml': ['unknown field "spec.__proto__"'],
  'wrong-api-version.yaml': ['version "v1"'],
};
// Invalid fixtures whose mistake is semantic (ordering, cron, time zones, PromQL, cross-field
// rules, the set of policies): the schema cannot express it, so the apiserver stores the object
// and the controller must report it (status, Event) and keep the last good policy in force.
const SEMANTIC = [
  'bad-cron.yaml',
  'blackout-incomplete.yaml',
  'built-in-check-with-query.yaml',
  'custom-check-without-query.yaml',
  'duplicate-deployment.yaml',
  'large-first-step.yaml',
  'latency-without-threshold.yaml',
  'malformed-placeholder.yaml',
  'min-above-max.yaml',
  'relative-without-stable.yaml',
  'routing-with-replica-ratio.yaml',
  'several-unknown-variables.yaml',
  'template-raw-string-and-comment.yaml',
  'too-precise-weight.yaml',
  'unknown-template-variable.yaml',
  'unknown-time-zone.yaml',
  'unquoted-template-variable.yaml',
  'weights-not-increasing.yaml',
];
// Mistakes in the YAML itself: never reach an apiserver as an object.
const YAML_LEVEL = ['alias-bomb.yaml', 'duplicate-key.yaml', 'not-a-mapping.yaml'];

describe('CanaryPolicy CRD on the real apiserver', () => {
  const env = useTestEnv('policy-crd');
  const objects = env.kc.makeApiClient(k8s.CustomObjectsApi);
  const crds = env.kc.makeApiClient(k8s.ApiextensionsV1Api);

  beforeAll(async () => {
    await installCrd(env.kc);
  });

  /** The manifest moved into the test namespace (fixtures and examples name their own). */
  const inNamespace = (manifest: Manifest, name?: string): Manifest => ({
    ...manifest,
    metadata: { ...manifest.metadata, namespace: env.namespace, ...(name === undefined ? {} : { name }) },
  });

  const create = (body: Manifest, dryRun = false): Promise<Manifest> =>
    objects.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: env.namespace,
      plural: PLURAL,
      body,
      fieldValidation: 'Strict',
      ...(dryRun ? { dryRun: 'All' } : {}),
    });

  /** The refusal of a dry-run create, or undefined when the apiserver accepted the object. */
  const refusal = async (body: Manifest): Promise<{ status: number | undefined; message: string } | undefined> => {
    try {
      await create(body, true);
      return undefined;
    } catch (error) {
      return { status: statusOf(error), message: apiMessage(error) };
    }
  };

  /** config/examples/replica-ratio.yaml under another name: a valid policy to write mistakes into. */
  const orders = (name: string) => inNamespace(documentsOf(join(EXAMPLES, 'replica-ratio.yaml'))[0]!, name);

  /** What our validator makes of the same document: the policy with zod's defaults. */
  const validated = (manifest: Manifest) => {
    const load = parsePolicyText(JSON.stringify(manifest), 'manifest.json');
    expect(load.errors).toEqual([]);
    return load.policies[0]!.policy;
  };

  it('installs cleanly: Established, structural, with the generated printer columns', async () => {
    const crd = await crds.readCustomResourceDefinition({ name: CRD_NAME });
    const conditions = Object.fromEntries((crd.status?.conditions ?? []).map((c) => [c.type, c.status]));
    expect(conditions).toMatchObject({ Established: 'True', NamesAccepted: 'True' });
    expect(conditions.NonStructuralSchema).toBeUndefined();
    expect(crd.status?.acceptedNames?.shortNames).toEqual(['cpol']);
    const version = crd.spec.versions.find((v) => v.name === VERSION);
    expect(version?.additionalPrinterColumns?.map((column) => [column.name, column.type, column.jsonPath])).toEqual([
      ['Deployment', 'string', '.spec.target.deployment'],
      ['Phase', 'string', '.status.phase'],
      ['Valid', 'string', '.status.conditions[?(@.type=="Valid")].status'],
      ['Weight', 'number', '.status.weight'],
      ['Step', 'string', '.status.step'],
      ['Age', 'date', '.metadata.creationTimestamp'],
      ['Message', 'string', '.status.message'],
    ]);
  });

  it('stores a valid example and fills in the same defaults as the validator', async () => {
    const [example] = documentsOf(join(EXAMPLES, 'replica-ratio.yaml'));
    const manifest = inNamespace(example!);
    await create(manifest);
    const stored = (await objects.getNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: env.namespace,
      plural: PLURAL,
      name: 'orders',
    })) as Manifest;
    const spec = stored.spec as CanaryPolicySpec;
    // Written by the author ...
    expect(spec.replicaRatio.surgeBudget).toBe(4);
    expect(spec.strategy.steps[0]).toEqual({ weight: 5, hold: '10m', pause: false });
    // ... and filled in by the apiserver from the schema's defaults.
    expect(spec.strategy.steps[1]).toEqual({ weight: 25, hold: '5m', pause: false });
    expect(spec.strategy).toMatchObject({ type: 'canary', allowLargeFirstStep: false });
    expect(spec.schedule).toEqual({ timeZone: 'UTC', startWindows: [], advanceWindows: [], blackouts: [] });
    expect(spec.timeouts).toEqual({ canaryReady: '10m', promotion: '15m', release: '24h' });
    expect(spec.analysis).toMatchObject({ interval: '30s', failureLimit: 2, onInconclusive: 'pause' });
    expect(spec.analysis.checks[0]).toMatchObject({ quantile: 0.99, minSample: 50, critical: false });
    expect(spec.analysis.prometheus).toMatchObject({ timeout: '5s', insecureSkipVerify: false });
    expect(spec).toEqual(validated(manifest).spec);
  });

  it('refuses a weight of 150, naming the field', async () => {
    const manifest = withField(orders('too-much'), ['spec', 'strategy', 'steps', 1, 'weight'], 150);
    const refused = await refusal(manifest);
    expect(refused?.status).toBe(422);
    expect(refused?.message).toContain('spec.strategy.steps[1].weight');
    expect(refused?.message).toContain('should be less than or equal to 100');
  });

  it('refuses an unknown field under strict field validation, naming it', async () => {
    const manifest = withField(orders('misspelt'), ['spec', 'strategy', 'stepWieghts'], [{ weight: 1 }]);
    const refused = await refusal(manifest);
    expect(refused?.status).toBe(400);
    expect(refused?.message).toContain('unknown field "spec.strategy.stepWieghts"');
  });

  it('refuses a value of the wrong type, naming the field', async () => {
    const manifest = withField(
      withField(orders('wrong-type'), ['spec', 'strategy', 'steps', 0, 'weight'], 'five'),
      ['spec', 'replicaRatio', 'surgeBudget'],
      1.5,
    );
    const refused = await refusal(manifest);
    expect(refused?.status).toBe(422);
    expect(refused?.message).toContain('spec.strategy.steps[0].weight');
    expect(refused?.message).toContain('must be of type number');
    expect(refused?.message).toContain('spec.replicaRatio.surgeBudget');
    expect(refused?.message).toContain('must be of type integer');
  });

  it('shows Phase, Valid, Weight, Step (and Message) in the table kubectl get prints', async () => {
    const manifest = inNamespace(documentsOf(join(FIXTURES, 'valid', 'minimal.yaml'))[0]!, 'columns');
    await create(manifest);
    await objects.patchNamespacedCustomObjectStatus(
      {
        group: GROUP,
        version: VERSION,
        namespace: env.namespace,
        plural: PLURAL,
        name: 'columns',
        body: {
          status: {
            phase: 'progressing',
            weight: 5,
            step: '2/4',
            message: 'step 2 at 5%',
            conditions: [{ type: 'Valid', status: 'False', reason: 'InvalidPolicy', message: 'x' }],
          },
        },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    const table = (await objects.listNamespacedCustomObject(
      {
        group: GROUP,
        version: VERSION,
        namespace: env.namespace,
        plural: PLURAL,
        fieldSelector: 'metadata.name=columns',
      },
      k8s.setHeaderOptions('Accept', TABLE),
    )) as { kind: string; columnDefinitions: Array<{ name: string }>; rows: Array<{ cells: unknown[] }> };
    expect(table.kind).toBe('Table');
    const names = table.columnDefinitions.map((column) => column.name);
    expect(names).toEqual(['Name', 'Deployment', 'Phase', 'Valid', 'Weight', 'Step', 'Age', 'Message']);
    const row = table.rows[0]?.cells ?? [];
    const cell = (name: string) => row[names.indexOf(name)];
    expect(['Name', 'Deployment', 'Phase', 'Valid', 'Weight', 'Step', 'Message'].map((name) => cell(name))).toEqual([
      'columns',
      'web',
      'progressing',
      'False',
      5,
      '2/4',
      'step 2 at 5%',
    ]);
  });

  it('tracks the status as one field in managedFields (atomic), however much it holds', async () => {
    const manifest = inNamespace(documentsOf(join(FIXTURES, 'valid', 'minimal.yaml'))[0]!, 'atomic-status');
    await create(manifest);
    const written = (await objects.patchNamespacedCustomObjectStatus(
      {
        group: GROUP,
        version: VERSION,
        namespace: env.namespace,
        plural: PLURAL,
        name: 'atomic-status',
        body: { status: { phase: 'idle', release: { version: 1, history: [{ revision: 1, outcome: 'adopted' }] } } },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    )) as {
      status?: { release?: object };
      metadata: { managedFields?: Array<{ subresource?: string; fieldsV1?: object }> };
    };
    expect(written.status?.release).toEqual({ version: 1, history: [{ revision: 1, outcome: 'adopted' }] });
    const statusFields = written.metadata.managedFields?.find((f) => f.subresource === 'status');
    expect(statusFields?.fieldsV1).toEqual({ 'f:status': {} });
  });

  describe('the schema is not stricter than the validator', () => {
    const valid = [...yamlFiles(join(FIXTURES, 'valid')), ...yamlFiles(EXAMPLES)].flatMap((file) =>
      documentsOf(file).map((manifest, index) => [`${basename(file)}#${index}`, manifest] as const),
    );

    it.each(valid)('accepts %s with the same defaults as the validator', async (_, document) => {
      // A name of its own: dry runs still refuse a name that is already taken.
      const manifest = inNamespace(document, `dry-run-${String(document.metadata?.name)}`);
      const refused = await refusal(manifest);
      expect(refused).toBeUndefined();
      const stored = await create(manifest, true);
      expect(stored.spec).toEqual(validated(manifest).spec);
    });
  });

  describe('the schema refuses what it can express', () => {
    it('every invalid fixture is classified: refused by the schema, semantic, or not YAML we could send', () => {
      const all = yamlFiles(join(FIXTURES, 'invalid')).map((file) => basename(file));
      expect([...Object.keys(SCHEMA_LEVEL), ...SEMANTIC, ...YAML_LEVEL].sort()).toEqual(all);
    });

    it.each(Object.entries(SCHEMA_LEVEL))('refuses %s, naming the field', async (file, fragments) => {
      const [document] = documentsOf(join(FIXTURES, 'invalid', file));
      const refused = await refusal(inNamespace(document!));
      expect(refused).toBeDefined();
      for (const fragment of fragments) expect(refused?.message).toContain(fragment);
    });

    it.each(SEMANTIC)('stores %s: only the controller can report it', async (file) => {
      for (const document of documentsOf(join(FIXTURES, 'invalid', file))) {
        expect(await refusal(inNamespace(document))).toBeUndefined();
      }
    });
  });
});
