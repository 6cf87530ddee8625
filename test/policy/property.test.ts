import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parsePolicyText } from '../../src/policy/load.ts';
import { validatePolicyObject } from '../../src/policy/validate.ts';

const valid = {
  apiVersion: 'canaryd.dev/v1alpha1',
  kind: 'CanaryPolicy',
  metadata: { name: 'web' },
  spec: { target: { deployment: 'web', service: 'web' } },
};

describe('the loader never crashes', () => {
  it('random text yields policies or errors, never an exception', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        const load = parsePolicyText(text, 'random.yaml');
        for (const error of load.errors) expect(error.message.length).toBeGreaterThan(0);
      }),
      { numRuns: 300 },
    );
  });

  it('random YAML-looking documents yield either a policy or errors', () => {
    const fragment = fc.constantFrom(
      'apiVersion: canaryd.dev/v1alpha1\n',
      'kind: CanaryPolicy\n',
      'metadata: { name: web }\n',
      'spec:\n',
      '  target: { deployment: web, service: web }\n',
      '  strategy: { steps: [{ weight: 1 }] }\n',
      '  schedule: { timeZone: Europe/Berlin }\n',
      '---\n',
      '&a [*a]\n',
      '- x\n',
      '  : \n',
      '"\n',
      '{\n',
    );
    fc.assert(
      fc.property(fc.array(fragment, { maxLength: 12 }), (fragments) => {
        const load = parsePolicyText(fragments.join(''), 'random.yaml');
        for (const loaded of load.policies) expect(loaded.policy.kind).toBe('CanaryPolicy');
      }),
      { numRuns: 300 },
    );
  });

  it('random JSON-ish objects from the cluster yield a policy xor errors', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), fc.jsonValue({ maxDepth: 4 }), (randomSpec, randomValue) => {
        for (const object of [randomValue, { ...valid, spec: randomSpec }]) {
          const result = validatePolicyObject(object, 'default/web');
          expect(result.policy === undefined).toBe(result.errors.length > 0);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a valid policy survives a YAML round trip unchanged', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 6 }),
        fc.constantFrom('auto', 'ingress-nginx', 'replica-ratio'),
        (weights, router) => {
          const steps = [...weights].sort((a, b) => a - b).map((weight) => ({ weight }));
          const document = {
            ...valid,
            spec: { target: { ...valid.spec.target, router }, strategy: { steps, allowLargeFirstStep: true } },
          };
          const load = parsePolicyText(stringify(document), 'round-trip.yaml');
          expect(load.errors).toEqual([]);
          expect(load.policies[0]?.policy.spec.strategy.steps.map((step) => step.weight)).toEqual(
            steps.map((step) => step.weight),
          );
        },
      ),
      { numRuns: 100 },
    );
  });
});
