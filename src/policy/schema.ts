// The CanaryPolicy language. This zod schema is the single source of truth: the TypeScript
// types, the CRD's OpenAPI schema (deploy/crd.yaml) and the field reference (docs/policy.md)
// are all generated from it.
import { z } from 'zod';
import { NOTIFICATION_TYPES } from '../notify/events.ts';
import { hooksSpec } from './hooks-schema.ts';
import { DURATION_PATTERN, dnsName, duration, secretKeyRef } from './schema-parts.ts';

export { DURATION_PATTERN, duration, secretKeyRef };

export const API_GROUP = 'canaryd.dev';
export const API_VERSION = 'canaryd.dev/v1alpha1';
export const KIND = 'CanaryPolicy';

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

export const stepSpec = z
  .strictObject({
    weight: z
      .number()
      .min(0)
      .max(100)
      .meta({ description: 'Percent of traffic sent to the canary during this step (0-100, fractions allowed: 0.1).' }),
    hold: duration
      .default('5m')
      .meta({ description: 'How long the step holds (and is analysed) before it may advance.' }),
    pause: z
      .boolean()
      .default(false)
      .meta({ description: 'Stop at this step until a person runs `kubectl canary resume` or `promote`.' }),
    approval: z.boolean().optional().meta({
      description:
        "Before this step's weight is set, wait for `kubectl canary approve` (or POST .../approve) by someone with the verb approve on canarypolicies (docs/hooks.md).",
    }),
  })
  .meta({ description: 'One traffic step of a canary release.' });

export const strategySpec = z
  .strictObject({
    type: z.enum(['canary', 'blueGreen']).default('canary').meta({
      description: 'canary: weighted steps. blueGreen: a full-size new version, one switch, instant switch back.',
    }),
    steps: z
      .array(stepSpec)
      .min(1)
      .default([
        { weight: 1, hold: '5m', pause: false },
        { weight: 5, hold: '5m', pause: false },
        { weight: 25, hold: '5m', pause: false },
        { weight: 50, hold: '5m', pause: false },
      ])
      .meta({
        description: 'Canary steps with strictly increasing weights. After the last step the release is promoted.',
      }),
    allowLargeFirstStep: z
      .boolean()
      .default(false)
      .meta({ description: 'Permit a first step above 5 %. Off by default: a canary starts small.' }),
    blueGreen: z
      .strictObject({
        previewHold: duration.default('5m').meta({
          description: 'How long the full-size new version is analysed (testers only) before the switch.',
        }),
        switchBackHold: duration
          .default('10m')
          .meta({ description: 'After the switch, the old version is kept this long for an instant switch back.' }),
      })
      .default({ previewHold: '5m', switchBackHold: '10m' })
      .meta({ description: 'Options of the blueGreen strategy.' }),
  })
  .meta({ description: 'How a new revision is released.' });

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

const cronWindow = z.strictObject({
  cron: z.string().min(1).meta({ description: 'Cron expression (5 fields, minute first) for when the window opens.' }),
  duration: duration.meta({ description: 'How long the window stays open after each opening.' }),
});

const blackout = z.strictObject({
  start: z.iso.datetime({ offset: true }).optional().meta({ description: 'Start of a one-off blackout (RFC 3339).' }),
  end: z.iso.datetime({ offset: true }).optional().meta({ description: 'End of a one-off blackout (RFC 3339).' }),
  cron: z.string().min(1).optional().meta({ description: 'Cron expression for a recurring blackout.' }),
  duration: duration.optional().meta({ description: 'Length of each recurring blackout.' }),
  reason: z.string().optional().meta({ description: 'Shown when a release holds because of this blackout.' }),
});

export const scheduleSpec = z
  .strictObject({
    timeZone: z.string().default('UTC').meta({ description: 'IANA time zone the cron expressions are read in.' }),
    startWindows: z
      .array(cronWindow)
      .default([])
      .meta({ description: 'When a new release may start. Empty: any time.' }),
    advanceWindows: z
      .array(cronWindow)
      .default([])
      .meta({ description: 'When steps may advance. Empty: any time. Outside, a release holds its weight.' }),
    blackouts: z.array(blackout).default([]).meta({ description: 'Periods in which nothing starts or advances.' }),
  })
  .meta({ description: 'When releases start and advance. Analysis and rollback never wait for a window.' });

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

