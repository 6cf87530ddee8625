import { describe, expect, it } from 'vitest';
import type { Ingress } from '../../src/kube/objects.ts';
import { chooseRouter, type IngressClass, isNginxIngress } from '../../src/traffic/choose.ts';
import type { HTTPRoute } from '../../src/traffic/httproute.ts';
import { createRouter } from '../../src/traffic/routers.ts';
import { FakeKube } from './fake-kube.ts';

const ingress = (
  name: string,
  service: string,
  className?: { spec?: string; legacy?: string },
  canary = false,
): Ingress => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: {
    name,
    namespace: 'shop',
    annotations: {
      ...(className?.legacy === undefined ? {} : { 'kubernetes.io/ingress.class': className.legacy }),
      ...(canary ? { 'nginx.ingress.kubernetes.io/canary': 'true' } : {}),
    },
  },
  spec: {
    ...(className?.spec === undefined ? {} : { ingressClassName: className.spec }),
    rules: [
      {
        host: `${name}.example.com`,
        http: {
          paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: service, port: { number: 80 } } } }],
        },
      },
    ],
  },
});

const ingressClass = (name: string, controller: string, isDefault = false): IngressClass => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'IngressClass',
  metadata: { name, ...(isDefault ? { annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } } : {}) },
  spec: { controller },
});

const httpRoute = (name: string, service: string, weight?: number): HTTPRoute => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'HTTPRoute',
  metadata: { name, namespace: 'shop' },
  spec: {
    parentRefs: [{ name: 'public' }],
    rules: [{ backendRefs: [{ name: service, port: 80, ...(weight === undefined ? {} : { weight }) }] }],
  },
});

describe('chooseRouter with HTTPRoutes', () => {
  it('auto picks gateway-api when an HTTPRoute sends to the Service, and says which', () => {
    const choice = chooseRouter({
      requested: 'auto',
      service: 'web',
      ingresses: [ingress('docs', 'docs', { spec: 'nginx' })],
      httpRoutes: [
        httpRoute('web-b', 'web'),
        httpRoute('web-a', 'web'),
        httpRoute('docs', 'docs'),
        httpRoute('off', 'web', 0),
      ],
    });
    expect(choice).toEqual({
      kind: 'gateway-api',
      reason: 'auto: HTTPRoute web-a, web-b send(s) to Service web',
      ingresses: [],
      httpRoutes: ['web-a', 'web-b'],
    });
  });

  it('auto refuses a Service reached by both an Ingress and an HTTPRoute, naming both', () => {
    for (const className of ['nginx', 'traefik']) {
      expect(() =>
        chooseRouter({
          requested: 'auto',
          service: 'web',
          ingresses: [ingress('web-ing', 'web', { spec: className })],
          httpRoutes: [httpRoute('web-route', 'web')],
        }),
      ).toThrow(
        /^auto: both Ingress web-ing and HTTPRoute web-route route to Service web; .*set spec.target.router to ingress-nginx or gateway-api/,
      );
    }
  });

  it('an explicit router settles the ambiguity', () => {
    const input = {
      service: 'web',
      ingresses: [ingress('web-ing', 'web', { spec: 'nginx' })],
      httpRoutes: [httpRoute('web-route', 'web')],
    };
    expect(chooseRouter({ ...input, requested: 'gateway-api' })).toMatchObject({
      kind: 'gateway-api',
      reason: 'router gateway-api was requested by the policy',
      httpRoutes: ['web-route'],
    });
    expect(chooseRouter({ ...input, requested: 'ingress-nginx' })).toMatchObject({
      kind: 'ingress-nginx',
      httpRoutes: [],
    });
  });

  it('uses the HTTPRoutes the policy names, and refuses ones that are missing or send elsewhere', () => {
    const httpRoutes = [httpRoute('web', 'web'), httpRoute('web-internal', 'web'), httpRoute('docs', 'docs')];
    const base = { requested: 'gateway-api' as const, service: 'web', ingresses: [], httpRoutes };
    expect(chooseRouter({ ...base, namedHttpRoutes: ['web-internal'] }).httpRoutes).toEqual(['web-internal']);
    expect(() => chooseRouter({ ...base, namedHttpRoutes: ['nope'] })).toThrow(
      'target.httpRoutes: HTTPRoute nope does not exist',
    );
    expect(() => chooseRouter({ ...base, namedHttpRoutes: ['docs'] })).toThrow(
      'target.httpRoutes: HTTPRoute docs has no rule that sends to Service web',
    );
    expect(() => chooseRouter({ ...base, httpRoutes: [] })).toThrow(
      /router gateway-api was requested, but no HTTPRoute sends to Service web/,
    );
  });
});

