import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPolicyFiles } from '../../src/policy/load.ts';
import type { CheckSpec } from '../../src/policy/schema.ts';

const examples = join(import.meta.dirname, '../../config/examples');

describe('config/examples', () => {
  it.each(readdirSync(examples).filter((file) => file.endsWith('.yaml')))('%s is a valid policy', async (file) => {
    const load = await loadPolicyFiles(join(examples, file));
    expect(load.errors).toEqual([]);
    expect(load.warnings).toEqual([]);
    expect(load.policies).toHaveLength(1);
  });

  // The built-in checks return successRate in percent (0-100) and latency in seconds; a
  // threshold in another unit (0.99 for 99 %, 400 for 400 ms) never judges what it seems to.
  it.each(readdirSync(examples).filter((file) => file.endsWith('.yaml')))(
    '%s writes every threshold in the unit of its check',
    async (file) => {
      const load = await loadPolicyFiles(join(examples, file));
      const checks = load.policies.flatMap(({ policy }) => policy.spec.analysis.checks);
      expect(checks.flatMap(unitMistakes)).toEqual([]);
    },
  );

  it('the examples together form a valid set (no duplicate names or Deployments)', async () => {
    const load = await loadPolicyFiles(examples);
    expect(load.errors).toEqual([]);
    expect(load.policies.length).toBeGreaterThanOrEqual(4);
  });
});

/** Bounds outside the range the check's unit allows, as `name.field=value`. */
function unitMistakes(check: CheckSpec): string[] {
  const bounds = Object.entries({ min: check.min, max: check.max }).filter(([, value]) => value !== undefined);
  const inUnit = (value: number) =>
    check.type === 'successRate' ? value > 1 && value <= 100 : check.type === 'latency' ? value <= 60 : true;
  return bounds
    .filter(([, value]) => !inUnit(value as number))
    .map(([field, value]) => `${check.name}.${field}=${value}`);
}
