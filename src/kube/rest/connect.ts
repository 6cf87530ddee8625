// The controller's connection to the API server: plain HTTP (rest/) with the credentials of
// rest/config.ts; for credentials only client-node understands (exec plugins, auth providers,
// several kubeconfig files merged), client-node is loaded then, and only then, to produce them.
import type { RequestOptions } from 'node:https';
import { RestKubeApi } from './api.ts';
import { type RestConfig, restConfig } from './config.ts';
import { type Authenticate, RestTransport } from './transport.ts';

export interface Connection {
  transport: RestTransport;
  kube: RestKubeApi;
  /** Where the credentials came from (a path, in-cluster, or client-node and why). */
  source: string;
}

export async function connect(
  kubeconfigPath: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Connection> {
  const found = restConfig(kubeconfigPath, env);
  const { config, authenticate } =
    'config' in found
      ? { config: found.config, authenticate: undefined }
      : await viaClientNode(kubeconfigPath, found.unsupported);
  const transport = new RestTransport(config, authenticate);
  return { transport, kube: new RestKubeApi(transport), source: config.source };
}

/** client-node's KubeConfig for the server, TLS material and, per request, the auth headers. */
async function viaClientNode(
  kubeconfigPath: string | undefined,
  why: string,
): Promise<{ config: RestConfig; authenticate: Authenticate }> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  if (kubeconfigPath) kc.loadFromFile(kubeconfigPath);
  else kc.loadFromDefault();
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error(`kubeconfig${kubeconfigPath ? ` ${kubeconfigPath}` : ''}: no current cluster`);
  const tls: RequestOptions = {};
  await kc.applyToHTTPSOptions(tls);
  const config: RestConfig = {
    server: cluster.server.replace(/\/+$/, ''),
    rejectUnauthorized: tls.rejectUnauthorized !== false,
    source: `client-node credentials (${why})`,
  };
  if (tls.ca) config.ca = Buffer.from(tls.ca as Buffer);
  if (tls.cert) config.cert = Buffer.from(tls.cert as Buffer);
  if (tls.key) config.key = Buffer.from(tls.key as Buffer);
  if (tls.servername) config.servername = tls.servername;
  const authenticate: Authenticate = async () => {
    const options: RequestOptions = { headers: {} };
    await kc.applyToHTTPSOptions(options);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      if (typeof value === 'string') headers[name.toLowerCase()] = value;
    }
    return headers;
  };
  return { config, authenticate };
}
