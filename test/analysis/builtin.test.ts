import { describe, expect, it } from 'vitest';
import { canaryRequestsQuery, latencyQuery, successRateQuery } from '../../src/analysis/builtin.ts';
import {
  CANARY_REQUESTS,
  FROM_MS,
  LATENCY_CANARY,
  LATENCY_STABLE,
  SUCCESS_RATE_CANARY,
  SUCCESS_RATE_STABLE,
  target,
} from './builtin-queries.ts';

describe('built-in ingress-nginx queries', () => {
  it('measures the success rate of canary and stable traffic, in percent', () => {
    expect(successRateQuery(target, 'canary', FROM_MS)).toBe(SUCCESS_RATE_CANARY);
    expect(successRateQuery(target, 'stable', FROM_MS)).toBe(SUCCESS_RATE_STABLE);
  });

  it('measures a latency quantile in seconds from the response duration buckets', () => {
    expect(latencyQuery(target, 'canary', FROM_MS, 0.99)).toBe(LATENCY_CANARY);
    expect(latencyQuery(target, 'stable', FROM_MS, 0.99)).toBe(LATENCY_STABLE);
    expect(latencyQuery(target, 'canary', FROM_MS, 0.5)).toContain('histogram_quantile(0.5,');
    expect(latencyQuery(target, 'canary', FROM_MS + 30_000, 0.5)).toContain('@ 1772366370.000');
  });

  it('counts the canary requests in the window', () => {
    expect(canaryRequestsQuery(target, FROM_MS)).toBe(CANARY_REQUESTS);
  });

  it('matches every Ingress of the release, each name matching only itself', () => {
    const two = { ...target, ingresses: ['web', 'web.admin'] };
    expect(canaryRequestsQuery(two, FROM_MS)).toContain('ingress=~"web|web\\\\.admin"');
  });

  it('keeps hostile names inside their matchers', () => {
    const hostile = { ...target, namespace: 'a"} or vector(1) #', service: 's\\"' };
    const selector =
      'nginx_ingress_controller_requests{namespace="a\\"} or vector(1) #",ingress=~"web",service="s\\\\\\"",canary!=""}';
    expect(canaryRequestsQuery(hostile, FROM_MS)).toBe(
      `sum((${selector} - ${selector} @ 1772366340.000 >= 0 or ${selector}))`,
    );
  });
});
