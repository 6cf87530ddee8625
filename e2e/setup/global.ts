// Brings the cluster up once for the whole e2e suite and tears it down at the end, even when
// tests fail. With CANARYD_E2E_KUBECONFIG set, the suite runs against that cluster instead
// (CANARYD_E2E_PROMETHEUS_URL names its Prometheus, CANARYD_E2E_PROXY_URL its ingress proxy).
import type { TestProject } from 'vitest/node';
import { type ClusterInfo, clusterDown, clusterUp } from '../cluster/cluster.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    cluster: E2eCluster;
  }
}

export interface E2eCluster {
  kubeconfig: string;
  prometheusUrl: string;
  scrapeIntervalSeconds: number;
  /** The ingress data plane's HTTP entry (Traefik's web entry point locally), requests carry a Host header. */
  proxyUrl?: string;
  /** Traefik's API (routers, version), when known. */
  traefikApiUrl?: string;
  /** The local cluster's pod network: pod IPs route into this namespace through this veth. */
  podNetwork?: { namespace: string; hostVeth: string; podCidr: string };
  /** True when the suite started the local cluster (and so may stop and restart its parts). */
  local: boolean;
  stateDir?: string;
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = process.env.CANARYD_E2E_KUBECONFIG;
  if (external) {
    const prometheusUrl = process.env.CANARYD_E2E_PROMETHEUS_URL;
    if (!prometheusUrl) throw new Error('CANARYD_E2E_KUBECONFIG is set: also set CANARYD_E2E_PROMETHEUS_URL');
    project.provide('cluster', {
      kubeconfig: external,
      prometheusUrl,
      scrapeIntervalSeconds: 15,
      proxyUrl: process.env.CANARYD_E2E_PROXY_URL,
      traefikApiUrl: process.env.CANARYD_E2E_TRAEFIK_API_URL,
      local: false,
    });
    return async () => {};
  }
  const info: ClusterInfo = await clusterUp();
  project.provide('cluster', {
    kubeconfig: info.kubeconfig,
    prometheusUrl: info.prometheusUrl,
    scrapeIntervalSeconds: info.scrapeIntervalSeconds,
    proxyUrl: info.proxyUrl,
    traefikApiUrl: info.traefik.apiUrl,
    podNetwork: {
      namespace: info.podNetwork.namespace,
      hostVeth: info.podNetwork.hostVeth,
      podCidr: info.podNetwork.podCidr,
    },
    local: true,
    stateDir: info.stateDir,
  });
  return async () => {
    if (process.env.CANARYD_E2E_KEEP === '1') {
      console.error(`[cluster] kept running (CANARYD_E2E_KEEP=1): export KUBECONFIG=${info.kubeconfig}`);
      return;
    }
    const stopped = await clusterDown(info.stateDir);
    console.error(`[cluster] stopped ${stopped.join(', ')}`);
  };
}
