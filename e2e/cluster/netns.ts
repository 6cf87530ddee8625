// The local cluster's pod network: a network namespace that owns the pod CIDR, joined to the
// root namespace by a veth pair, so demo pods listen on their real pod IPs and Prometheus, the
// load generator and Traefik reach them directly, the way a node routes to its pods.
//
//   root namespace                                   canaryd-pods-<hash> namespace
//   <pod CIDR> via <ns end> dev <host veth>  ──────▶  local <pod CIDR> dev lo   (owns every pod IP)
//   unreachable 198.18.0.0/15 metric <m>              (no other route: pods reach nothing else)
//
// The /30 of the veth pair is 198.19.<c>.<d>/30 for a pod CIDR 198.18.<c>.<d>/n: outside every
// pod CIDR (those are subranges of 198.18.0.0/16), inside the benchmark range nothing routes, and
// different for two clusters side by side (their pod CIDRs must not overlap, so their network
// addresses differ). The safety net keeps any other 198.18/15 address from following the
// default route; each cluster adds its own copy (own metric) and removes only that one.
//
// Planning (names, addresses, commands) is pure; applyPodNetwork/removePodNetwork run `ip`.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const SAFETY_PREFIX = '198.18.0.0/15';
const STATE_FILE = 'netns.json';

export interface PodNetworkPlan {
  /** Network namespace name (`ip netns`). */
  namespace: string;
  hostVeth: string;
  nsVeth: string;
  podCidr: string;
  /** The /30 of the veth pair, e.g. 198.19.16.0/30. */
  linkCidr: string;
  hostAddress: string;
  nsAddress: string;
  /** Metric of this cluster's own `unreachable 198.18.0.0/15` route. */
  safetyMetric: number;
  /** A pod IP whose route `up` checks before any traffic. */
  probeIp: string;
}

export interface Cidr {
  network: number;
  prefix: number;
}

export function parseIpv4(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
    throw new Error(`${text}: not an IPv4 address`);
  }
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