export const timeoutsSpec = z
  .strictObject({
    canaryReady: duration
      .default('10m')
      .meta({ description: 'Canary pods must be ready within this, or the release rolls back.' }),
    promotion: duration
      .default('15m')
      .meta({ description: 'The stable roll to the new template must finish within this.' }),
    release: duration.default('24h').meta({ description: 'A whole release must end within this.' }),
  })
  .meta({ description: 'Every wait has a deadline; passing one rolls back and says why.' });

export const trafficSpec = z
  .strictObject({
    drainDelay: duration.default('5s').meta({
      description:
        'After the canary weight is 0 (promotion, rollback, abort), wait this long before removing the canary, so the data plane stops sending to it first. "0s" removes it at once.',
    }),
  })
  .meta({ description: 'How traffic leaves the canary at the end of a release.' });

export const notificationsSpec = z
  .strictObject({
    receivers: z.array(dnsName).optional().meta({
      description:
        "Receivers (by name) defined in the controller's notification settings. Default: the settings' defaults.receivers; [] turns notifications off for this policy.",
    }),
    events: z.array(z.enum(NOTIFICATION_TYPES)).optional().meta({
      description:
        "Which release events are sent. Default: the settings' defaults.events (every event unless changed).",
    }),
  })
  .meta({
    description:
      'Who is told about this release (Slack, Teams, webhooks). Receivers and their URLs and secrets live in the controller settings and Kubernetes Secrets, never here. See docs/notifications.md.',
  });

export const canaryPolicySpec = z.strictObject({
  target: targetSpec,
  strategy: strategySpec.default({
    type: 'canary',
    steps: [
      { weight: 1, hold: '5m', pause: false },
      { weight: 5, hold: '5m', pause: false },
      { weight: 25, hold: '5m', pause: false },
      { weight: 50, hold: '5m', pause: false },
    ],
    allowLargeFirstStep: false,
    blueGreen: { previewHold: '5m', switchBackHold: '10m' },
  }),
  routing: routingSpec.optional(),
  hooks: hooksSpec.optional(),
  replicaRatio: replicaRatioSpec.default({ surgeBudget: 0 }),
  traffic: trafficSpec.default({ drainDelay: '5s' }),
  schedule: scheduleSpec.default({ timeZone: 'UTC', startWindows: [], advanceWindows: [], blackouts: [] }),
  analysis: analysisSpec.default({
    metrics: 'ingress-nginx',
    interval: '30s',
    failureLimit: 2,
    inconclusiveLimit: 3,
    onInconclusive: 'pause',
    checks: [],
  }),
  timeouts: timeoutsSpec.default({ canaryReady: '10m', promotion: '15m', release: '24h' }),
  notifications: notificationsSpec.optional(),
});

export const canaryPolicy = z.strictObject({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal(KIND),
  metadata: z.looseObject({
    name: dnsName.meta({ description: 'Name of the policy.' }),
    namespace: dnsName
      .default('default')
      .meta({ description: 'Namespace of the policy and of the Deployment it manages.' }),
  }),
  spec: canaryPolicySpec,
});

export type CanaryPolicy = z.output<typeof canaryPolicy>;
export type CanaryPolicyInput = z.input<typeof canaryPolicy>;
export type CanaryPolicySpec = z.output<typeof canaryPolicySpec>;
export type StepSpec = z.output<typeof stepSpec>;
export type ScheduleSpec = z.output<typeof scheduleSpec>;
export type AnalysisSpec = z.output<typeof analysisSpec>;
export type DataPlaneMetrics = z.output<typeof dataPlaneMetrics>;
export type CheckSpec = z.output<typeof checkSpec>;
export type PrometheusSpec = z.output<typeof prometheusSpec>;
export type RouterKind = z.output<typeof routerKind>;
export type RoutingSpec = z.output<typeof routingSpec>;
export type TimeoutsSpec = z.output<typeof timeoutsSpec>;
export type TrafficSpec = z.output<typeof trafficSpec>;
export type NotificationsSpec = z.output<typeof notificationsSpec>;
export type { GateHookSpec, HookName, HooksSpec, NoticeHookSpec } from './hooks-schema.ts';
