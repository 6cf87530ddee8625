import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { Ingress, IngressBackend } from '../../src/kube/objects.ts';
import {
  assertNoCanaryConflict,
  buildCanaryIngress,
  routesOf,
  testerAnnotations,
  testerRoutingProblems,
  weightAnnotations,
} from '../../src/traffic/canary-ingress.ts';
import { isTrafficError } from '../../src/traffic/errors.ts';

interface Fixture {
  service: string;
  ingress: Ingress;
  expect: { routes?: string[]; tls?: string[]; class?: string; error?: string };
}

const dir = join(import.meta.dirname, '../fixtures/ingresses');
const corpus = readdirSync(dir)
  .filter((file) => file.endsWith('.yaml'))
  .map((file) => ({ file, fixture: parse(readFileSync(join(dir, file), 'utf8')) as Fixture }));

const port = (backend: IngressBackend | undefined) =>
  String(backend?.service?.port?.number ?? backend?.service?.port?.name ?? '');

const summary = (ingress: Ingress): string[] => [
  ...(ingress.spec.defaultBackend === undefined ? [] : [`* (default backend) - ${port(ingress.spec.defaultBackend)}`]),
  ...(ingress.spec.rules ?? []).flatMap((rule) =>
    (rule.http?.paths ?? []).map((p) => `${rule.host ?? '*'} ${p.path ?? '/'} ${p.pathType} ${port(p.backend)}`),
  ),
];

const build = (fixture: Fixture, extra: Partial<Parameters<typeof buildCanaryIngress>[0]> = {}) =>
  buildCanaryIngress({
    stable: fixture.ingress,
    stableService: fixture.service,
    canaryService: `${fixture.service}-canary`,
    policy: 'shop/web',
    ...extra,
  });

describe('buildCanaryIngress over the corpus of real-world Ingress shapes', () => {
  it('has a corpus to read', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(8);
  });

  for (const { file, fixture } of corpus) {
    if (fixture.expect.error !== undefined) {
      it(`${file}: refuses with "${fixture.expect.error}"`, () => {
        expect(() => build(fixture)).toThrow(fixture.expect.error);
      });
      continue;
    }
    it(`${file}: copies exactly the routes to the stable Service, pointed at the canary Service`, () => {
      const before = structuredClone(fixture.ingress);
      const canary = build(fixture);
      expect(fixture.ingress).toEqual(before); // the user's object is not touched
      expect(summary(canary)).toEqual(fixture.expect.routes);
      const backends = [
        canary.spec.defaultBackend,
        ...(canary.spec.rules ?? []).flatMap((r) => r.http?.paths ?? []).map((p) => p.backend),
      ];
      for (const backend of backends.filter((b) => b !== undefined)) {
        expect(backend.service?.name).toBe(`${fixture.service}-canary`);
      }
      // ingress-nginx merges a canary only where host, path and pathType match the stable Ingress.
      const stableRoutes = new Set(summary(fixture.ingress));
      for (const route of summary(canary)) expect(stableRoutes).toContain(route);
    });

    it(`${file}: keeps TLS for its hosts and the ingress class, and carries only canaryd's metadata`, () => {
      const canary = build(fixture);
      expect(canary.metadata.name).toBe(`${fixture.ingress.metadata.name}-canary`);
      expect(canary.metadata.namespace).toBe(fixture.ingress.metadata.namespace);
      expect((canary.spec.tls ?? []).flatMap((entry) => entry.hosts ?? [''])).toEqual(fixture.expect.tls);
      const legacy = canary.metadata.annotations?.['kubernetes.io/ingress.class'];
      expect(legacy === undefined ? canary.spec.ingressClassName : `legacy ${legacy}`).toBe(fixture.expect.class);
      expect(canary.metadata.labels).toEqual({ 'app.kubernetes.io/managed-by': 'canaryd' });
      expect(canary.metadata.ownerReferences).toBeUndefined();
      expect(canary.metadata.annotations).toEqual({
        ...(legacy === undefined ? {} : { 'kubernetes.io/ingress.class': legacy }),
        'nginx.ingress.kubernetes.io/canary': 'true',
        'nginx.ingress.kubernetes.io/canary-weight': '0',
        'nginx.ingress.kubernetes.io/canary-weight-total': '100',
        'canaryd.dev/weight': '0',
        'canaryd.dev/policy': 'shop/web',
        'canaryd.dev/canary-of': fixture.ingress.metadata.name,
      });
    });
  }
});

const simple = corpus.find((entry) => entry.file === 'simple.yaml')!.fixture;

