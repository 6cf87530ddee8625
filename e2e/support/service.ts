// Talking to a running canaryd process as a client would: its address (from the "listening" log
// line, since tests start it on port 0), real ServiceAccount tokens (TokenRequest), kubeconfigs
// that carry such a token, and plain HTTP calls to its API.
import { readFileSync, writeFileSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { WaitAborted, waitFor } from '../cluster/wait.ts';
import type { CanarydProcess } from './canaryd.ts';

/** The http://HOST:PORT canaryd logged once it listens. Fails fast if the process exits first. */
export async function canarydAddress(canaryd: CanarydProcess, timeoutMs = 30_000): Promise<string> {
  return waitFor(
    async () => {
      for (const line of canaryd.logs().split('\n')) {
        if (!line.startsWith('{')) continue;
        const entry = JSON.parse(line) as { msg?: string; address?: string };
        if (entry.msg === 'listening' && typeof entry.address === 'string') return entry.address;
      }
      if (canaryd.child.exitCode !== null || canaryd.child.signalCode !== null) {
        throw new WaitAborted(`canaryd exited before listening:\n${canaryd.logs()}`);
      }
      return undefined;
    },
    { timeoutMs, description: `canaryd to log its listening address (${canaryd.logFile})` },
  );
}

/** A short-lived token for a ServiceAccount, from the TokenRequest API (what `kubectl create token` does). */
export async function serviceAccountToken(
  core: k8s.CoreV1Api,
  namespace: string,
  name: string,
  expirationSeconds = 3600,
): Promise<string> {
  const answer = await core.createNamespacedServiceAccountToken({
    namespace,
    name,
    body: { spec: { audiences: [], expirationSeconds } },
  });
  const token = answer.status?.token;
  if (!token) throw new Error(`TokenRequest for ${namespace}/${name} returned no token`);
  return token;
}

/** Writes a kubeconfig for `token` with the server and CA of `adminKubeconfig`; returns its path. */
export function tokenKubeconfig(adminKubeconfig: string, token: string, file: string): string {
  const admin = new k8s.KubeConfig();
  admin.loadFromFile(adminKubeconfig);
  const cluster = admin.getCurrentCluster();
  if (!cluster) throw new Error(`${adminKubeconfig} has no current cluster`);
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: cluster.name, server: cluster.server, caData: cluster.caData, caFile: cluster.caFile }],
    users: [{ name: 'token', token }],
    contexts: [{ name: 'token', cluster: cluster.name, user: 'token' }],
    currentContext: 'token',
  });
  writeFileSync(file, kc.exportConfig(), { mode: 0o600 });
  return file;
}

/** The bearer token of a kubeconfig's current user (the admin token of the local cluster). */
export function kubeconfigToken(kubeconfig: string): string {
  const kc = new k8s.KubeConfig();
  kc.loadFromString(readFileSync(kubeconfig, 'utf8'));
  const token = kc.getCurrentUser()?.token;
  if (!token) throw new Error(`${kubeconfig}: the current user has no token`);
  return token;
}

export interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
}

export async function http(
  address: string,
  path: string,
  options: { method?: string; token?: string; authorization?: string; body?: unknown } = {},
): Promise<HttpAnswer> {
  const headers: Record<string, string> = {};
  if (options.authorization !== undefined) headers.authorization = options.authorization;
  else if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${address}${path}`, {
    method: options.method ?? 'GET',
    headers,
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // Not JSON (the metrics text, say).
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}
