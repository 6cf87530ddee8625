import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isTrafficError, type TrafficErrorCode } from '../../src/traffic/errors.ts';
import type { BackendRef, HTTPRoute, RouteRule } from '../../src/traffic/httproute.ts';
import { readRoute } from '../../src/traffic/httproute-reading.ts';
import { type RouteParams, readRecord, restoreRules } from '../../src/traffic/httproute-record.ts';
import { planRoute, routeWeights } from '../../src/traffic/httproute-rewrite.ts';
import { testerHeaderMatches } from '../../src/traffic/httproute-testers.ts';
import { HTTPROUTE_RECORD } from '../../src/traffic/labels.ts';

const NS = 'shop';
const params: RouteParams = { namespace: NS, service: 'web', canaryService: 'web-canary', policy: 'shop/web' };

const ref = (name: string, extra: Partial<BackendRef> = {}): BackendRef => ({
  group: '',
  kind: 'Service',
  name,
  port: 80,
  weight: 1,
  ...extra,
});

const route = (rules: RouteRule[], extra: Partial<HTTPRoute['spec']> = {}): HTTPRoute => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'HTTPRoute',
  metadata: { name: 'web', namespace: NS },
  spec: { parentRefs: [{ name: 'public' }], hostnames: ['web.example.com'], rules, ...extra },
});

/** The route as canaryd writes it: planned rules plus the record annotation. */
const written = (original: HTTPRoute, weight: number, routing?: Parameters<typeof planRoute>[3]): HTTPRoute => {
  const planned = planRoute(original, params, weight, routing);
  return {
    ...original,
    metadata: {
      ...original.metadata,
      annotations: { ...original.metadata.annotations, [HTTPROUTE_RECORD]: JSON.stringify(planned.record) },
    },
    spec: { ...original.spec, rules: planned.rules },
  };
};

const restored = (current: HTTPRoute) => restoreRules(current.spec.rules ?? [], readRecord(current), params);

const throwsCode = (fn: () => unknown, code: TrafficErrorCode, message: RegExp) => {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(isTrafficError(caught, code), String(caught)).toBe(true);
  expect((caught as Error).message).toMatch(message);
};

describe('weights', () => {
  it.each([
    [1, 1, 100],
    [5, 5, 100],
    [50, 50, 100],
    [0.1, 1, 1000],
    [2.5, 25, 1000],
    [0.05, 5, 10_000],
    [100, 100, 100],
  ])('weight %s is canary %s of total %s', (percent, canary, total) => {
    expect(routeWeights(percent)).toEqual({ canary, total });
  });

  it('refuses a weight it cannot write exactly, in the router’s terms', () => {
    throwsCode(() => routeWeights(0.00015), 'InvalidWeight', /gateway-api router splits in steps of 0.001 %/);
    throwsCode(() => routeWeights(101), 'InvalidWeight', /not a percent/);
  });
});

describe('planRoute: one rule', () => {
  const original = route([{ matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRefs: [ref('web')] }]);

  it('adds the canary as a second backendRef at weight 0, the stable weight as found', () => {
    const { rules, record } = planRoute(original, params, 0, undefined);
    expect(rules[0]!.backendRefs).toEqual([ref('web'), ref('web-canary', { weight: 0 })]);
    expect(record).toEqual({
      policy: 'shop/web',
      service: 'web',
      canaryService: 'web-canary',
      weight: 0,
      rules: [{ index: 0, key: 'matches:[{"path":{"type":"PathPrefix","value":"/"}}]', weight: 1 }],
    });
  });

  it.each([
    [5, 95, 5],
    [50, 50, 50],
    [0.1, 999, 1],
    [100, 0, 100],
  ])('at weight %s stable weighs %s and the canary %s', (percent, stable, canary) => {
    const { rules } = planRoute(original, params, percent, undefined);
    expect(rules[0]!.backendRefs).toEqual([ref('web', { weight: stable }), ref('web-canary', { weight: canary })]);
    const reading = readRoute(written(original, percent), params);
    expect(reading.achieved).toBeCloseTo(percent, 9);
    expect(reading.drift).toEqual([]);
  });

  it('starts from the route as found at every write: a second plan equals the first', () => {
    const once = written(original, 5);
    expect(planRoute(once, params, 5, undefined).rules).toEqual(planRoute(original, params, 5, undefined).rules);
    expect(planRoute(once, params, 25, undefined).rules).toEqual(planRoute(original, params, 25, undefined).rules);
  });

  it('restores the rules exactly, with the weight the user wrote or left out', () => {
    expect(restored(written(original, 5))).toEqual(original.spec.rules);
    const noWeight = route([{ backendRefs: [{ name: 'web', port: 8080 }] }]);
    const planned = written(noWeight, 0.1);
    expect(planned.spec.rules![0]!.backendRefs).toEqual([
      { name: 'web', port: 8080, weight: 999 },
      { name: 'web-canary', port: 8080, weight: 1 },
    ]);
    expect(restored(planned)).toEqual(noWeight.spec.rules);
  });
});

