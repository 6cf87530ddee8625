import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadPolicyFiles, type PolicyLoad, parsePolicyText } from '../../src/policy/load.ts';
import { PolicyStore } from '../../src/policy/store.ts';
import { watchPolicyDirectory } from '../../src/policy/watch.ts';

const policy = (name: string, firstWeight: number) => `apiVersion: canaryd.dev/v1alpha1
kind: CanaryPolicy
metadata: { name: ${name} }
spec:
  target: { deployment: ${name}, service: ${name} }
  strategy: { steps: [{ weight: ${firstWeight} }, { weight: 50 }] }
`;

describe('PolicyStore', () => {
  it('keeps the last valid version when a new version is invalid, and reports why', () => {
    const store = new PolicyStore();
    expect(store.replaceAll(parsePolicyText(policy('web', 1), 'web.yaml')).added).toEqual(['default/web']);
    const change = store.replaceAll(parsePolicyText(policy('web', 40), 'web.yaml'));
    expect(change.kept).toEqual(['default/web']);
    const active = store.get('default/web');
    expect(active?.policy.spec.strategy.steps[0]?.weight).toBe(1);
    expect(active?.rejectedUpdate.map((error) => error.path)).toEqual(['spec.strategy.steps[0].weight']);
    // Fixed: the new version takes over and the rejection is forgotten.
    const fixed = store.replaceAll(parsePolicyText(policy('web', 2), 'web.yaml'));
    expect(fixed.updated).toEqual(['default/web']);
    expect(store.get('default/web')?.rejectedUpdate).toEqual([]);
  });

  it('keeps a policy whose file became unreadable YAML, but removes a deleted one', () => {
    const store = new PolicyStore();
    const both: PolicyLoad = parsePolicyText(`${policy('web', 1)}---\n${policy('api', 1)}`, 'all.yaml');
    store.replaceAll(both);
    expect(store.replaceAll(parsePolicyText('metadata: { name: [', 'all.yaml')).kept.sort()).toEqual([
      'default/api',
      'default/web',
    ]);
    expect(store.replaceAll(parsePolicyText(policy('web', 1), 'all.yaml')).removed).toEqual(['default/api']);
    expect(store.list().map((active) => active.key)).toEqual(['default/web']);
    expect(store.forDeployment('default', 'web')?.key).toBe('default/web');
  });

  it('one bad file never stops the others', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'canaryd-policies-'));
    try {
      writeFileSync(join(directory, 'a.yaml'), policy('web', 1));
      writeFileSync(join(directory, 'b.yaml'), 'kind: [');
      writeFileSync(join(directory, 'c.yml'), policy('api', 1));
      writeFileSync(join(directory, 'notes.txt'), 'not a policy');
      const load = await loadPolicyFiles(directory);
      expect(load.policies.map((loaded) => loaded.policy.metadata.name)).toEqual(['web', 'api']);
      expect(load.errors.map((error) => error.source)).toEqual([join(directory, 'b.yaml')]);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});

describe('watchPolicyDirectory', () => {
  let directory = '';
  afterEach(() => rmSync(directory, { recursive: true, force: true }));

  it('reloads when the kubelet swaps a ConfigMap ..data symlink', async () => {
    directory = mkdtempSync(join(tmpdir(), 'canaryd-configmap-'));
    // The layout the kubelet writes for a mounted ConfigMap.
    mkdirSync(join(directory, '..2026_01_01_a'));
    writeFileSync(join(directory, '..2026_01_01_a', 'web.yaml'), policy('web', 1));
    symlinkSync('..2026_01_01_a', join(directory, '..data'));
    symlinkSync('..data/web.yaml', join(directory, 'web.yaml'));

    const loads: PolicyLoad[] = [];
    const watcher = watchPolicyDirectory(directory, { onLoad: (load) => loads.push(load), debounceMs: 20 });
    try {
      await vi.waitFor(() => expect(loads).toHaveLength(1));
      expect(loads[0]?.policies[0]?.policy.spec.strategy.steps[0]?.weight).toBe(1);

      mkdirSync(join(directory, '..2026_01_01_b'));
      writeFileSync(join(directory, '..2026_01_01_b', 'web.yaml'), policy('web', 2));
      symlinkSync('..2026_01_01_b', join(directory, '..data_tmp'));
      renameSync(join(directory, '..data_tmp'), join(directory, '..data'));

      await vi.waitFor(() => expect(loads.at(-1)?.policies[0]?.policy.spec.strategy.steps[0]?.weight).toBe(2), {
        timeout: 5000,
      });
    } finally {
      watcher.close();
    }
  });
});
