import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPolicyFiles } from '../../src/policy/load.ts';

const examples = join(import.meta.dirname, '../../config/examples');

describe('config/examples', () => {
  it.each(readdirSync(examples).filter((file) => file.endsWith('.yaml')))('%s is a valid policy', async (file) => {
    const load = await loadPolicyFiles(join(examples, file));
    expect(load.errors).toEqual([]);
    expect(load.warnings).toEqual([]);
    expect(load.policies).toHaveLength(1);
  });

  it('the examples together form a valid set (no duplicate names or Deployments)', async () => {
    const load = await loadPolicyFiles(examples);
    expect(load.errors).toEqual([]);
    expect(load.policies.length).toBeGreaterThanOrEqual(4);
  });
});
