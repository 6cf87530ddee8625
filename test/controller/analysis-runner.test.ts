// An analysis that cannot start (its Prometheus credentials are missing) is an inconclusive round
// that says why, so the release pauses on it with a reason instead of stalling silently until its
// timeout.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { INITIAL_COUNTERS } from '../../src/analysis/index.ts';
import { PrometheusAnalysisRunner } from '../../src/controller/analysis-runner.ts';
import { KubeSecretSource } from '../../src/kube/secrets.ts';
import { canaryPolicy } from '../../src/policy/schema.ts';
import { FakeKube } from '../traffic/fake-kube.ts';

const policy = canaryPolicy.parse(
  parse(readFileSync(new URL('../fixtures/policies/valid/ingress-nginx-full.yaml', import.meta.url), 'utf8')),
);
const target = {
  namespace: 'shop',
  deployment: 'storefront',
  canary: 'storefront-canary',
  service: 'web',
  canaryService: 'web-canary',
  ingresses: ['web'],
  httpRoutes: [],
  stableHash: 'abc',
  canaryHash: 'def',
};
const fresh = { counters: structuredClone(INITIAL_COUNTERS), measurements: [] };
const now = new Date('2026-12-02T03:00:00Z');

describe('an analysis that cannot start', () => {
  it('is an inconclusive round naming the missing Secret', async () => {
    const runner = new PrometheusAnalysisRunner(new KubeSecretSource(new FakeKube()));
    const after = await runner.run(policy, target, fresh, now);
    expect(after.counters.rounds).toBe(1);
    expect(after.counters.lastRound?.verdict).toBe('inconclusive');
    const problems = after.counters.lastRound?.problems ?? [];
    expect(problems).toHaveLength(3);
    for (const problem of problems)
      expect(problem).toContain('analysis cannot start: Secret shop/prom-token does not exist');
  });

  it('is an inconclusive round naming the missing key', async () => {
    const kube = new FakeKube({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'prom-token', namespace: 'shop' },
      data: { tokn: Buffer.from('x').toString('base64') },
    });
    const after = await new PrometheusAnalysisRunner(new KubeSecretSource(kube)).run(policy, target, fresh, now);
    expect(after.counters.lastRound?.verdict).toBe('inconclusive');
    expect(after.counters.lastRound?.problems.join('\n')).toContain('Secret shop/prom-token has no key token');
  });
});
