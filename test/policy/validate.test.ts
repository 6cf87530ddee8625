import { describe, expect, it } from 'vitest';
import { formatPolicyError } from '../../src/policy/errors.ts';
import { parsePolicyText } from '../../src/policy/load.ts';
import { validatePolicyObject } from '../../src/policy/validate.ts';

const clusterObject = (spec: unknown) => ({
  apiVersion: 'canaryd.dev/v1alpha1',
  kind: 'CanaryPolicy',
  metadata: { name: 'web', namespace: 'shop', uid: 'abc', resourceVersion: '42', managedFields: [] },
  spec,
  status: { phase: 'Progressing', weight: 5, step: 1 },
});

describe('formatPolicyError', () => {
  it('prints file:line:col: path: message (hint)', () => {
    expect(
      formatPolicyError({
        source: 'policies/web.yaml',
        line: 9,
        column: 5,
        path: 'spec.strategy.stepWieghts',
        message: 'unknown field `stepWieghts`, did you mean `steps`?',
        hint: 'allowed fields: type, steps',
      }),
    ).toBe(
      'policies/web.yaml:9:5: spec.strategy.stepWieghts: unknown field `stepWieghts`, did you mean `steps`? (allowed fields: type, steps)',
    );
  });

  it('prints cluster objects without positions and marks warnings', () => {
    expect(formatPolicyError({ source: 'shop/web', path: 'spec.routing', message: 'bad' }, 'warning')).toBe(
      'shop/web: warning: spec.routing: bad',
    );
  });
});

