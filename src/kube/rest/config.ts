// Where the controller's API server is and how to authenticate, read without
// @kubernetes/client-node (whose KubeConfig loads all of its generated API code, ~85 MiB of an
// idle controller's memory: docs/scale.md). It reads what a controller is given: in-cluster
// (the ServiceAccount token file, re-read as the kubelet rotates it), or a kubeconfig file with a
// server, a CA, and a token, token file, client certificate or basic auth. Anything else (exec
// plugins, auth providers, proxies, several files in KUBECONFIG) is "not handled here": the
// caller falls back to client-node for the credentials (rest/fallback-auth.ts).
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { parse } from 'yaml';

export interface RestConfig {
  /** e.g. https://10.96.0.1:443 (no trailing slash). */
  server: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  rejectUnauthorized: boolean;
  servername?: string;
  /** A fixed bearer token, or a file holding one (re-read: bound tokens rotate). */
  token?: string;
  tokenFile?: string;
  basicAuth?: { username: string; password: string };
  impersonateUser?: string;
  /** Where it came from, for messages. */
  source: string;
}

export type RestConfigResult = { config: RestConfig } | { unsupported: string };

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Like kubectl and client-node: --kubeconfig, else KUBECONFIG, else ~/.kube/config, else in-cluster. */
export function restConfig(kubeconfigPath: string | undefined, env: NodeJS.ProcessEnv = process.env): RestConfigResult {
  if (kubeconfigPath) return fromKubeconfigFile(kubeconfigPath);
  if (env.KUBECONFIG) {
    const files = env.KUBECONFIG.split(':').filter((f) => f !== '' && existsSync(f));
    if (files.length > 1)
      return { unsupported: `KUBECONFIG names ${files.length} files (merging is left to client-node)` };
    if (files[0]) return fromKubeconfigFile(files[0]);
  }
  const home = join(env.HOME ?? homedir(), '.kube', 'config');
  if (existsSync(home)) return fromKubeconfigFile(home);
  if (existsSync(join(SERVICE_ACCOUNT_DIR, 'token'))) return inCluster(env);
  return { unsupported: 'no kubeconfig and not in a cluster' };
}

export function inCluster(env: NodeJS.ProcessEnv, dir = SERVICE_ACCOUNT_DIR): RestConfigResult {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) return { unsupported: 'KUBERNETES_SERVICE_HOST/PORT are not set' };
  const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    config: {
      server,
      ca: readFileSync(join(dir, 'ca.crt')),
      rejectUnauthorized: true,
      tokenFile: join(dir, 'token'),
      source: 'in-cluster ServiceAccount',
    },
  };
}

interface Named<T> {
  name: string;
  [key: string]: unknown;
  value?: T;
}

/** Pure apart from reading the files the kubeconfig names. */
export function fromKubeconfigFile(path: string): RestConfigResult {
  const doc = parse(readFileSync(path, 'utf8')) as Record<string, unknown> | null;
  return fromKubeconfig(doc ?? {}, path);
}

export function fromKubeconfig(doc: Record<string, unknown>, path: string): RestConfigResult {
  const pick = (list: unknown, name: unknown, field: string): Record<string, unknown> | undefined => {
    const entry = (Array.isArray(list) ? (list as Named<unknown>[]) : []).find((e) => e?.name === name);
    return entry?.[field] as Record<string, unknown> | undefined;
  };
  const contextName = doc['current-context'];
  const context = pick(doc.contexts, contextName, 'context');
  if (!context) return { unsupported: `${path}: no current context "${String(contextName)}"` };
  const cluster = pick(doc.clusters, context.cluster, 'cluster');
  const user = pick(doc.users, context.user, 'user') ?? {};
  if (!cluster || typeof cluster.server !== 'string') return { unsupported: `${path}: cluster has no server` };
  for (const field of ['exec', 'auth-provider', 'as-groups', 'as-user-extra']) {
    if (user[field] !== undefined) return { unsupported: `${path}: user ${field} (left to client-node)` };
  }
  if (cluster['proxy-url'] !== undefined) return { unsupported: `${path}: cluster proxy-url (left to client-node)` };
  const base = dirname(path);
  const file = (value: unknown) =>
    typeof value === 'string' ? (isAbsolute(value) ? value : join(base, value)) : undefined;
  const bytes = (data: unknown, fileField: unknown): Buffer | undefined => {
    if (typeof data === 'string') return Buffer.from(data, 'base64');
    const name = file(fileField);
    return name ? readFileSync(name) : undefined;
  };
  const config: RestConfig = {
    server: cluster.server.replace(/\/+$/, ''),
    rejectUnauthorized: cluster['insecure-skip-tls-verify'] !== true,
    source: path,
  };
  const ca = bytes(cluster['certificate-authority-data'], cluster['certificate-authority']);
  if (ca) config.ca = ca;
  if (typeof cluster['tls-server-name'] === 'string') config.servername = cluster['tls-server-name'];
  const cert = bytes(user['client-certificate-data'], user['client-certificate']);
  const key = bytes(user['client-key-data'], user['client-key']);
  if (cert) config.cert = cert;
  if (key) config.key = key;
  if (typeof user.token === 'string') config.token = user.token;
  const tokenFile = file(user.tokenFile);
  if (tokenFile) config.tokenFile = tokenFile;
  if (typeof user.username === 'string' && typeof user.password === 'string') {
    config.basicAuth = { username: user.username, password: user.password };
  }
  if (typeof user.as === 'string') config.impersonateUser = user.as;
  return { config };
}
