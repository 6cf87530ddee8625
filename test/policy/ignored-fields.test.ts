// Fields the chosen strategy, router or check type ignores are errors naming the field and why;
// the same fields are fine where they are read, and defaults never count as written.
import { describe, expect, it } from 'vitest';
import { parsePolicyText } from '../../src/policy/load.ts';

const policy = (spec: string) => `apiVersion: canaryd.dev/v1alpha1
kind: CanaryPolicy
metadata: { name: web }
spec:
${spec}`;

const findings = (spec: string) => {
  const load = parsePolicyText(policy(spec), 'p.yaml');
  return {
    errors: load.errors.map((error) => `${error.path}: ${error.message}`),
    warnings: load.warnings.map((warning) => `${warning.path}: ${warning.message}`),
    valid: load.policies.length === 1,
  };
};

describe('fields the strategy ignores', () => {
  it('refuses steps and allowLargeFirstStep on a blueGreen release, and testersFirst', () => {
    const { errors } = findings(`  target: { deployment: web, service: web, router: ingress-nginx }
  strategy:
    type: blueGreen
    steps: [{ weight: 1 }]
    allowLargeFirstStep: true
  routing: { header: { name: X-Canary }, testersFirst: 5m }
`);
    expect(errors).toEqual([
      'spec.strategy.steps: ignored: a blueGreen release is a full-size testers-only preview and one switch to 100 %; it has no weighted steps',
      'spec.strategy.allowLargeFirstStep: ignored: a blueGreen release is a full-size testers-only preview and one switch to 100 %; it has no first step',
      'spec.routing.testersFirst: ignored: the blueGreen preview already routes only testers, for spec.strategy.blueGreen.previewHold',
    ]);
  });

  it('refuses blueGreen options on a canary release (type canary by default)', () => {
    const { errors } = findings(`  target: { deployment: web, service: web }
  strategy:
    blueGreen: { previewHold: 10m }
`);
    expect(errors).toEqual([
      'spec.strategy.blueGreen: ignored: blueGreen options are read only by strategy type blueGreen, and this strategy is canary',
    ]);
  });

  it('refuses replica-ratio options with blueGreen', () => {
    const { errors } = findings(`  target: { deployment: web, service: web }
  strategy: { type: blueGreen }
  replicaRatio: { maxShareError: 2 }
`);
    expect(errors).toEqual([
      'spec.replicaRatio.maxShareError: ignored: a blueGreen release is a full-size testers-only preview and one switch to 100 %; there is no small share for whole replicas to approximate',
    ]);
  });
});

describe('fields the router ignores', () => {
  it('refuses a surge budget and share tolerance with ingress-nginx, each by name', () => {
    const { errors } = findings(`  target: { deployment: web, service: web, router: ingress-nginx }
  replicaRatio: { surgeBudget: 2, maxShareError: 1 }
`);
    expect(errors).toEqual([
      'spec.replicaRatio.surgeBudget: ignored: the ingress-nginx router splits traffic by weight, not by replicas',
      'spec.replicaRatio.maxShareError: ignored: the ingress-nginx router splits traffic by weight, not by replicas',
    ]);
  });

  it('refuses ingresses with replica-ratio', () => {
    const { errors } = findings(
      '  target: { deployment: web, service: web, router: replica-ratio, ingresses: [web] }\n',
    );
    expect(errors).toEqual([
      'spec.target.ingresses: ignored: the replica-ratio router splits traffic behind the Service and never touches an Ingress',
    ]);
  });

  it('accepts the same options where the router reads them, and with auto', () => {
    for (const router of ['replica-ratio', 'auto']) {
      expect(
        findings(`  target: { deployment: web, service: web, router: ${router} }\n  replicaRatio: { surgeBudget: 2 }\n`)
          .errors,
      ).toEqual([]);
    }
    expect(
      findings('  target: { deployment: web, service: web, router: ingress-nginx, ingresses: [web] }\n').errors,
    ).toEqual([]);
  });
});

describe('fields analysis and check types ignore', () => {
  it('refuses analysis settings when there is no check', () => {
    const { errors } = findings(`  target: { deployment: web, service: web }
  analysis: { interval: 1m, failureLimit: 5 }
`);
    expect(errors).toEqual([
      'spec.analysis.interval: ignored: there are no spec.analysis.checks, so nothing is analysed and steps advance on their holds alone',
      'spec.analysis.failureLimit: ignored: there are no spec.analysis.checks, so nothing is analysed and steps advance on their holds alone',
    ]);
  });

  it('refuses quantile off latency, sampleQuery on built-ins, minSample and stableQuery a custom check never uses', () => {
    const { errors } = findings(`  target: { deployment: web, service: web }
  analysis:
    checks:
      - { name: s, type: successRate, min: 99, quantile: 0.9, sampleQuery: "sum(up)" }
      - { name: c, type: custom, query: "sum(up)", stableQuery: "sum(up)", max: 1, minSample: 10 }
`);
    expect(errors).toEqual([
      'spec.analysis.checks[0].quantile: ignored: only latency checks have a quantile, and this check is successRate',
      'spec.analysis.checks[0].sampleQuery: ignored: a built-in successRate check counts its own sample (canary requests through the Ingress)',
      'spec.analysis.checks[1].stableQuery: ignored: stableQuery is run only for relative thresholds, and this check has none',
      'spec.analysis.checks[1].minSample: ignored: a custom check counts no sample without a sampleQuery, so minSample is never compared',
    ]);
  });
});

describe('a policy as the API server stores it', () => {
  it('is valid with every CRD default written in (defaults never count as set)', async () => {
    const { validatePolicyObject } = await import('../../src/policy/validate.ts');
    const { canaryPolicySpec } = await import('../../src/policy/schema.ts');
    // What the API server keeps of `spec: { target, routing, strategy.steps }`: the CRD's
    // defaults filled in everywhere.
    const stored = canaryPolicySpec.parse({
      target: { deployment: 'web', service: 'web', router: 'ingress-nginx' },
      routing: { header: { name: 'X-Canary', value: 'yes' } },
      strategy: { steps: [{ weight: 1, hold: '1s', pause: true }] },
    });
    const object = {
      apiVersion: 'canaryd.dev/v1alpha1',
      kind: 'CanaryPolicy',
      metadata: { name: 'web', namespace: 'shop' },
      spec: stored,
    };
    const result = validatePolicyObject(JSON.parse(JSON.stringify(object)), 'CanaryPolicy shop/web');
    expect(result.errors.map((error) => `${error.path}: ${error.message}`)).toEqual([]);
  });
});
