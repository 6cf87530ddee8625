import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { canaryPolicyCrdYaml } from '../../src/policy/crd.ts';
import { policyReferenceMarkdown } from '../../src/policy/reference.ts';

const root = join(import.meta.dirname, '../..');

describe('generated from the schema', () => {
  it('deploy/crd.yaml matches the zod schema (run `node scripts/gen-crd.ts`)', () => {
    expect(readFileSync(join(root, 'deploy/crd.yaml'), 'utf8')).toBe(canaryPolicyCrdYaml());
  });

  it('the Helm chart carries the same CRD (run `node scripts/gen-crd.ts`)', () => {
    expect(readFileSync(join(root, 'deploy/helm/canaryd/files/crd.yaml'), 'utf8')).toBe(canaryPolicyCrdYaml());
  });

  it('docs/policy.md matches the zod schema (run `node scripts/gen-docs.ts`)', () => {
    expect(readFileSync(join(root, 'docs/policy.md'), 'utf8')).toBe(policyReferenceMarkdown());
  });

  it('the CRD schema is structural: typed nodes, no additionalProperties beside properties, no $ref', () => {
    const crd = parse(canaryPolicyCrdYaml());
    const version = crd.spec.versions[0];
    expect(version).toMatchObject({ name: 'v1alpha1', served: true, storage: true, subresources: { status: {} } });
    expect(crd.spec.names).toMatchObject({ plural: 'canarypolicies', shortNames: ['cpol'] });
    expect(version.additionalPrinterColumns.map((column: { name: string }) => column.name)).toEqual(
      expect.arrayContaining(['Phase', 'Valid', 'Weight', 'Step', 'Age']),
    );
    const visit = (node: Record<string, unknown>, path: string) => {
      expect(node.type, path).toBeDefined();
      expect(node.$ref, path).toBeUndefined();
      expect(node.$schema, path).toBeUndefined();
      if (node.properties) expect(node.additionalProperties, path).toBeUndefined();
      for (const [name, child] of Object.entries((node.properties ?? {}) as Record<string, Record<string, unknown>>)) {
        visit(child, `${path}.${name}`);
      }
      if (node.items) visit(node.items as Record<string, unknown>, `${path}[]`);
    };
    visit(version.schema.openAPIV3Schema, '');
    expect(version.schema.openAPIV3Schema.properties.status['x-kubernetes-preserve-unknown-fields']).toBe(true);
  });

  it('documents every field of a step', () => {
    const reference = policyReferenceMarkdown();
    for (const field of ['spec.strategy.steps[].weight', 'spec.strategy.steps[].hold', 'spec.strategy.steps[].pause']) {
      expect(reference).toContain(`| \`${field}\` |`);
    }
  });
});
