// A KubeConfig whose requests share one connection pool per cluster and credentials.
//
// client-node 2.0 builds a new undici Agent for every request (KubeConfig.
// applySecurityAuthentication → createDispatcher), so no connection is ever reused: each GET
// pays a TCP connect and a full TLS handshake on both sides. At 1,000 policies that was most of
// canaryd's CPU (the scale benchmark's profile: SecureContext, TLSSocket._start,
// getPeerCertificate) and a good part of the apiserver's. Here the first Agent made for a
// cluster/user pair is kept and handed to every later request; the per-request one is never
// connected (undici connects lazily), so dropping it costs nothing.
import * as k8s from './client-node/index.ts';

type RequestContext = Parameters<k8s.KubeConfig['applySecurityAuthentication']>[0];
type Dispatcher = NonNullable<ReturnType<RequestContext['getDispatcher']>>;

export class PooledKubeConfig extends k8s.KubeConfig {
  readonly #pool = new Map<string, Dispatcher>();

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    const fresh = context.getDispatcher();
    if (fresh === undefined) return; // plain HTTP without TLS options: fetch's global pool
    const key = this.#poolKey();
    const pooled = this.#pool.get(key);
    if (pooled === undefined) {
      this.#pool.set(key, fresh);
      return;
    }
    context.setDispatcher(pooled);
  }

  /** Closes every pooled connection (shutdown). */
  async closePool(): Promise<void> {
    const dispatchers = [...this.#pool.values()];
    this.#pool.clear();
    await Promise.allSettled(dispatchers.map((dispatcher) => dispatcher.close()));
  }

  /**
   * What the Agent's TLS options come from: the current cluster and user entries. Credentials in
   * files are named by path; a rotated client certificate file needs a restart (in-cluster,
   * canaryd authenticates with a bearer token, which is a header, not part of the Agent).
   */
  #poolKey(): string {
    const cluster = this.getCurrentCluster();
    const user = this.getCurrentUser();
    return JSON.stringify([
      cluster?.name,
      cluster?.server,
      cluster?.caFile,
      cluster?.caData,
      cluster?.skipTLSVerify,
      cluster?.tlsServerName,
      cluster?.proxyUrl,
      user?.name,
      user?.certFile,
      user?.certData,
      user?.keyFile,
      user?.keyData,
    ]);
  }
}
