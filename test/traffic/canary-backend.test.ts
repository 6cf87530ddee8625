import { describe, expect, it } from 'vitest';
import type { EndpointSlice, KubeObject } from '../../src/kube/objects.ts';
import { canaryTemplateShare, splitCanaryBackend } from '../../src/traffic/canary-backend.ts';

const pod = (name: string, hash: string) =>
  ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      uid: `uid-${name}`,
      labels: { app: 'web', 'canaryd.dev/track': 'canary', 'pod-template-hash': hash },
    },
  }) as KubeObject & { apiVersion: 'v1'; kind: 'Pod' };

const slice = (
  ...endpoints: Array<{ pod: string; ready?: boolean; terminating?: boolean; uid?: boolean }>
): EndpointSlice => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name: 'web-canary-abcde', labels: { 'kubernetes.io/service-name': 'web-canary' } },
  addressType: 'IPv4',
  endpoints: endpoints.map((e, i) => ({
    addresses: [`198.18.0.${i + 1}`],
    conditions: { ready: e.ready ?? true, serving: true, terminating: e.terminating ?? false },
    targetRef: { kind: 'Pod', name: e.pod, ...(e.uid === false ? {} : { uid: `uid-${e.pod}` }) },
  })),
});

describe('the pods behind the canary Service', () => {
  const pods = [pod('web-canary-v3-a', 'v3'), pod('web-canary-v2-a', 'v2')];
  const current = new Set(['v3']);

  it('splits ready endpoints into the canary template’s pods and the others', () => {
    const backend = splitCanaryBackend([slice({ pod: 'web-canary-v3-a' }, { pod: 'web-canary-v2-a' })], pods, current);
    expect(backend).toEqual({ current: 1, others: ['web-canary-v2-a'] });
  });

  it('leaves out endpoints that are not ready or terminating: the proxy sends them no new request', () => {
    const draining = slice({ pod: 'web-canary-v3-a' }, { pod: 'web-canary-v2-a', ready: false, terminating: true });
    expect(splitCanaryBackend([draining], pods, current)).toEqual({ current: 1, others: [] });
  });

  it('finds pods by name when a slice names no uid, and counts a pod it does not know as another', () => {
    const backend = splitCanaryBackend(
      [slice({ pod: 'web-canary-v3-a', uid: false }, { pod: 'web-canary-v3-new', uid: false })],
      pods,
      current,
    );
    expect(backend).toEqual({ current: 1, others: ['web-canary-v3-new'] });
  });

  it('the canary template’s share is the route’s share of its ready endpoints', () => {
    expect(canaryTemplateShare(1, { current: 1, others: [] })).toBe(1);
    expect(canaryTemplateShare(1, { current: 1, others: ['old-a', 'old-b', 'old-c'] })).toBe(0.25);
    expect(canaryTemplateShare(5, { current: 0, others: ['old-a'] })).toBe(0);
    expect(canaryTemplateShare(5, { current: 0, others: [] })).toBe(5);
  });
});
