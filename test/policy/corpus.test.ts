import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPolicyFiles } from '../../src/policy/load.ts';

const fixtures = join(import.meta.dirname, '../fixtures/policies');
const files = (kind: string) => readdirSync(join(fixtures, kind)).filter((file) => file.endsWith('.yaml'));

describe('valid policies', () => {
  it.each(files('valid'))('%s loads without errors', async (file) => {
    const load = await loadPolicyFiles(join(fixtures, 'valid', file));
    expect(load.errors).toEqual([]);
    expect(load.policies.length).toBeGreaterThan(0);
  });

  it('fills in defaults so a minimal policy is complete', async () => {
    const { policies } = await loadPolicyFiles(join(fixtures, 'valid/minimal.yaml'));
    const policy = policies[0]?.policy;
    expect(policy?.metadata).toMatchObject({ name: 'web', namespace: 'shop' });
    expect(policy?.spec.target.router).toBe('auto');
    expect(policy?.spec.strategy.steps.map((step) => step.weight)).toEqual([1, 5, 25, 50]);
    expect(policy?.spec.schedule.timeZone).toBe('UTC');
    expect(policy?.spec.timeouts.release).toBe('24h');
  });

  it('reads every document of a file and ignores a trailing empty one', async () => {
    const { policies, errors } = await loadPolicyFiles(join(fixtures, 'valid/several-documents.yaml'));
    expect(errors).toEqual([]);
    expect(policies.map((loaded) => [loaded.policy.metadata.name, loaded.line])).toEqual([
      ['api', 2],
      ['worker', 8],
    ]);
  });
});

