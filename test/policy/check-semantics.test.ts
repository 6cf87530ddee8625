// spec.analysis.checks: the analysis module's own checks (checkProblems, checkTemplate) run
// during policy validation, without repeating what the policy validator already says.
import { describe, expect, it } from 'vitest';
import { TEMPLATE_VARIABLES } from '../../src/analysis/index.ts';
import { formatPolicyError } from '../../src/policy/errors.ts';
import { parsePolicyText } from '../../src/policy/load.ts';
import { policyReferenceMarkdown } from '../../src/policy/reference.ts';

const withChecks = (checks: string) => `apiVersion: canaryd.dev/v1alpha1
kind: CanaryPolicy
metadata: { name: web }
spec:
  target: { deployment: web, service: web, router: ingress-nginx }
  analysis:
    checks:
${checks}`;

const errorsOf = (checks: string) =>
  parsePolicyText(withChecks(checks), 'web.yaml').errors.map((error) => formatPolicyError(error));

describe('analysis checks in policy validation', () => {
  it('accepts a successRate check without thresholds (judged against min 99)', () => {
    const load = parsePolicyText(withChecks('      - { name: success, type: successRate }\n'), 'web.yaml');
    expect(load.errors).toEqual([]);
    expect(load.policies).toHaveLength(1);
  });

  it.each([
    ['latency', 'a latency check needs min, max or relative thresholds'],
    ['custom', 'a custom check needs min, max or relative thresholds'],
  ])('refuses a %s check without thresholds', (type, message) => {
    const query = type === 'custom' ? ', query: "sum(up)"' : '';
    expect(errorsOf(`      - { name: c, type: ${type}${query} }\n`)).toEqual([
      `web.yaml:8:9: spec.analysis.checks[0]: ${message}`,
    ]);
  });

  it.each([
    [
      'a custom check without query',
      '{ name: c, type: custom, max: 1 }',
      ['web.yaml:8:9: spec.analysis.checks[0].query: a custom check needs a `query` (PromQL for the canary value)'],
    ],
    [
      'relative thresholds without stableQuery',
      '{ name: c, type: custom, query: "sum(up)", relative: { maxAbove: 1 } }',
      [
        'web.yaml:8:62: spec.analysis.checks[0].relative: a relative check compares with stable, but this custom check has no `stableQuery` (add stableQuery, or use min/max)',
      ],
    ],
    [
      'min above max',
      '{ name: c, type: latency, min: 2, max: 1 }',
      ['web.yaml:8:40: spec.analysis.checks[0].min: expected min <= max (1), found 2'],
    ],
    [
      'an empty relative block',
      '{ name: c, type: latency, relative: {} }',
      [
        'web.yaml:8:45: spec.analysis.checks[0].relative: expected at least one of `maxAbove`, `maxBelow`, `maxRatio`, found none',
      ],
    ],
  ])('says %s once, not once per module', (_, check, expected) => {
    expect(errorsOf(`      - ${check}\n`)).toEqual(expected);
  });

  it('refuses a query on a built-in check (the analysis could never judge it)', () => {
    expect(errorsOf('      - { name: c, type: latency, max: 1, query: "sum(up)" }\n')).toEqual([
      'web.yaml:8:50: spec.analysis.checks[0].query: only custom checks take queries; use type: custom',
    ]);
  });

  it('suggests the closest variable for a misspelt one', () => {
    const load = parsePolicyText(
      withChecks('      - { name: c, type: custom, max: 1, query: \'sum(x{d="{{deploymnet}}"})\' }\n'),
      'web.yaml',
    );
    expect(load.errors.map((error) => [error.message, error.hint])).toEqual([
      ['unknown template variable {{deploymnet}}', 'did you mean {{deployment}}?'],
    ]);
  });

  it('checks every query field with the analysis module’s template rules', () => {
    const errors = errorsOf(`      - name: c
        type: custom
        query: 'sum(x{d="{{deployment}}"})'
        stableQuery: 'sum(x{d={{deployment}}})'
        sampleQuery: 'sum(x{d="{{deployment}}"}) offset {{interval}}'
        relative: { maxRatio: 2 }
`);
    expect(errors).toEqual([
      'web.yaml:11:22: spec.analysis.checks[0].stableQuery: {{deployment}} must be inside a quoted string, e.g. deployment="{{deployment}}"',
    ]);
  });

  describe('thresholds in the unit of their check', () => {
    it.each([
      ['min: 0.99', 'successRate is a percent (0-100), found 0.99, which reads as 0.99 % (write 99 for 99 %)'],
      ['min: 1', 'successRate is a percent (0-100), found 1, which reads as 1 % (write 100 for 100 %)'],
      ['min: 0', 'successRate is a percent (0-100), found 0, which reads as 0 % (write 0 for 0 %)'],
      ['max: 0.5', 'successRate is a percent (0-100), found 0.5, which reads as 0.5 % (write 50 for 50 %)'],
      ['min: 150', 'successRate is a percent (0-100), found 150'],
    ])('refuses a successRate bound that is a fraction or not a percent (%s)', (bounds, message) => {
      const errors = errorsOf(`      - { name: s, type: successRate, ${bounds} }\n`);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(/^web\.yaml:8:\d+: spec\.analysis\.checks\[0\]\.(min|max): /);
      expect(errors[0]).toContain(message);
    });

    it('accepts percent bounds and small relative points on successRate', () => {
      expect(errorsOf('      - { name: s, type: successRate, min: 99.5, relative: { maxBelow: 0.5 } }\n')).toEqual([]);
    });

    it('refuses a latency bound that is milliseconds or negative (latency is seconds)', () => {
      expect(errorsOf('      - { name: l, type: latency, max: 400 }\n')).toEqual([
        'web.yaml:8:40: spec.analysis.checks[0].max: latency is in seconds, found 400 (6.66667 minutes) (for 400 ms write 0.4)',
      ]);
      expect(errorsOf('      - { name: l, type: latency, min: -1, max: 0.4 }\n')).toEqual([
        'web.yaml:8:40: spec.analysis.checks[0].min: latency is in seconds and never negative, found -1',
      ]);
      expect(errorsOf('      - { name: l, type: latency, max: 0.4 }\n')).toEqual([]);
    });

    it('leaves custom checks alone: their unit is whatever the query returns', () => {
      expect(errorsOf('      - { name: c, type: custom, query: "sum(up)", min: 0.99 }\n')).toEqual([]);
    });
  });

  it('documents exactly the analysis module’s template variables', () => {
    const markdown = policyReferenceMarkdown();
    for (const variable of TEMPLATE_VARIABLES) expect(markdown).toContain(`\`{{${variable}}}\``);
  });
});

