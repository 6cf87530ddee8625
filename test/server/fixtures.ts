// CanaryPolicy objects as the API server returns them, with a status as the controller writes it.
import type { Measurement } from '../../src/analysis/index.ts';
import type { ReleaseState } from '../../src/engine/types.ts';
import type { KubeObject } from '../../src/kube/objects.ts';

const template = { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'web:2' }] } };

export const measurement = (overrides: Partial<Measurement> = {}): Measurement => ({
  check: 'success-rate',
  critical: false,
  at: '2026-03-01T10:04:00.000Z',
  query: 'sum(rate(http_requests_total{code!~"5.."}[1m])) / sum(rate(http_requests_total[1m]))',
  value: 0.998,
  stableValue: 0.999,
  sample: 1200,
  verdict: 'pass',
  reason: '0.998 >= 0.99',
  ...overrides,
});

export const runningRelease = (overrides: Partial<ReleaseState> = {}): ReleaseState => ({
  version: 1,
  phase: 'progressing',
  reason: 'step 2 of 4 at 5%',
  stable: { revision: 1, templateHash: 'aaa111', changeCause: 'initial', template },
  current: {
    revision: 2,
    templateHash: 'bbb222',
    changeCause: 'image web:1 -> web:2',
    template,
    origin: 'template',
    noticedAt: '2026-03-01T10:00:00.000Z',
    startedAt: '2026-03-01T10:00:05.000Z',
    stepIndex: 1,
    stepEnteredAt: '2026-03-01T10:05:00.000Z',
    stepStartedAt: '2026-03-01T10:05:10.000Z',
    weight: 5,
    achievedWeight: 5,
    reason: 'holding step 2',
    deadlines: {},
    analysis: { lastRound: 4 },
    operations: [],
  },
  failedRevisions: [],
  history: [
    {
      revision: 1,
      templateHash: 'aaa111',
      changeCause: 'initial',
      startedAt: '2026-02-01T00:00:00.000Z',
      endedAt: '2026-02-01T00:00:00.000Z',
      outcome: 'adopted',
      reason: 'adopted the running Deployment',
      operations: [],
      template,
    },
  ],
  nextRevision: 3,
  ...overrides,
});

export function policyObject(
  name = 'checkout',
  namespace = 'shop',
  options: { status?: unknown; spec?: unknown; annotations?: Record<string, string> } = {},
): KubeObject {
  return {
    apiVersion: 'canaryd.dev/v1alpha1',
    kind: 'CanaryPolicy',
    metadata: {
      name,
      namespace,
      generation: 3,
      ...(options.annotations ? { annotations: options.annotations } : {}),
    },
    spec: options.spec ?? {
      target: { deployment: name, service: name },
      strategy: {
        steps: [
          { weight: 1, hold: '5m' },
          { weight: 5, hold: '10m' },
          { weight: 25, hold: '10m', pause: true },
          { weight: 50, hold: '10m' },
        ],
      },
      analysis: { checks: [{ name: 'success-rate', type: 'successRate', min: 0.99 }] },
    },
    ...(options.status === undefined ? {} : { status: options.status === null ? undefined : options.status }),
  };
}

export const runningStatus = (release: ReleaseState = runningRelease(), measurements = [measurement()]) => ({
  phase: release.phase,
  weight: 5,
  step: '2/4',
  router: 'ingress-nginx',
  routerReason: 'Ingress web routes to Service web',
  message: release.reason,
  observedGeneration: 3,
  conditions: [
    {
      type: 'Ready',
      status: 'True',
      reason: 'Progressing',
      message: 'step 2/4',
      lastTransitionTime: '2026-03-01T10:05:00.000Z',
    },
  ],
  release,
  analysis: { counters: {}, measurements },
  nextStepAt: '2026-03-01T10:15:10.000Z',
  updatedAt: '2026-03-01T10:06:00.000Z',
});
