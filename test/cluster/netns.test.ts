// The pod network's plan: names and addresses derived from the state dir and pod CIDR, the `ip`
// commands that build and remove it, the clash check and the route check before any traffic.
import { describe, expect, it } from 'vitest';
import {
  cidrsOverlap,
  conflictingRoutes,
  parseCidr,
  planPodNetwork,
  routeGoesIntoVeth,
  setupCommands,
  teardownCommands,
} from '../../e2e/cluster/netns.ts';

describe('pod network plan', () => {
  const plan = planPodNetwork('/work/a/.cluster', '198.18.16.0/20');

  it('puts the veth /30 beside the pod CIDR in 198.19/16 and probes the first pod IP', () => {
    expect(plan).toMatchObject({
      podCidr: '198.18.16.0/20',
      linkCidr: '198.19.16.0/30',
      hostAddress: '198.19.16.1',
      nsAddress: '198.19.16.2',
      probeIp: '198.18.16.1',
    });
    expect(plan.namespace).toMatch(/^canaryd-pods-[0-9a-f]{8}$/);
    // Linux interface names have at most 15 characters.
    expect(plan.hostVeth.length).toBeLessThanOrEqual(15);
    expect(plan.nsVeth.length).toBeLessThanOrEqual(15);
    expect(plan.hostVeth).not.toBe(plan.nsVeth);
  });

  it('gives two clusters side by side their own names, link and safety-route metric', () => {
    const other = planPodNetwork('/work/b/.cluster', '198.18.64.0/18');
    expect(other.namespace).not.toBe(plan.namespace);
    expect(other.hostVeth).not.toBe(plan.hostVeth);
    expect(other.safetyMetric).not.toBe(plan.safetyMetric);
    expect(other.linkCidr).toBe('198.19.64.0/30');
    // The same state dir always gives the same names, so a later run finds a crashed one's leftovers.
    expect(planPodNetwork('/work/a/.cluster/', '198.18.16.0/20').namespace).toBe(plan.namespace);
  });

  it('refuses pod CIDRs outside 198.18.0.0/16 or with host bits set', () => {
    expect(() => planPodNetwork('/s', '10.0.0.0/16')).toThrow(/subrange of 198\.18\.0\.0\/16/);
    expect(() => planPodNetwork('/s', '198.18.16.5/20')).toThrow(/host bits are set/);
    expect(() => planPodNetwork('/s', '198.18.0.0/30')).toThrow(/between \/16 and \/28/);
  });

  it('creates the namespace first and the routes last, and removes them in reverse', () => {
    const setup = setupCommands(plan).map((c) => c.join(' '));
    expect(setup[0]).toBe(`netns add ${plan.namespace}`);
    expect(setup).toContain(`-n ${plan.namespace} route add local 198.18.16.0/20 dev lo`);
    expect(setup).toContain(`route add 198.18.16.0/20 via 198.19.16.2 dev ${plan.hostVeth}`);
    expect(setup.at(-1)).toBe(`route add unreachable 198.18.0.0/15 metric ${plan.safetyMetric}`);
    const teardown = teardownCommands(plan).map((c) => c.join(' '));
    expect(teardown).toEqual([
      `route del 198.18.16.0/20 via 198.19.16.2 dev ${plan.hostVeth}`,
      `link del ${plan.hostVeth}`,
      `netns del ${plan.namespace}`,
      // Only this cluster's own safety net: another cluster's stays.
      `route del unreachable 198.18.0.0/15 metric ${plan.safetyMetric}`,
    ]);
  });
});

describe('clash and route checks', () => {
  const plan = planPodNetwork('/work/a/.cluster', '198.18.16.0/20');

  it('flags routes of another cluster that overlap the pod CIDR or the link, in either direction', () => {
    const routes = [
      { dst: 'default', dev: 'eth0' },
      { dst: '192.0.2.0/24', dev: 'eth0' },
      { dst: '198.18.0.0/15', type: 'unreachable' },
      { dst: '198.18.16.0/20', dev: plan.hostVeth },
      { dst: '198.18.0.0/18', dev: 'cdpdeadbeefh' },
      { dst: '198.18.20.0/24', dev: 'cdpcafebabeh' },
      { dst: '198.19.16.0/30', dev: 'cdpfeedfaceh' },
      { dst: '198.18.64.0/18', dev: 'cdp01234567h' },
    ];
    expect(conflictingRoutes(routes, plan).map((r) => r.dst)).toEqual([
      '198.18.0.0/18',
      '198.18.20.0/24',
      '198.19.16.0/30',
    ]);
  });

  it('accepts `ip route get` only when the pod IP goes via the namespace end of this veth', () => {
    expect(
      routeGoesIntoVeth(`198.18.16.1 via 198.19.16.2 dev ${plan.hostVeth} src 198.19.16.1 uid 0 \n    cache`, plan),
    ).toBe(true);
    expect(routeGoesIntoVeth('198.18.16.1 via 192.0.2.1 dev eth0 src 192.0.2.2 uid 0', plan)).toBe(false);
    expect(routeGoesIntoVeth('unreachable 198.18.16.1 table main', plan)).toBe(false);
    expect(routeGoesIntoVeth(`198.18.16.1 dev ${plan.hostVeth} src 198.19.16.1`, plan)).toBe(false);
  });

  it('computes CIDR overlap', () => {
    expect(cidrsOverlap(parseCidr('198.18.0.0/18'), parseCidr('198.18.16.0/20'))).toBe(true);
    expect(cidrsOverlap(parseCidr('198.18.0.0/20'), parseCidr('198.18.16.0/20'))).toBe(false);
  });
});
