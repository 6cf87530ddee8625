import { describe, expect, it } from 'vitest';
import type { EndpointSlice } from '../../src/kube/objects.ts';
import { endpointShare, readyEndpoints } from '../../src/traffic/share.ts';

type Endpoint = NonNullable<EndpointSlice['endpoints']>[number];

const endpoint = (pod: string, address: string, conditions: Endpoint['conditions'] = { ready: true }): Endpoint => ({
  addresses: [address],
  conditions,
  targetRef: { kind: 'Pod', name: pod, uid: `uid-${pod}` },
});

const slice = (name: string, addressType: string, endpoints: Endpoint[]): EndpointSlice => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name, namespace: 'shop', labels: { 'kubernetes.io/service-name': 'web' } },
  addressType,
  endpoints,
});

const isCanary = (e: Endpoint) => e.targetRef?.name?.startsWith('web-canary') === true;

describe('endpointShare', () => {
  it('is the canary share of ready endpoints', () => {
    const slices = [
      slice('a', 'IPv4', [
        endpoint('web-1', '10.0.0.1'),
        endpoint('web-2', '10.0.0.2'),
        endpoint('web-3', '10.0.0.3'),
        endpoint('web-canary-1', '10.0.0.9'),
      ]),
    ];
    expect(endpointShare(slices, isCanary)).toEqual({ canaryReady: 1, stableReady: 3, share: 25 });
  });

  it('ignores endpoints that are not ready or terminating, and treats an unknown ready condition as ready', () => {
    const slices = [
      slice('a', 'IPv4', [
        endpoint('web-1', '10.0.0.1', {}),
        endpoint('web-2', '10.0.0.2', { ready: false }),
        endpoint('web-canary-1', '10.0.0.9', { ready: false, serving: true, terminating: true }),
        endpoint('web-canary-2', '10.0.0.8', { ready: true }),
      ]),
    ];
    expect(endpointShare(slices, isCanary)).toEqual({ canaryReady: 1, stableReady: 1, share: 50 });
  });

  it('counts a pod once when it appears in two slices (dual-stack, or during a rebalance)', () => {
    const slices = [
      slice('v4', 'IPv4', [endpoint('web-1', '10.0.0.1'), endpoint('web-canary-1', '10.0.0.9')]),
      slice('v6', 'IPv6', [endpoint('web-1', 'fd00::1'), endpoint('web-canary-1', 'fd00::9')]),
      slice('old', 'IPv4', [endpoint('web-1', '10.0.0.1')]),
    ];
    expect(readyEndpoints(slices)).toHaveLength(2);
    expect(endpointShare(slices, isCanary).share).toBe(50);
  });

  it('is 0 when nothing is ready', () => {
    expect(endpointShare([], isCanary)).toEqual({ canaryReady: 0, stableReady: 0, share: 0 });
  });
});