export const formatIpv4 = (value: number): string =>
  [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');

export function parseCidr(text: string): Cidr {
  const [address, bits] = text.split('/');
  const prefix = Number(bits);
  if (!address || !Number.isInteger(prefix) || prefix < 0 || prefix > 32) throw new Error(`${text}: not an IPv4 CIDR`);
  const network = parseIpv4(address);
  if (network % 2 ** (32 - prefix) !== 0) {
    throw new Error(`${text}: host bits are set (the network address of a /${prefix} ends in zero bits)`);
  }
  return { network, prefix };
}

const sizeOf = (cidr: Cidr): number => 2 ** (32 - cidr.prefix);

export const cidrsOverlap = (a: Cidr, b: Cidr): boolean =>
  a.network < b.network + sizeOf(b) && b.network < a.network + sizeOf(a);

/** Pure: every name and address of one cluster's pod network, derived from its state dir and pod CIDR. */
export function planPodNetwork(stateDir: string, podCidr: string): PodNetworkPlan {
  const cidr = parseCidr(podCidr);
  if (!cidrsOverlap(cidr, parseCidr('198.18.0.0/16')) || cidr.prefix < 16 || cidr.prefix > 28) {
    throw new Error(`pod CIDR ${podCidr}: expected a subrange of 198.18.0.0/16 between /16 and /28`);
  }
  const hash = createHash('sha256').update(resolve(stateDir)).digest('hex').slice(0, 8);
  // 198.18.c.d → 198.19.c.d: the same offset in the neighbouring /16.
  const link = cidr.network + 2 ** 16;
  return {
    namespace: `canaryd-pods-${hash}`,
    // Interface names have at most 15 characters.
    hostVeth: `cdp${hash}h`,
    nsVeth: `cdp${hash}n`,
    podCidr,
    linkCidr: `${formatIpv4(link)}/30`,
    hostAddress: formatIpv4(link + 1),
    nsAddress: formatIpv4(link + 2),
    safetyMetric: 1000 + Number.parseInt(hash.slice(0, 4), 16),
    probeIp: formatIpv4(cidr.network + 1),
  };
}

/** Pure: the `ip` command lines that create the pod network, in order. */
export function setupCommands(plan: PodNetworkPlan): string[][] {
  const ns = plan.namespace;
  return [
    ['netns', 'add', ns],
    ['link', 'add', plan.hostVeth, 'type', 'veth', 'peer', 'name', plan.nsVeth, 'netns', ns],
    ['addr', 'add', `${plan.hostAddress}/30`, 'dev', plan.hostVeth],
    ['link', 'set', plan.hostVeth, 'up'],
    ['-n', ns, 'link', 'set', 'lo', 'up'],
    ['-n', ns, 'addr', 'add', `${plan.nsAddress}/30`, 'dev', plan.nsVeth],
    ['-n', ns, 'link', 'set', plan.nsVeth, 'up'],
    // The namespace owns every address of the pod CIDR: a server binds any pod IP as it is.
    ['-n', ns, 'route', 'add', 'local', plan.podCidr, 'dev', 'lo'],
    ['route', 'add', plan.podCidr, 'via', plan.nsAddress, 'dev', plan.hostVeth],
    ['route', 'add', 'unreachable', SAFETY_PREFIX, 'metric', String(plan.safetyMetric)],
  ];
}

/** Pure: the `ip` command lines that remove it again; each may fail harmlessly when already gone. */
export function teardownCommands(plan: PodNetworkPlan): string[][] {
  return [
    ['route', 'del', plan.podCidr, 'via', plan.nsAddress, 'dev', plan.hostVeth],
    // Deleting one end of a veth pair deletes both.
    ['link', 'del', plan.hostVeth],
    ['netns', 'del', plan.namespace],
    ['route', 'del', 'unreachable', SAFETY_PREFIX, 'metric', String(plan.safetyMetric)],
  ];
}

export interface RouteEntry {
  dst: string;
  dev?: string;
  type?: string;
}

/**
 * Pure: routes of the root namespace that would capture or steal traffic of this plan's
 * addresses (another local cluster with an overlapping pod CIDR, say). Safety nets
 * (`unreachable 198.18.0.0/15`) and the plan's own routes do not count.
 */
export function conflictingRoutes(routes: RouteEntry[], plan: PodNetworkPlan): RouteEntry[] {
  const ours = [parseCidr(plan.podCidr), parseCidr(plan.linkCidr)];
  return routes.filter((route) => {
    if (route.dst === 'default' || route.dev === plan.hostVeth) return false;
    if (route.type === 'unreachable' && route.dst === SAFETY_PREFIX) return false;
    const dst = parseCidr(route.dst.includes('/') ? route.dst : `${route.dst}/32`);
    // Within the benchmark range every overlap is a clash: a narrower route steals our pods'
    // traffic, a wider one (another cluster's pod CIDR) would hand its pods' traffic to us.
    return dst.prefix >= 15 && ours.some((cidr) => cidrsOverlap(cidr, dst));
  });
}

/** Pure: whether `ip route get <probe>` says the packet goes into this plan's veth. */
export function routeGoesIntoVeth(ipRouteGetOutput: string, plan: PodNetworkPlan): boolean {
  const words = ipRouteGetOutput.trim().split(/\s+/);
  const dev = words[words.indexOf('dev') + 1];
  const via = words.includes('via') ? words[words.indexOf('via') + 1] : undefined;
  return words.includes('dev') && dev === plan.hostVeth && via === plan.nsAddress;
}

// ---- side effects ---------------------------------------------------------------------------

const ip = (args: string[]): string =>
  execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });

const stderrOf = (error: unknown): string =>
  String((error as { stderr?: string }).stderr ?? (error as Error).message).trim();

export class PodNetworkUnavailable extends Error {}

