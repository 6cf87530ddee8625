import { describe, expect, it } from 'vitest';
import type { Ingress } from '../../src/kube/objects.ts';
import { chooseRouter, type IngressClass, isNginxIngress } from '../../src/traffic/choose.ts';
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
    });
  });

  it('auto falls back to replica-ratio when no Ingress routes to the Service, or none is nginx', () => {
    expect(
      chooseRouter({ requested: 'auto', service: 'web', ingresses: [ingress('docs', 'docs', { spec: 'nginx' })] }),
    ).toEqual({
      kind: 'replica-ratio',
      reason: 'auto: no Ingress routes to Service web',
      ingresses: [],
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