describe('canary Ingress annotations', () => {
  it('writes sub-percent weights exactly and the tester routing', () => {
    const canary = build(simple, {
      weight: 0.1,
      routing: { header: { name: 'X-Canary', value: 'yes' }, cookie: 'canary_tester' },
    });
    expect(canary.metadata.annotations).toMatchObject({
      'nginx.ingress.kubernetes.io/canary-weight': '1',
      'nginx.ingress.kubernetes.io/canary-weight-total': '1000',
      'nginx.ingress.kubernetes.io/canary-by-header': 'X-Canary',
      'nginx.ingress.kubernetes.io/canary-by-header-value': 'yes',
      'nginx.ingress.kubernetes.io/canary-by-cookie': 'canary_tester',
    });
    expect(canary.metadata.annotations).not.toHaveProperty('nginx.ingress.kubernetes.io/canary-by-header-pattern');
  });

  it('carries header (by pattern) and cookie routing together with a weighted share', () => {
    const canary = build(simple, {
      weight: 25,
      routing: { header: { name: 'X-Tester', pattern: '^(alice|bob)$' }, cookie: 'tester' },
    });
    expect(canary.metadata.annotations).toMatchObject({
      'nginx.ingress.kubernetes.io/canary': 'true',
      'nginx.ingress.kubernetes.io/canary-weight': '25',
      'nginx.ingress.kubernetes.io/canary-weight-total': '100',
      'nginx.ingress.kubernetes.io/canary-by-header': 'X-Tester',
      'nginx.ingress.kubernetes.io/canary-by-header-pattern': '^(alice|bob)$',
      'nginx.ingress.kubernetes.io/canary-by-cookie': 'tester',
    });
    expect(canary.metadata.annotations).not.toHaveProperty('nginx.ingress.kubernetes.io/canary-by-header-value');
  });

  it('weight writes and tester writes touch disjoint keys, so neither undoes the other', () => {
    const weightKeys = Object.keys(weightAnnotations(5));
    const testerKeys = Object.keys(testerAnnotations({ header: { name: 'X-Canary', value: 'always' } }));
    expect(weightKeys.filter((key) => testerKeys.includes(key))).toEqual([]);
    expect(testerAnnotations(undefined)).toEqual(Object.fromEntries(testerKeys.map((key) => [key, null])));
  });

  it('refuses tester routing that ingress-nginx would ignore or misread', () => {
    expect(testerRoutingProblems({ header: { name: 'X-Canary', value: 'a', pattern: 'b' } })).toEqual([
      'routing.header: set value or pattern, not both (ingress-nginx ignores the pattern when a value is set)',
    ]);
    expect(testerRoutingProblems({ header: { name: 'X Canary' }, cookie: 'a;b' })).toHaveLength(2);
    expect(testerRoutingProblems({ header: { name: 'X-Canary', pattern: '(unclosed' } })[0]).toMatch(
      /not a regular expression/,
    );
    expect(() => build(simple, { routing: { header: { name: 'X Canary' } } })).toThrow(/not a valid header name/);
    expect(() => build(simple, { weight: 0.00001 })).toThrow(/more than 3 decimals/);
  });
});

describe('conflicts with other canary Ingresses', () => {
  const canaryOf = (name: string, host: string, path: string, canaryAnnotation = 'true'): Ingress => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, namespace: 'shop', annotations: { 'nginx.ingress.kubernetes.io/canary': canaryAnnotation } },
    spec: {
      rules: [
        {
          host,
          http: { paths: [{ path, pathType: 'Prefix', backend: { service: { name: 'x', port: { number: 80 } } } }] },
        },
      ],
    },
  });

  it('refuses when another canary already covers the same host and path, naming it', () => {
    const candidate = build(simple);
    let caught: unknown;
    try {
      assertNoCanaryConflict(candidate, [canaryOf('flagger-web-canary', 'shop.example.com', '/')]);
    } catch (error) {
      caught = error;
    }
    expect(isTrafficError(caught, 'IngressConflict')).toBe(true);
    expect((caught as Error).message).toMatch(
      /canary Ingress flagger-web-canary already covers host shop.example.com path \//,
    );
  });

  it('allows other paths, non-canary Ingresses on the same path, and our own canary from an earlier attempt', () => {
    const candidate = build(simple);
    expect(() =>
      assertNoCanaryConflict(candidate, [
        canaryOf('other-canary', 'shop.example.com', '/api'),
        canaryOf('other-host-canary', 'blog.example.com', '/'),
        canaryOf('web', 'shop.example.com', '/', 'false'),
        { ...candidate },
      ]),
    ).not.toThrow();
  });

  it('lists the routes of an Ingress, optionally only those to one Service', () => {
    const mixed = corpus.find((entry) => entry.file === 'mixed-backends.yaml')!.fixture.ingress;
    expect(routesOf(mixed)).toHaveLength(5); // every path, the resource backend too
    expect(routesOf(mixed, 'web')).toEqual([
      { host: 'api.example.com', path: '/' },
      { host: 'api.example.com', path: '/v2/orders' },
    ]);
  });
});