/** The state dir's record of what was created, so `down` and the next `up` remove it after a crash. */
export const readRecordedPlan = (stateDir: string): PodNetworkPlan | null => {
  const file = join(stateDir, STATE_FILE);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as PodNetworkPlan) : null;
};

/**
 * Creates the pod network of the plan and checks that a pod IP routes into its veth. Records the
 * plan in the state dir first, so whatever part of it exists is removed by removePodNetwork even
 * if this process dies half-way.
 */
export function applyPodNetwork(stateDir: string, plan: PodNetworkPlan): void {
  if (process.getuid?.() !== 0) {
    throw new PodNetworkUnavailable(
      'the local cluster needs root to create a network namespace for its pods (ip netns add); ' +
        'run it as root, or use the kind cluster instead: e2e/kind/run.sh',
    );
  }
  const routes = JSON.parse(ip(['-j', 'route', 'show'])) as RouteEntry[];
  const conflicts = conflictingRoutes(routes, plan);
  if (conflicts.length > 0) {
    const list = conflicts.map((r) => `${r.type ?? ''} ${r.dst} dev ${r.dev ?? '-'}`.trim()).join('; ');
    throw new Error(
      `pod CIDR ${plan.podCidr} or link ${plan.linkCidr} overlaps existing routes (${list}): another local ` +
        'cluster is probably running; give this one its own range with CANARYD_POD_CIDR (e.g. 198.18.64.0/18)',
    );
  }
  writeFileSync(join(stateDir, STATE_FILE), `${JSON.stringify(plan, null, 2)}\n`);
  const [first, ...rest] = setupCommands(plan);
  try {
    ip(first as string[]);
  } catch (error) {
    removePodNetwork(stateDir, plan);
    throw new PodNetworkUnavailable(
      `could not create the network namespace ${plan.namespace} (${stderrOf(error)}); the local cluster ` +
        'needs `ip netns` (root, CAP_SYS_ADMIN); without it use the kind cluster instead: e2e/kind/run.sh',
    );
  }
  for (const args of rest) {
    try {
      ip(args);
    } catch (error) {
      removePodNetwork(stateDir, plan);
      throw new Error(`pod network: \`ip ${args.join(' ')}\` failed: ${stderrOf(error)}`);
    }
  }
  const route = ip(['route', 'get', plan.probeIp]);
  if (!routeGoesIntoVeth(route, plan)) {
    removePodNetwork(stateDir, plan);
    throw new Error(
      `pod network: a pod IP would not go into the veth ${plan.hostVeth} (ip route get ${plan.probeIp}: ${route.trim()}); refusing to send traffic`,
    );
  }
}

/** `ip route get <pod IP>`: for checks and for `cluster status`. */
export const routeOf = (podIp: string): string => ip(['route', 'get', podIp]).trim();

/**
 * Removes the namespace, the veth pair and the routes of the plan (or of the plan recorded in
 * the state dir), ending any process still inside the namespace first. Idempotent.
 */
export function removePodNetwork(stateDir: string, plan = readRecordedPlan(stateDir)): string[] {
  if (!plan) return [];
  const removed: string[] = [];
  const namespaces = safeIp(['netns', 'list']) ?? '';
  if (namespaces.split('\n').some((line) => line.split(' ')[0] === plan.namespace)) {
    // Only the pod host of this cluster runs in there; a namespace with a process inside
    // outlives `ip netns del` and would keep holding the pod IPs.
    for (const pid of (safeIp(['netns', 'pids', plan.namespace]) ?? '').split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
  for (const args of teardownCommands(plan)) {
    if (safeIp(args) !== null) removed.push(args.slice(0, 2).join(' '));
  }
  rmSync(join(stateDir, STATE_FILE), { force: true });
  return removed;
}

const safeIp = (args: string[]): string | null => {
  try {
    return ip(args);
  } catch {
    // Not there (any more): nothing to remove.
    return null;
  }
};