// [fixture, line, column, path, message] — one entry per error, in file order.
const expected: Record<string, Array<[number | undefined, number | undefined, string, string]>> = {
  'misspelt-field.yaml': [[9, 5, 'spec.strategy.stepWieghts', 'unknown field `stepWieghts`, did you mean `steps`?']],
  'missing-service.yaml': [[7, 3, 'spec.target.service', 'missing required field `service`']],
  'weights-not-increasing.yaml': [
    [12, 17, 'spec.strategy.steps[2].weight', 'expected a weight above 20 (the weight of steps[1]), found 10'],
  ],
  'large-first-step.yaml': [
    [
      10,
      17,
      'spec.strategy.steps[0].weight',
      'the first step sends 10 % of traffic to the canary; a canary starts at 5 % or less',
    ],
  ],
  'weight-above-100.yaml': [[9, 38, 'spec.strategy.steps[1].weight', 'expected a number <= 100, found number 150']],
  'bad-cron.yaml': [
    [10, 15, 'spec.schedule.advanceWindows[0].cron', 'cron "0 25 * * *": hour 25 is out of range 0-23'],
  ],
  'unknown-time-zone.yaml': [[9, 15, 'spec.schedule.timeZone', 'unknown time zone "America/New_Yrok"']],
  'bad-duration.yaml': [
    [11, 15, 'spec.strategy.steps[0].hold', 'expected a duration such as "30s", "5m" or "1h30m", found "5 minutes"'],
  ],
  'unknown-template-variable.yaml': [[12, 16, 'spec.analysis.checks[0].query', 'unknown template variable {{app}}']],
  'custom-check-without-query.yaml': [
    [10, 9, 'spec.analysis.checks[0].query', 'a custom check needs a `query` (PromQL for the canary value)'],
  ],
  'relative-without-stable.yaml': [
    [
      13,
      19,
      'spec.analysis.checks[0].relative',
      'a relative check compares with stable, but this custom check has no `stableQuery`',
    ],
  ],
  'min-above-max.yaml': [
    [10, 50, 'spec.analysis.checks[0].min', 'expected min <= max (0.9), found 0.99'],
    [10, 50, 'spec.analysis.checks[0].min', 'successRate is a percent (0-100), found 0.99, which reads as 0.99 %'],
    [10, 61, 'spec.analysis.checks[0].max', 'successRate is a percent (0-100), found 0.9, which reads as 0.9 %'],
  ],
  'routing-with-replica-ratio.yaml': [
    [
      9,
      5,
      'spec.routing',
      'header and cookie routing needs router ingress-nginx, gateway-api (or auto), found replica-ratio',
    ],
  ],
  'blackout-incomplete.yaml': [
    [10, 9, 'spec.schedule.blackouts[0]', 'missing `end`: a one-off blackout needs `start` and `end`'],
  ],
  'unknown-router.yaml': [
    [
      7,
      52,
      'spec.target.router',
      'expected one of "auto", "ingress-nginx", "gateway-api", "replica-ratio", found "nginx"',
    ],
  ],
  'wrong-api-version.yaml': [[1, 13, 'apiVersion', 'expected "canaryd.dev/v1alpha1", found "canaryd.dev/v1"']],
  'duplicate-deployment.yaml': [
    [
      15,
      25,
      'spec.target.deployment',
      'deployment shop/web is already managed by policy shop/web (<fixtures>/invalid/duplicate-deployment.yaml:1)',
    ],
  ],
  'not-a-mapping.yaml': [
    [1, 1, '', 'expected a CanaryPolicy (a mapping with apiVersion, kind, metadata and spec), found a list of 2'],
  ],
  'duplicate-key.yaml': [
    [8, 3, 'spec.target', 'duplicate key `target`: first on line 7, again on line 8; only the last one counts'],
  ],
  'proto-key.yaml': [[8, 3, 'spec.__proto__', 'field `__proto__` is not allowed']],
  'alias-bomb.yaml': [[1, 1, '', 'cannot read document: Excessive alias count indicates a resource exhaustion attack']],
  'latency-without-threshold.yaml': [
    [10, 9, 'spec.analysis.checks[0]', 'a latency check needs min, max or relative thresholds'],
  ],
  'unquoted-template-variable.yaml': [
    [
      12,
      16,
      'spec.analysis.checks[0].query',
      '{{deployment}} must be inside a quoted string, e.g. deployment="{{deployment}}"',
    ],
  ],
  'template-raw-string-and-comment.yaml': [
    [
      13,
      22,
      'spec.analysis.checks[0].stableQuery',
      '{{deployment}} cannot be escaped inside a `raw string`; use double quotes',
    ],
    [15, 22, 'spec.analysis.checks[0].sampleQuery', '{{canary}} inside a # comment is not allowed'],
  ],
  'built-in-check-with-query.yaml': [
    [13, 16, 'spec.analysis.checks[0].query', 'only custom checks take queries; use type: custom'],
    [17, 22, 'spec.analysis.checks[1].stableQuery', 'only custom checks take queries; use type: custom'],
  ],
  'malformed-placeholder.yaml': [
    [12, 16, 'spec.analysis.checks[0].query', 'malformed placeholder at "{{ app name }}\\",svc=": expected {{name}}'],
  ],
  'several-unknown-variables.yaml': [
    [12, 16, 'spec.analysis.checks[0].query', 'unknown template variable {{namespce}}'],
    [12, 16, 'spec.analysis.checks[0].query', 'unknown template variable {{pod}}'],
  ],
  'too-precise-weight.yaml': [
    [9, 23, 'spec.strategy.steps[0].weight', 'ingress-nginx splits traffic in steps of 0.01 %, found 0.125'],
  ],
};

describe('invalid policies', () => {
  it('every invalid fixture has its expected errors written down', () => {
    expect(files('invalid').sort()).toEqual(Object.keys(expected).sort());
  });

  it.each(Object.entries(expected))('%s is rejected at the right line, field and reason', async (file, errors) => {
    const load = await loadPolicyFiles(join(fixtures, 'invalid', file));
    const source = join(fixtures, 'invalid', file);
    expect(
      load.errors.map((error) => [
        error.line,
        error.column,
        error.path,
        error.message.replaceAll(fixtures, '<fixtures>'),
      ]),
    ).toEqual(errors);
    expect(load.errors.every((error) => error.source === source)).toBe(true);
    // The bad document is never in force.
    expect(load.rejected.length).toBeGreaterThan(0);
  });

  it('gives a hint where one helps', async () => {
    const load = await loadPolicyFiles(join(fixtures, 'invalid/unknown-time-zone.yaml'));
    expect(load.errors[0]?.hint).toBe('did you mean "America/New_York"?');
    const misspelt = await loadPolicyFiles(join(fixtures, 'invalid/misspelt-field.yaml'));
    expect(misspelt.errors[0]?.hint).toBe('allowed fields: type, steps, allowLargeFirstStep, blueGreen');
  });
});
