// spec.target, spec.routing, spec.replicaRatio and spec.traffic: which Service and routes carry
// the canary, which router splits the traffic, and how testers and the last requests reach it.
// Kept apart from schema.ts, which imports it.
import { z } from 'zod';
import { dnsName, duration } from './schema-parts.ts';

export const routerKind = z.enum(['auto', 'ingress-nginx', 'gateway-api', 'replica-ratio']).meta({
  description:
    'How traffic is split. auto picks ingress-nginx when an Ingress of class nginx routes to the Service, gateway-api when an HTTPRoute does, else replica-ratio; it refuses a Service reached by both an Ingress and an HTTPRoute.',
});

export const targetSpec = z
  .strictObject({
    deployment: dnsName.meta({
      description: 'The Deployment canaryd manages. It stays yours: never renamed or cloned.',
    }),
    service: dnsName.meta({ description: 'The Service in front of the Deployment.' }),
    ingresses: z
      .array(dnsName)
      .optional()
      .meta({ description: 'Ingresses to make canaries of. Default: every Ingress that routes to the Service.' }),
    httpRoutes: z.array(dnsName).optional().meta({
      description:
        'HTTPRoutes (gateway.networking.k8s.io/v1) to weigh the canary in (gateway-api). Default: every HTTPRoute in the namespace with a rule that sends to the Service.',
    }),
    router: routerKind.default('auto'),
  })
  .meta({ description: 'What is released and how traffic reaches it.' });

export const headerRouting = z.strictObject({
  name: z.string().min(1).meta({ description: 'Request header that selects the canary (canary-by-header).' }),
  value: z.string().min(1).optional().meta({ description: 'Exact header value that selects the canary.' }),
  pattern: z
    .string()
    .min(1)
    .optional()
    .meta({ description: 'Regular expression on the header value (canary-by-header-pattern).' }),
});

export const routingSpec = z
  .strictObject({
    header: headerRouting.optional(),
    cookie: z.string().min(1).optional().meta({ description: 'Cookie name; value "always" selects the canary.' }),
    testersFirst: duration.optional().meta({
      description:
        'Optional first step: for this long only header/cookie testers reach the canary (weight 0), before the weighted steps.',
    }),
  })
  .meta({
    description:
      'Header and cookie routing for testers (ingress-nginx and gateway-api): on at every step, beside the weighted share.',
  });

export const replicaRatioSpec = z
  .strictObject({
    surgeBudget: z
      .number()
      .int()
      .min(0)
      .max(100)
      .default(0)
      .meta({ description: 'Extra stable replicas canaryd may add to approach a small share more closely.' }),
    maxShareError: z.number().min(0).max(100).optional().meta({
      description: 'Reject (plan warns) when the achievable share differs from a step weight by more points than this.',
    }),
  })
  .meta({ description: 'Options of the replica-ratio router.' });

export const trafficSpec = z
  .strictObject({
    drainDelay: duration.default('5s').meta({
      description:
        'After the canary weight is 0 (promotion, rollback, abort), wait this long before removing the canary, so the data plane stops sending to it first. "0s" removes it at once.',
    }),
  })
  .meta({ description: 'How traffic leaves the canary at the end of a release.' });

export type RouterKind = z.output<typeof routerKind>;
export type RoutingSpec = z.output<typeof routingSpec>;
export type TrafficSpec = z.output<typeof trafficSpec>;
