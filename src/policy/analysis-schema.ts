// spec.analysis: where Prometheus is, whose data-plane metrics the built-in checks read, and the
// SLO checks (threshold, relative and sequential) that gate every step. Kept apart from
// schema.ts, which imports it; docs/analysis.md explains each check type.
import { z } from 'zod';
import { duration, secretKeyRef } from './schema-parts.ts';

export const prometheusSpec = z.strictObject({
  address: z.url().meta({ description: 'Prometheus base URL, e.g. http://prometheus.monitoring:9090' }),
  timeout: duration.default('5s').meta({ description: 'Deadline of one Prometheus query.' }),
  bearerTokenSecretRef: secretKeyRef
    .optional()
    .meta({ description: 'Secret holding a bearer token (key default "token").' }),
  basicAuthSecretRef: secretKeyRef.optional().meta({ description: 'Secret with keys "username" and "password".' }),
  insecureSkipVerify: z.boolean().default(false).meta({ description: 'Skip TLS verification (testing only).' }),
  caSecretRef: secretKeyRef.optional().meta({ description: 'Secret holding a CA bundle (key default "ca.crt").' }),
});

export const sequentialCounts = z
  .strictObject({
    canaryFailed: z
      .string()
      .min(1)
      .meta({ description: 'PromQL: failed (or slow) canary requests over {{interval}}.' }),
    canaryTotal: z.string().min(1).meta({ description: 'PromQL: all canary requests over {{interval}}.' }),
    stableFailed: z
      .string()
      .min(1)
      .meta({ description: 'PromQL: failed (or slow) stable requests over {{interval}}.' }),
    stableTotal: z.string().min(1).meta({ description: 'PromQL: all stable requests over {{interval}}.' }),
  })
  .meta({
    description:
      'Custom count queries for a sequential check, instead of the built-in data-plane ones. {{interval}} is the range since the evidence started: use increase(...[{{interval}}]).',
  });

/** Fields only `type: sequential` checks take. No zod defaults: the validator tells set from unset. */
const sequentialFields = {
  metric: z.enum(['errorRate', 'latency']).optional().meta({
    description:
      'sequential: errorRate compares the share of 5xx answers; latency the share of requests slower than `slowerThan`. Default errorRate.',
  }),
  delta: z.number().min(0).max(100).optional().meta({
    description:
      'sequential: tolerated excess of the canary over stable, in percentage points of the share compared. Default 0.1 (errorRate) or 1 (latency).',
  }),
  alpha: z.number().gt(0).lt(0.5).optional().meta({
    description:
      'sequential: bound on the probability of each wrong conclusion (a false rollback; a false early advance) over the whole release, however often it looks. Default 0.05.',
  }),
  advanceOnEvidence: z.boolean().optional().meta({
    description:
      'sequential: once "no regression beyond delta" is proven, the step advances at once, before its hold ends. Default false.',
  }),
  holdWhileUndecided: z.boolean().optional().meta({
    description:
      'sequential: while neither conclusion is proven, hold the step (true) or let it advance on its hold like a passing check (false: the check only rolls back a proven regression, and still advances early with advanceOnEvidence). Default true; delta 0 needs false.',
  }),
  slowerThan: z.number().gt(0).optional().meta({
    description:
      'sequential latency: seconds; a request slower than this counts as slow. Must be a bucket bound (le) of the duration histogram.',
  }),
  counts: sequentialCounts.optional(),
};

export const checkSpec = z
  .strictObject({
    name: z
      .string()
      .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, { message: 'expected a lowercase name such as "error-rate"' })
      .meta({ description: 'Names the check in status, events and metrics.' }),
    type: z.enum(['successRate', 'latency', 'custom', 'sequential']).meta({
      description:
        "successRate and latency are built-in checks on the data plane's metrics (spec.analysis.metrics), canary vs stable; custom runs your PromQL; sequential compares canary with stable by an anytime-valid test on request counts (docs/analysis.md).",
    }),
    quantile: z.number().gt(0).lt(1).default(0.99).meta({ description: 'Latency quantile (latency checks).' }),
    query: z.string().optional().meta({ description: 'Custom PromQL for the canary value, with {{variables}}.' }),
    stableQuery: z.string().optional().meta({ description: 'Custom PromQL for the stable value (relative checks).' }),
    sampleQuery: z.string().optional().meta({ description: 'Custom PromQL counting canary samples in the window.' }),
    min: z.number().optional().meta({ description: 'Fail when the canary value is below this.' }),
    max: z.number().optional().meta({ description: 'Fail when the canary value is above this.' }),
    relative: z
      .strictObject({
        maxAbove: z.number().min(0).optional().meta({ description: 'Fail when canary > stable + maxAbove.' }),
        maxBelow: z.number().min(0).optional().meta({ description: 'Fail when canary < stable - maxBelow.' }),
        maxRatio: z.number().gt(0).optional().meta({ description: 'Fail when canary > stable × maxRatio.' }),
      })
      .optional(),
    minSample: z
      .number()
      .int()
      .min(0)
      .default(50)
      .meta({ description: 'Fewer canary requests (samples) than this in the window makes the result inconclusive.' }),
    critical: z.boolean().default(false).meta({ description: 'Roll back on the first failure of this check.' }),
    ...sequentialFields,
  })
  .meta({ description: 'One SLO check evaluated every analysis interval.' });

export const dataPlaneMetrics = z.enum(['ingress-nginx', 'traefik']).meta({
  description:
    "Whose metrics the built-in successRate and latency checks read: the ingress-nginx controller's (nginx_ingress_controller_*), or Traefik's per-backend series (traefik_service_*, for its ingress-nginx or Gateway API provider). See docs/analysis.md.",
});

export const analysisSpec = z
  .strictObject({
    prometheus: prometheusSpec.optional(),
    metrics: dataPlaneMetrics.default('ingress-nginx'),
    interval: duration.default('30s').meta({ description: 'How often the checks are evaluated.' }),
    window: duration.optional().meta({
      description:
        "How far back a round counts ({{interval}}), cut at the release's and the step's start. Default: the interval, at least 1m.",
    }),
    failureLimit: z
      .number()
      .int()
      .min(0)
      .default(2)
      .meta({ description: 'Failed measurements tolerated; one more rolls back.' }),
    inconclusiveLimit: z
      .number()
      .int()
      .min(0)
      .default(3)
      .meta({ description: 'Inconclusive measurements (no data, too few samples) in a row before onInconclusive.' }),
    onInconclusive: z
      .enum(['pause', 'rollback'])
      .default('pause')
      .meta({ description: 'What happens after inconclusiveLimit: hold for a person, or roll back. Never promote.' }),
    checks: z
      .array(checkSpec)
      .default([])
      .meta({ description: 'The SLO checks. Empty: steps advance on holds alone.' }),
  })
  .meta({ description: 'Prometheus SLO checks that gate every step.' });

export type AnalysisSpec = z.output<typeof analysisSpec>;
export type DataPlaneMetrics = z.output<typeof dataPlaneMetrics>;
export type CheckSpec = z.output<typeof checkSpec>;
export type PrometheusSpec = z.output<typeof prometheusSpec>;