describe('planRoute: several rules, parents, ports and filters', () => {
  const headerFilter = { type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'x-v', value: '1' }] } };
  const original = route(
    [
      {
        name: 'api',
        matches: [{ path: { type: 'PathPrefix', value: '/api' } }],
        filters: [
          { type: 'URLRewrite', urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/' } } },
        ],
        backendRefs: [ref('web', { port: 8080, weight: 10, filters: [headerFilter] })],
      },
      { matches: [{ path: { type: 'PathPrefix', value: '/docs' } }], backendRefs: [ref('docs')] },
      { matches: [{ path: { type: 'Exact', value: '/' } }], backendRefs: [ref('web')] },
    ],
    { parentRefs: [{ name: 'public' }, { name: 'internal', namespace: 'infra', sectionName: 'http' }] },
  );

  it('weighs every rule that sends to the Service and no other; parents, hostnames, filters and ports stay', () => {
    const planned = written(original, 5);
    expect(planned.spec.parentRefs).toEqual(original.spec.parentRefs);
    expect(planned.spec.hostnames).toEqual(original.spec.hostnames);
    const [api, docs, root] = planned.spec.rules!;
    expect(api!.filters).toEqual(original.spec.rules![0]!.filters);
    expect(api!.name).toBe('api');
    // The canary gets the stable ref's port (a Service port number) and its backend filters.
    expect(api!.backendRefs).toEqual([
      ref('web', { port: 8080, weight: 95, filters: [headerFilter] }),
      ref('web-canary', { port: 8080, weight: 5, filters: [headerFilter] }),
    ]);
    expect(docs).toEqual(original.spec.rules![1]);
    expect(root!.backendRefs).toEqual([ref('web', { weight: 95 }), ref('web-canary', { weight: 5 })]);
    expect(readRoute(planned, params).shown).toEqual([
      'HTTPRoute shop/web rule 0 5/100',
      'HTTPRoute shop/web rule 2 5/100',
    ]);
    expect(restored(planned)).toEqual(original.spec.rules);
  });

  it('keeps edits others made during the release and still restores its own fields', () => {
    const planned = written(original, 5);
    // Someone inserts a rule before ours and changes the docs path.
    const edited = structuredClone(planned);
    edited.spec.rules!.unshift({
      matches: [{ path: { type: 'Exact', value: '/health' } }],
      backendRefs: [ref('health')],
    });
    edited.spec.rules![2]!.matches = [{ path: { type: 'PathPrefix', value: '/manual' } }];
    const expected = structuredClone(original.spec.rules!);
    expected.unshift(edited.spec.rules![0]!);
    expected[2]!.matches = [{ path: { type: 'PathPrefix', value: '/manual' } }];
    expect(restored(edited)).toEqual(expected);
  });

  it('reports drift when someone edits a weight or removes the canary backendRef', () => {
    const planned = written(original, 5);
    const edited = structuredClone(planned);
    edited.spec.rules![0]!.backendRefs![1]!.weight = 50;
    edited.spec.rules![2]!.backendRefs!.pop();
    const reading = readRoute(edited, params);
    expect(reading.drift).toEqual([
      'HTTPRoute shop/web rule 0 sends 34.483 % to web-canary (weight 50 of 145) but canaryd set 5 %',
      'HTTPRoute shop/web rule 2 has no backendRef to web-canary',
    ]);
    // The next write starts from the route as found, so it puts canaryd's weights back.
    expect(planRoute(edited, params, 5, undefined).rules).toEqual(planRoute(original, params, 5, undefined).rules);
  });

  it('refuses rules it cannot split exactly, naming the rule', () => {
    const shared = route([{ backendRefs: [ref('web', { weight: 80 }), ref('web-v2', { weight: 20 })] }]);
    throwsCode(
      () => planRoute(shared, params, 5, undefined),
      'NotManaged',
      /rule 0 sends to Service web and to web-v2/,
    );
    const twice = route([{ backendRefs: [ref('web'), ref('web', { port: 81 })] }]);
    throwsCode(() => planRoute(twice, params, 5, undefined), 'NotManaged', /names Service web 2 times/);
    const foreign = route([{ backendRefs: [ref('web')] }, { backendRefs: [ref('web-canary')] }]);
    throwsCode(() => planRoute(foreign, params, 5, undefined), 'NotManaged', /sends to Service web-canary/);
    throwsCode(() => planRoute(route([{ backendRefs: [ref('docs')] }]), params, 5, undefined), 'NoRoute', /no rule/);
  });

  it('ignores backendRefs to a Service of the same name in another namespace or another kind', () => {
    const other = route([
      { backendRefs: [ref('web', { namespace: 'other' })] },
      { backendRefs: [{ group: 'example.com', kind: 'Bucket', name: 'web' }] },
      { backendRefs: [ref('web', { namespace: NS })] },
    ]);
    const { rules } = planRoute(other, params, 5, undefined);
    expect(rules[0]).toEqual(other.spec.rules![0]);
    expect(rules[1]).toEqual(other.spec.rules![1]);
    expect(rules[2]!.backendRefs).toHaveLength(2);
  });

  it('refuses a route another policy splits', () => {
    const planned = written(original, 5);
    throwsCode(
      () => planRoute(planned, { ...params, policy: 'shop/other' }, 5, undefined),
      'NotManaged',
      /carries a canary of policy shop\/web/,
    );
  });

  it('records the policy’s uid; a record of its name is its own, and the next write records its uid', () => {
    const earlier = { ...params, policyUid: 'uid-earlier' };
    const planned = planRoute(original, earlier, 5, undefined);
    expect(planned.record).toMatchObject({ policy: 'shop/web', policyUid: 'uid-earlier' });
    const left = {
      ...original,
      metadata: { ...original.metadata, annotations: { [HTTPROUTE_RECORD]: JSON.stringify(planned.record) } },
    };
    // A policy of the name restored with its status under a new uid takes it over (an earlier
    // one's, deleted without its finalizer, is handed back by the orphan sweep before any write).
    const now = planRoute(left, { ...params, policyUid: 'uid-now' }, 10, undefined);
    expect(now.record).toMatchObject({ policy: 'shop/web', policyUid: 'uid-now', weight: 10 });
    expect(now.rules).toEqual(planRoute(original, params, 10, undefined).rules);
    // A record an older canaryd wrote without the uid is its own too.
    expect(planRoute(written(original, 5), { ...params, policyUid: 'uid-now' }, 10, undefined).record.weight).toBe(10);
  });
});