describe('validatePolicyObject (objects from the cluster)', () => {
  it('accepts a valid object with server-side metadata and a status', () => {
    const result = validatePolicyObject(clusterObject({ target: { deployment: 'web', service: 'web' } }), 'shop/web');
    expect(result.errors).toEqual([]);
    expect(result.policy?.spec.target.deployment).toBe('web');
    expect(result.key).toBe('shop/web');
  });

  it('reports errors against namespace/name with no line numbers', () => {
    const result = validatePolicyObject(
      clusterObject({ target: { deployment: 'web', service: 'web' }, strategy: { steps: [{ weight: 30 }] } }),
      'shop/web',
    );
    expect(result.policy).toBeUndefined();
    expect(result.key).toBe('shop/web');
    expect(result.errors).toEqual([
      {
        source: 'shop/web',
        path: 'spec.strategy.steps[0].weight',
        message: 'the first step sends 30 % of traffic to the canary; a canary starts at 5 % or less',
        hint: 'start with 1 %, or set spec.strategy.allowLargeFirstStep: true',
      },
    ]);
  });

  it('allows a large first step when the policy opts out', () => {
    const result = validatePolicyObject(
      clusterObject({
        target: { deployment: 'web', service: 'web' },
        strategy: { steps: [{ weight: 30 }], allowLargeFirstStep: true },
      }),
      'shop/web',
    );
    expect(result.errors).toEqual([]);
  });

  it.each([
    [null, 'found null'],
    ['a string', 'found "a string"'],
    [42, 'found number 42'],
    [[1, 2], 'found a list of 2'],
  ])('rejects a non-object document %j', (value, found) => {
    expect(validatePolicyObject(value, 'x').errors[0]?.message).toContain(found);
  });

  it('rejects a JSON __proto__ key without polluting anything', () => {
    const hostile = JSON.parse(
      '{"apiVersion":"canaryd.dev/v1alpha1","kind":"CanaryPolicy","metadata":{"name":"a","__proto__":{"polluted":true}},"spec":{}}',
    );
    const result = validatePolicyObject(hostile, 'default/a');
    expect(result.errors.map((error) => error.path)).toEqual(['metadata.__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('rejects absurd nesting', () => {
    let deep: unknown = 'leaf';
    for (let level = 0; level < 100; level++) deep = { deeper: deep };
    const result = validatePolicyObject(clusterObject(deep), 'shop/web');
    expect(result.errors[0]?.message).toBe('nested more than 32 levels deep');
  });
});

describe('warnings', () => {
  const policy = (router: string, weights: number[]) => `apiVersion: canaryd.dev/v1alpha1
kind: CanaryPolicy
metadata: { name: web }
spec:
  target: { deployment: web, service: web, router: ${router} }
  strategy:
    steps: [${weights.map((weight) => `{ weight: ${weight} }`).join(', ')}]
`;

  it('warns, but accepts, sub-percent weights with replica-ratio', () => {
    const load = parsePolicyText(policy('replica-ratio', [0.5, 5]), 'web.yaml');
    expect(load.errors).toEqual([]);
    expect(load.policies).toHaveLength(1);
    expect(load.warnings.map((warning) => formatPolicyError(warning, 'warning'))).toEqual([
      'web.yaml:7:23: warning: spec.strategy.steps[0].weight: replica-ratio cannot split exactly 0.5 %; it uses the closest share whole replicas allow (use ingress-nginx or gateway-api for sub-percent weights; `kubectl canary plan` shows the steps)',
    ]);
  });

  it('accepts sub-percent weights with ingress-nginx without a warning', () => {
    const load = parsePolicyText(policy('ingress-nginx', [0.1, 0.5, 5]), 'web.yaml');
    expect(load.errors).toEqual([]);
    expect(load.warnings).toEqual([]);
  });
});

describe('router gateway-api', () => {
  const policy = (target: string, weights = [0.1, 5], extra = '') => `apiVersion: canaryd.dev/v1alpha1
kind: CanaryPolicy
metadata: { name: web }
spec:
  target: { deployment: web, service: web, ${target} }
  strategy:
    steps: [${weights.map((weight) => `{ weight: ${weight} }`).join(', ')}]
${extra}`;
  const messages = (text: string) => {
    const load = parsePolicyText(text, 'web.yaml');
    return {
      errors: load.errors.map((error) => formatPolicyError(error)),
      warnings: load.warnings.map((warning) => formatPolicyError(warning, 'warning')),
    };
  };

  it('accepts named HTTPRoutes, sub-percent weights down to 0.001 % and tester routing', () => {
    const text = policy(
      'httpRoutes: [web, web-api], router: gateway-api',
      [0.001, 0.1, 5],
      '  routing: { cookie: canary }\n',
    );
    expect(messages(text)).toEqual({ errors: [], warnings: [] });
  });

  it('refuses a weight it cannot write exactly, at its line', () => {
    expect(messages(policy('router: gateway-api', [0.0005, 5])).errors).toEqual([
      'web.yaml:7:23: spec.strategy.steps[0].weight: gateway-api splits traffic in steps of 0.001 % (backendRef weights 1 : 99999), found 0.0005 (round the weight)',
    ]);
  });

  it('refuses route lists the chosen router ignores, and both under auto', () => {
    expect(messages(policy('httpRoutes: [web], router: ingress-nginx')).errors).toEqual([
      'web.yaml:5:56: spec.target.httpRoutes: ignored: the ingress-nginx router writes a canary Ingress and never touches an HTTPRoute (remove spec.target.httpRoutes, or set spec.target.router: gateway-api (or auto))',
    ]);
    expect(messages(policy('ingresses: [web], router: gateway-api')).errors).toEqual([
      'web.yaml:5:55: spec.target.ingresses: ignored: the gateway-api router weighs HTTPRoute backendRefs and never touches an Ingress (remove spec.target.ingresses, or set spec.target.router: ingress-nginx (or auto))',
    ]);
    expect(messages(policy('ingresses: [web], httpRoutes: [web]')).errors).toEqual([
      'web.yaml:5:74: spec.target.httpRoutes: both ingresses and httpRoutes are named: canaryd splits traffic through one of them (keep the one your traffic goes through, or set spec.target.router)',
    ]);
  });
});

describe('YAML hazards', () => {
  it('reports a syntax error with its position and keeps the other documents', () => {
    const load = parsePolicyText(
      `apiVersion: canaryd.dev/v1alpha1
kind: CanaryPolicy
metadata: { name: web
---
apiVersion: canaryd.dev/v1alpha1
kind: CanaryPolicy
metadata: { name: api }
spec: { target: { deployment: api, service: api } }
`,
      'two.yaml',
    );
    expect(load.policies.map((loaded) => loaded.policy.metadata.name)).toEqual(['api']);
    // At the brace that is never closed, not where the parser gave up (the next line).
    expect(load.errors[0]).toMatchObject({ source: 'two.yaml', line: 3, column: 11, path: '' });
    expect(load.errors[0]?.message).toMatch(/^invalid YAML: this flow mapping is never closed/);
  });

  it('refuses files larger than a policy could reasonably be', () => {
    const load = parsePolicyText(`# ${'x'.repeat(2 * 1024 * 1024)}`, 'huge.yaml');
    expect(load.errors[0]?.message).toMatch(/^file too large/);
  });

  it('says so, as a warning, when a file holds no policy at all (empty, comments, null documents)', () => {
    for (const text of ['', '# only a comment\n', 'null', '~', '---\n---\n']) {
      const load = parsePolicyText(text, 'empty.yaml');
      expect(load.policies, JSON.stringify(text)).toEqual([]);
      expect(load.errors, JSON.stringify(text)).toEqual([]);
      expect(
        load.warnings.map((w) => formatPolicyError(w, 'warning')),
        JSON.stringify(text),
      ).toEqual([
        'empty.yaml: warning: no CanaryPolicy in this file: it is empty or holds only comments and empty (null) documents',
      ]);
    }
  });

  it('survives deep flow nesting', () => {
    const load = parsePolicyText(`${'['.repeat(5000)}${']'.repeat(5000)}`, 'deep.yaml');
    expect(load.policies).toEqual([]);
    expect(load.errors.length).toBeGreaterThan(0);
  });
});

describe('spec.traffic.drainDelay', () => {
  const spec = (traffic?: unknown) => ({
    target: { deployment: 'web', service: 'web' },
    ...(traffic === undefined ? {} : { traffic }),
  });

  it('defaults to 5s and accepts 0s', () => {
    expect(validatePolicyObject(clusterObject(spec()), 'shop/web').policy?.spec.traffic).toEqual({ drainDelay: '5s' });
    const zero = validatePolicyObject(clusterObject(spec({ drainDelay: '0s' })), 'shop/web');
    expect(zero.errors).toEqual([]);
    expect(zero.policy?.spec.traffic.drainDelay).toBe('0s');
  });

  it('rejects a value that is not a duration, naming the field', () => {
    const result = validatePolicyObject(clusterObject(spec({ drainDelay: 'soon' })), 'shop/web');
    expect(result.policy).toBeUndefined();
    expect(result.errors.map((error) => formatPolicyError(error))).toEqual([
      'shop/web: spec.traffic.drainDelay: expected a duration such as "30s", "5m" or "1h30m", found "soon"',
    ]);
  });

  it('rejects a drain that would outlast the rollback deadline (timeouts.promotion)', () => {
    const result = validatePolicyObject(
      clusterObject({ ...spec({ drainDelay: '2m' }), timeouts: { promotion: '2m' } }),
      'shop/web',
    );
    expect(result.errors).toEqual([
      {
        source: 'shop/web',
        path: 'spec.traffic.drainDelay',
        message: 'expected a drain delay shorter than timeouts.promotion (2m), found 2m',
        hint: 'a rollback must remove the canary before its deadline: a few seconds are enough for a data plane to stop sending',
      },
    ]);
  });
});

describe('spec.analysis.metrics', () => {
  const spec = (analysis: unknown) => ({ target: { deployment: 'web', service: 'web' }, analysis });

  it('defaults to ingress-nginx and accepts traefik', () => {
    const defaulted = validatePolicyObject(clusterObject(spec({})), 'shop/web');
    expect(defaulted.policy?.spec.analysis.metrics).toBe('ingress-nginx');
    const traefik = validatePolicyObject(clusterObject(spec({ metrics: 'traefik' })), 'shop/web');
    expect(traefik.errors).toEqual([]);
    expect(traefik.policy?.spec.analysis.metrics).toBe('traefik');
  });

  it('rejects an unknown data plane, naming the field and the closest choice', () => {
    const result = validatePolicyObject(clusterObject(spec({ metrics: 'trafik' })), 'shop/web');
    expect(result.policy).toBeUndefined();
    expect(result.errors.map((error) => formatPolicyError(error))).toEqual([
      'shop/web: spec.analysis.metrics: expected one of "ingress-nginx", "traefik", found "trafik" (did you mean "traefik"?)',
    ]);
  });
});