describe('sequential checks in policy validation', () => {
  it('accepts a sequential check with its defaults and a latency one with its bucket', () => {
    const load = parsePolicyText(
      withChecks(
        '      - { name: errors, type: sequential, advanceOnEvidence: true }\n      - { name: slow, type: sequential, metric: latency, slowerThan: 0.25, delta: 0.5 }\n      - { name: guard, type: sequential, delta: 0, holdWhileUndecided: false }\n',
      ),
      'web.yaml',
    );
    expect(load.errors).toEqual([]);
  });

  it.each([
    [
      'a latency one without slowerThan',
      '{ name: c, type: sequential, metric: latency }',
      'web.yaml:8:9: spec.analysis.checks[0].slowerThan: a sequential latency check needs slowerThan (seconds, a bucket bound of the duration histogram) or counts',
    ],
    [
      'thresholds on a sequential check',
      '{ name: c, type: sequential, min: 99 }',
      'web.yaml:8:43: spec.analysis.checks[0].min: a sequential check compares canary with stable by its test and takes no min; custom counts go in counts',
    ],
    [
      'sequential fields on a threshold check',
      '{ name: c, type: successRate, delta: 0.1 }',
      'web.yaml:8:46: spec.analysis.checks[0].delta: only sequential checks take delta; use type: sequential',
    ],
    [
      'delta 0 holding steps it can never release',
      '{ name: c, type: sequential, delta: 0 }',
      'web.yaml:8:9: spec.analysis.checks[0].holdWhileUndecided: with delta 0 the check never concludes "no regression"',
    ],
    [
      'delta 0 promising an early advance',
      '{ name: c, type: sequential, delta: 0, holdWhileUndecided: false, advanceOnEvidence: true }',
      'spec.analysis.checks[0].advanceOnEvidence: with delta 0 "no regression" can never be proven',
    ],
    [
      'an alpha of 0.5 or more',
      '{ name: c, type: sequential, alpha: 0.5 }',
      'web.yaml:8:45: spec.analysis.checks[0].alpha: expected a number < 0.5, found number 0.5',
    ],
  ])('refuses %s', (_, check, message) => {
    const errors = errorsOf(`      - ${check}\n`);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(message);
  });

  it('checks the templates of custom count queries', () => {
    const errors = errorsOf(
      '      - name: c\n        type: sequential\n        counts: { canaryFailed: "x[{{intervall}}]", canaryTotal: "a", stableFailed: "b", stableTotal: "c" }\n',
    );
    expect(errors.join('\n')).toContain(
      'spec.analysis.checks[0].counts.canaryFailed: unknown template variable {{intervall}}',
    );
  });
});