describe('chooseRouter', () => {
  it('auto picks ingress-nginx when an nginx Ingress routes to the Service, and says which', () => {
    const choice = chooseRouter({
      requested: 'auto',
      service: 'web',
      ingresses: [
        ingress('web', 'web', { spec: 'nginx' }),
        ingress('docs', 'docs', { spec: 'nginx' }),
        ingress('web-canary', 'web-canary', { spec: 'nginx' }, true),
      ],
    });
    expect(choice).toEqual({
      kind: 'ingress-nginx',
      reason: 'auto: Ingress web of class nginx route(s) to Service web',
      ingresses: ['web'],
      httpRoutes: [],
    });
  });

  it('auto falls back to replica-ratio when no Ingress routes to the Service, or none is nginx', () => {
    expect(
      chooseRouter({ requested: 'auto', service: 'web', ingresses: [ingress('docs', 'docs', { spec: 'nginx' })] }),
    ).toEqual({
      kind: 'replica-ratio',
      reason: 'auto: no Ingress or HTTPRoute routes to Service web',
      ingresses: [],
      httpRoutes: [],
    });
    expect(
      chooseRouter({ requested: 'auto', service: 'web', ingresses: [ingress('web', 'web', { spec: 'traefik' })] })
        .reason,
    ).toBe('auto: Ingress web route(s) to Service web but not through ingress-nginx');
  });

  it('recognises nginx by legacy annotation, by IngressClass controller, and as the default class', () => {
    const classes = [
      ingressClass('public', 'k8s.io/ingress-nginx', true),
      ingressClass('traefik', 'traefik.io/ingress-controller'),
    ];
    expect(isNginxIngress(ingress('a', 'web', { legacy: 'nginx' }))).toBe(true);
    expect(isNginxIngress(ingress('b', 'web', { spec: 'public' }), classes)).toBe(true);
    expect(isNginxIngress(ingress('c', 'web'), classes)).toBe(true);
    expect(isNginxIngress(ingress('d', 'web'))).toBe(false);
    expect(isNginxIngress(ingress('e', 'web', { spec: 'traefik' }), classes)).toBe(false);
  });

  it('honours an explicit router, with any class for ingress-nginx (other controllers read the same annotations)', () => {
    const ingresses = [ingress('web', 'web', { spec: 'traefik' })];
    expect(chooseRouter({ requested: 'ingress-nginx', service: 'web', ingresses })).toMatchObject({
      kind: 'ingress-nginx',
      ingresses: ['web'],
    });
    expect(chooseRouter({ requested: 'replica-ratio', service: 'web', ingresses })).toMatchObject({
      kind: 'replica-ratio',
      ingresses: [],
    });
    expect(() => chooseRouter({ requested: 'ingress-nginx', service: 'web', ingresses: [] })).toThrow(
      /no Ingress routes to Service web/,
    );
  });

  it('uses the Ingresses the policy names, and refuses ones that are missing or route elsewhere', () => {
    const ingresses = [
      ingress('web', 'web', { spec: 'nginx' }),
      ingress('web-internal', 'web', { spec: 'nginx' }),
      ingress('docs', 'docs', { spec: 'nginx' }),
    ];
    expect(
      chooseRouter({ requested: 'auto', service: 'web', namedIngresses: ['web-internal'], ingresses }).ingresses,
    ).toEqual(['web-internal']);
    expect(() => chooseRouter({ requested: 'auto', service: 'web', namedIngresses: ['nope'], ingresses })).toThrow(
      'target.ingresses: Ingress nope does not exist',
    );
    expect(() => chooseRouter({ requested: 'auto', service: 'web', namedIngresses: ['docs'], ingresses })).toThrow(
      'target.ingresses: Ingress docs does not route to Service web',
    );
  });
});

describe('createRouter', () => {
  it('gives the router of the chosen kind', () => {
    expect(createRouter('ingress-nginx', new FakeKube()).kind).toBe('ingress-nginx');
    expect(createRouter('replica-ratio', new FakeKube()).kind).toBe('replica-ratio');
  });
});
