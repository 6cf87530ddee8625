// The YAML layer's mistakes, reported where they are: an unclosed quote or bracket at its
// opening, a duplicate key by name with both lines, numbers YAML reads from hex, octal, binary,
// sexagesimal, .nan or .inf refused. And a schema error never hides the other errors of a file.
import { describe, expect, it } from 'vitest';
import { formatPolicyError } from '../../src/policy/errors.ts';
import { parsePolicyText } from '../../src/policy/load.ts';

const errorsOf = (text: string) => parsePolicyText(text, 'p.yaml').errors.map((error) => formatPolicyError(error));

const HEAD = 'apiVersion: canaryd.dev/v1alpha1\nkind: CanaryPolicy\n';

describe('syntax errors at the mistake', () => {
  it('points an unclosed double quote at the quote, not at the end of the file', () => {
    const errors = errorsOf(
      `${HEAD}metadata:\n  name: "web\nspec:\n  target:\n    deployment: web\n    service: web\n`,
    );
    expect(errors).toEqual([
      'p.yaml:4:9: invalid YAML: this double quote is never closed (the parser read on to line 9: Missing closing "quote) (close the string with ")',
    ]);
  });

  it('points an unclosed single quote inside a flow mapping at the quote, once', () => {
    const errors = errorsOf(`${HEAD}metadata: { name: 'web }\nspec:\n  target: { deployment: web, service: web }\n`);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^p\.yaml:3:19: invalid YAML: this single quote is never closed/);
  });

  it('points an unclosed flow list at its bracket', () => {
    const errors = errorsOf(
      `${HEAD}metadata: { name: web }\nspec:\n  target: { deployment: web, service: web }\n  strategy:\n    steps: [{ weight: 1 }\n  timeouts: { release: 1h }\n`,
    );
    expect(errors[0]).toMatch(/^p\.yaml:7:12: invalid YAML: this flow sequence is never closed/);
  });
});

describe('duplicate keys', () => {
  it('names the key and both lines', () => {
    const errors = errorsOf(
      `${HEAD}metadata: { name: web }\nspec:\n  target: { deployment: web, service: web }\n  strategy:\n    steps: [{ weight: 5 }, { weight: 2 }]\n    steps: [{ weight: 1 }]\n`,
    );
    expect(errors).toEqual([
      'p.yaml:8:5: spec.strategy.steps: duplicate key `steps`: first on line 7, again on line 8; only the last one counts',
    ]);
  });

  it('reports every duplicate of a file', () => {
    const errors = errorsOf(
      `${HEAD}kind: CanaryPolicy\nmetadata: { name: web, name: api }\nspec:\n  target: { deployment: web, service: web }\n`,
    );
    expect(errors).toEqual([
      'p.yaml:3:1: kind: duplicate key `kind`: first on line 2, again on line 3; only the last one counts',
      'p.yaml:4:24: metadata.name: duplicate key `name`: first on line 4, again on line 4; only the last one counts',
    ]);
  });
});

describe('numbers only as decimals', () => {
  const withWeight = (weight: string) =>
    `${HEAD}metadata: { name: web }\nspec:\n  target: { deployment: web, service: web }\n  strategy:\n    steps:\n      - weight: ${weight}\n`;

  it.each([
    [
      '0x1',
      'expected a decimal number, found `0x1`, which YAML reads as 1 (write 1 if that is what you mean; quote it if you meant a string)',
    ],
    [
      '0o3',
      'expected a decimal number, found `0o3`, which YAML reads as 3 (write 3 if that is what you mean; quote it if you meant a string)',
    ],
    [
      '.nan',
      'expected a finite decimal number, found `.nan` (YAML reads it as NaN) (write a number such as 99.5; quote it if you meant a string)',
    ],
    [
      '.inf',
      'expected a finite decimal number, found `.inf` (YAML reads it as Infinity) (write a number such as 99.5; quote it if you meant a string)',
    ],
    [
      '-.Inf',
      'expected a finite decimal number, found `-.Inf` (YAML reads it as -Infinity) (write a number such as 99.5; quote it if you meant a string)',
    ],
  ])('refuses weight %s with the field and what YAML made of it', (weight, message) => {
    expect(errorsOf(withWeight(weight))).toEqual([`p.yaml:8:17: spec.strategy.steps[0].weight: ${message}`]);
  });

  it('refuses YAML 1.1 forms: binary and sexagesimal', () => {
    const errors = errorsOf(`%YAML 1.1\n---\n${withWeight('0b1')}`);
    expect(errors).toEqual([
      'p.yaml:10:17: spec.strategy.steps[0].weight: expected a decimal number, found `0b1`, which YAML reads as 1 (write 1 if that is what you mean; quote it if you meant a string)',
    ]);
    const sexagesimal = errorsOf(`%YAML 1.1\n---\n${withWeight('1')}  analysis: { failureLimit: 1:30 }\n`);
    expect(sexagesimal).toEqual([
      'p.yaml:11:29: spec.analysis.failureLimit: expected a decimal number, found `1:30`, which YAML reads as 90 (write 90 if that is what you mean; quote it if you meant a string)',
    ]);
  });

  it('accepts decimals, fractions and exponents', () => {
    for (const weight of ['1', '0.5', '+2', '1e0', '1.0']) expect(errorsOf(withWeight(weight))).toEqual([]);
  });
});

describe('every error of a file in one run', () => {
  it('runs the semantic checks on the parts the schema accepted', () => {
    const errors = errorsOf(`${HEAD}metadata: { name: web }
spec:
  target: { deployment: web, service: web, router: nginx }
  strategy:
    stepz: 1
    steps: [{ weight: 5 }, { weight: 2 }]
  schedule: { timeZone: Mars/Olympus }
  analysis:
    interval: 5 minutes
    checks:
      - { name: s, type: successRate, min: 0.99 }
`);
    expect(errors.map((error) => error.split(': ').slice(0, 2).join(': '))).toEqual([
      'p.yaml:5:52: spec.target.router',
      'p.yaml:7:5: spec.strategy.stepz',
      'p.yaml:8:38: spec.strategy.steps[1].weight',
      'p.yaml:9:25: spec.schedule.timeZone',
      'p.yaml:11:15: spec.analysis.interval',
      'p.yaml:13:44: spec.analysis.checks[0].min',
    ]);
  });

  it('does not report what follows only from a part it had to drop', () => {
    // The router is unreadable: routing is not judged against the default (auto) in its place.
    const errors = errorsOf(`${HEAD}metadata: { name: web }
spec:
  target: { deployment: web, service: web, router: replica }
  routing: { header: { name: X-Canary } }
  strategy: { steps: [{ weight: 0.5 }] }
`);
    expect(errors).toEqual([
      'p.yaml:5:52: spec.target.router: expected one of "auto", "ingress-nginx", "gateway-api", "replica-ratio", found "replica"',
    ]);
  });

  it('still checks the spec when a required name is missing', () => {
    const errors = errorsOf(`${HEAD}metadata: {}
spec:
  target: { service: web }
  strategy: { steps: [{ weight: 5 }, { weight: 2 }] }
`);
    expect(errors).toEqual([
      'p.yaml:3:1: metadata.name: missing required field `name` (Name of the policy.)',
      'p.yaml:5:3: spec.target.deployment: missing required field `deployment` (The Deployment canaryd manages. It stays yours: never renamed or cloned.)',
      'p.yaml:6:48: spec.strategy.steps[1].weight: expected a weight above 5 (the weight of steps[0]), found 2 (step weights must strictly increase)',
    ]);
  });
});