describe('tester rules', () => {
  const original = route([
    {
      matches: [{ path: { type: 'PathPrefix', value: '/a' } }, { path: { type: 'Exact', value: '/b' }, method: 'GET' }],
      backendRefs: [ref('web')],
    },
  ]);

  it('are appended: the user’s matches plus the header, or the cookie as a Cookie regex, to the canary only', () => {
    const routing = { header: { name: 'X-Canary', value: 'yes' }, cookie: 'canary' };
    const planned = written(original, 0, routing);
    expect(planned.spec.rules).toHaveLength(2);
    const testers = planned.spec.rules![1]!;
    expect(testers.backendRefs).toEqual([ref('web-canary', { weight: 1 })]);
    expect(testers.matches).toEqual([
      { path: { type: 'PathPrefix', value: '/a' }, headers: [{ type: 'Exact', name: 'X-Canary', value: 'yes' }] },
      {
        path: { type: 'PathPrefix', value: '/a' },
        headers: [{ type: 'RegularExpression', name: 'Cookie', value: '(^|;\\s*)canary=always(;|$)' }],
      },
      {
        path: { type: 'Exact', value: '/b' },
        method: 'GET',
        headers: [{ type: 'Exact', name: 'X-Canary', value: 'yes' }],
      },
      {
        path: { type: 'Exact', value: '/b' },
        method: 'GET',
        headers: [{ type: 'RegularExpression', name: 'Cookie', value: '(^|;\\s*)canary=always(;|$)' }],
      },
    ]);
    expect(readRoute(planned, params).testers).toBe(true);
    expect(restored(planned)).toEqual(original.spec.rules);
  });

  it('the cookie regex matches the cookie among others and nothing else', () => {
    const [match] = testerHeaderMatches({ cookie: 'canary.v2' });
    const regex = new RegExp(match!.value);
    expect(regex.test('a=1; canary.v2=always')).toBe(true);
    expect(regex.test('canary.v2=always; b=2')).toBe(true);
    expect(regex.test('canaryXv2=always')).toBe(false);
    expect(regex.test('canary.v2=never')).toBe(false);
    expect(regex.test('xcanary.v2=always')).toBe(false);
  });

  it('a header without value or pattern selects on "always"; a pattern is a RegularExpression match', () => {
    expect(testerHeaderMatches({ header: { name: 'X-Canary' } })).toEqual([
      { type: 'Exact', name: 'X-Canary', value: 'always' },
    ]);
    expect(testerHeaderMatches({ header: { name: 'X-Canary', pattern: '^team-(a|b)$' } })).toEqual([
      { type: 'RegularExpression', name: 'X-Canary', value: '^team-(a|b)$' },
    ]);
    throwsCode(
      () => testerHeaderMatches({ header: { name: 'X Canary' } }),
      'InvalidRouting',
      /not a valid header name/,
    );
  });

  it('are kept as they are by a weight change ("keep") and removed by a plan without routing', () => {
    const planned = written(original, 0, { header: { name: 'X-Canary' } });
    const kept = planRoute(planned, params, 5, 'keep').rules;
    expect(kept).toHaveLength(2);
    expect(kept[1]).toEqual(planned.spec.rules![1]);
    expect(planRoute(planned, params, 5, undefined).rules).toHaveLength(1);
  });

  it('refuse a header the user’s rule already matches on and a route the CRD would reject', () => {
    const own = route([{ matches: [{ headers: [{ name: 'x-canary', value: 'a' }] }], backendRefs: [ref('web')] }]);
    throwsCode(
      () => planRoute(own, params, 0, { header: { name: 'X-Canary' } }),
      'InvalidRouting',
      /already matches on header X-Canary/,
    );
    const many = route(
      Array.from({ length: 9 }, (_, i) => ({
        matches: [{ path: { type: 'Exact', value: `/${i}` } }],
        backendRefs: [ref('web')],
      })),
    );
    throwsCode(
      () => planRoute(many, params, 0, { header: { name: 'X-Canary' } }),
      'InvalidRouting',
      /18 rules .* above the 16/,
    );
  });
});

