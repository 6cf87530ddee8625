// The local cluster's pod network. The apiserver refuses loopback addresses in EndpointSlices
// ("may not be in the loopback range"), so kwok gives pods addresses from 198.18.0.0/15 — a range
// reserved for benchmark networks (RFC 2544) that is never routed — and this module maps them
// 1:1 onto loopback (198.18.a.b → 127.18.a.b), the way a node maps a pod's IP to its network
// namespace. The pod runner binds there and the load generator and Prometheus connect there, so
// no packet ever leaves the machine.
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
const LOOPBACK_PREFIX = '127.18.';

/** The loopback address that carries a pod's traffic; throws for anything that is not ours. */
export function podAddress(podIp: string): string {
  // On a kind cluster (e2e/kind/run.sh) pod IPs are routed to the Docker network: use them as they are.
  if (process.env.CANARYD_POD_NETWORK === 'routed') return podIp;
  if (podIp.startsWith(POD_PREFIX)) return LOOPBACK_PREFIX + podIp.slice(POD_PREFIX.length);
  if (podIp.startsWith('127.')) return podIp;
  throw new Error(`pod IP ${podIp} is outside the local pod network ${POD_CIDR}; refusing to send traffic to it`);
}

export const isLocalPodIp = (podIp: string): boolean =>
  process.env.CANARYD_POD_NETWORK === 'routed' || podIp.startsWith(POD_PREFIX) || podIp.startsWith('127.');
