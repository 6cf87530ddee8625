// The CanaryPolicy language. This zod schema is the single source of truth: the TypeScript
// types, the CRD's OpenAPI schema (deploy/crd.yaml) and the field reference (docs/policy.md)
// are all generated from it. This file composes the top-level policy from one part per section
// of the spec (*-schema.ts) and re-exports the parts, so importers need only this module.
import { z } from 'zod';
import { analysisSpec } from './analysis-schema.ts';
import { hooksSpec } from './hooks-schema.ts';
import { notificationsSpec } from './notifications-schema.ts';
import { scheduleSpec } from './schedule-schema.ts';
import { dnsName } from './schema-parts.ts';
import { strategySpec, timeoutsSpec } from './strategy-schema.ts';
import { replicaRatioSpec, routingSpec, targetSpec, trafficSpec } from './traffic-schema.ts';

export { analysisSpec, checkSpec, dataPlaneMetrics, prometheusSpec, sequentialCounts } from './analysis-schema.ts';
export { notificationsSpec } from './notifications-schema.ts';
export { scheduleSpec } from './schedule-schema.ts';
export { DURATION_PATTERN, duration, secretKeyRef } from './schema-parts.ts';
export { stepSpec, strategySpec, timeoutsSpec } from './strategy-schema.ts';
export { headerRouting, replicaRatioSpec, routerKind, routingSpec, targetSpec, trafficSpec } from './traffic-schema.ts';

export const API_GROUP = 'canaryd.dev';
export const API_VERSION = 'canaryd.dev/v1alpha1';
export const KIND = 'CanaryPolicy';

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
export type { AnalysisSpec, CheckSpec, DataPlaneMetrics, PrometheusSpec } from './analysis-schema.ts';
export type { GateHookSpec, HookName, HooksSpec, NoticeHookSpec } from './hooks-schema.ts';
export type { NotificationsSpec } from './notifications-schema.ts';
export type { ScheduleSpec } from './schedule-schema.ts';
export type { StepSpec, TimeoutsSpec } from './strategy-schema.ts';
export type { RouterKind, RoutingSpec, TrafficSpec } from './traffic-schema.ts';