describe('property: a release leaves the route exactly as found', () => {
  const backend = fc.record(
    {
      name: fc.constantFrom('web', 'docs', 'api'),
      port: fc.constantFrom(80, 8080, 443),
      weight: fc.integer({ min: 1, max: 1000 }),
      namespace: fc.constant(NS),
    },
    { requiredKeys: ['name', 'port'] },
  );
  const match = fc.record(
    {
      path: fc.record({ type: fc.constantFrom('PathPrefix', 'Exact'), value: fc.constantFrom('/', '/a', '/b/c') }),
      method: fc.constantFrom('GET', 'POST'),
    },
    { requiredKeys: [] },
  );
  const rule = fc.record(
    {
      matches: fc.array(match, { minLength: 1, maxLength: 3 }),
      filters: fc.constant([
        { type: 'RequestHeaderModifier', requestHeaderModifier: { add: [{ name: 'a', value: 'b' }] } },
      ]),
      backendRefs: fc.oneof(
        fc.array(backend, { minLength: 1, maxLength: 1 }),
        fc.array(
          backend.filter((b) => b.name !== 'web'),
          { minLength: 1, maxLength: 3 },
        ),
      ),
    },
    { requiredKeys: ['backendRefs'] },
  );
  const routes = fc
    .array(rule, { minLength: 1, maxLength: 6 })
    .filter((rules) => rules.some((r) => r.backendRefs.some((b) => b.name === 'web')))
    .map((rules) => route(rules as RouteRule[]));
  const weights = fc.array(fc.constantFrom(0, 0.1, 1, 5, 25, 50, 100), { minLength: 1, maxLength: 5 });
  const routings = fc.constantFrom(undefined, 'keep' as const, { header: { name: 'X-Canary' } }, { cookie: 'c' });

  it('whatever the steps, restoring gives back the rules as written', () => {
    fc.assert(
      fc.property(routes, weights, routings, (original, steps, routing) => {
        let current = original;
        for (const weight of steps) {
          current = written(current, weight, routing);
          const reading = readRoute(current, params);
          expect(reading.drift).toEqual([]);
          expect(reading.achieved).toBeCloseTo(weight, 9);
        }
        expect(restored(current)).toEqual(original.spec.rules);
      }),
      { numRuns: 200 },
    );
  });
});
