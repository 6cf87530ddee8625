// The local cluster's pod addresses. kwok gives pods addresses from 198.18.0.0/15 — a range
// reserved for benchmark networks (RFC 2544) that is never routed — and netns.ts routes the
// cluster's pod CIDR into a network namespace where the demo pods listen on those very IPs.
// Nothing else of 198.18.0.0/15 can leave the machine (an `unreachable` route), and this module
// refuses to aim traffic at anything that is not a pod IP.
export const POD_CIDR = '198.18.0.0/18';

/**
 * The pod CIDR of this cluster: CANARYD_POD_CIDR (any subrange of 198.18.0.0/16) lets two local
 * clusters run side by side, e.g. 198.18.64.0/18 for a second one.
 */
export function podCidr(): string {
  const cidr = process.env.CANARYD_POD_CIDR ?? POD_CIDR;
  if (!/^198\.18\.\d{1,3}\.\d{1,3}\/(1[6-9]|2[0-8])$/.test(cidr)) {
    throw new Error(`CANARYD_POD_CIDR=${cidr}: expected a subrange of 198.18.0.0/16 such as 198.18.64.0/18`);
  }
  return cidr;
}

const POD_PREFIX = '198.18.';

/**
 * Whether traffic may go to this pod IP: in the local cluster only the pod network 198.18.0.0/16;
 * on a kind cluster (e2e/kind/run.sh sets CANARYD_POD_NETWORK=routed) the pod IPs Docker routes.
 */
export const isLocalPodIp = (podIp: string): boolean =>
  process.env.CANARYD_POD_NETWORK === 'routed' || podIp.startsWith(POD_PREFIX);

/** The address to connect to for a pod IP (the IP itself); throws for anything that is not a pod. */
export function podTarget(podIp: string): string {
  if (isLocalPodIp(podIp)) return podIp;
  throw new Error(`pod IP ${podIp} is outside the local pod network 198.18.0.0/16; refusing to send traffic to it`);
}
