// The CanaryPolicy CRD on a real apiserver: install it exactly as shipped (deploy/crd.yaml),
// and small helpers for talking to CanaryPolicy objects with @kubernetes/client-node.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { REPO_ROOT } from '../cluster/cluster.ts';
import { waitFor } from '../cluster/wait.ts';
import { installActorPolicy } from './actor-policy.ts';

export const CRD_NAME = 'canarypolicies.canaryd.dev';
export const GROUP = 'canaryd.dev';
export const VERSION = 'v1alpha1';
export const PLURAL = 'canarypolicies';
export const CRD_FILE = join(REPO_ROOT, 'deploy', 'crd.yaml');

export interface InstallCrdOptions {
  /** Defaults to deploy/crd.yaml, the file users install. */
  file?: string;
  timeoutMs?: number;
}

/**
 * Creates the CRD, or replaces it when it exists (a previous run, another test file), then waits
 * until it is Established and CanaryPolicy objects can be listed. Returns the CRD as stored.
 */
export async function installCrd(
  kc: k8s.KubeConfig,
  options: InstallCrdOptions = {},
): Promise<k8s.V1CustomResourceDefinition> {
  const api = kc.makeApiClient(k8s.ApiextensionsV1Api);
  // loadYaml, not a plain YAML parse: the client serializes its own model, whose names differ
  // from the JSON ones for `default`, `enum` and `x-kubernetes-*` (`_default`, `_enum`,
  // `x_kubernetes_preserve_unknown_fields`). A plain object would lose them all silently:
  // no defaults, no enums, and a status that is pruned away.
  const crd = k8s.loadYaml<k8s.V1CustomResourceDefinition>(readFileSync(options.file ?? CRD_FILE, 'utf8'));
  const name = crd.metadata?.name ?? CRD_NAME;
  const timeoutMs = options.timeoutMs ?? 30_000;
  await waitFor(
    async () => {
      const existing = await api.readCustomResourceDefinition({ name }).catch((error: unknown) => {
        if (statusOf(error) === 404) return null;
        throw error;
      });
      if (existing === null) await api.createCustomResourceDefinition({ body: crd });
      else {
        const resourceVersion = existing.metadata?.resourceVersion;
        await api.replaceCustomResourceDefinition({
          name,
          body: { ...crd, metadata: { ...crd.metadata, resourceVersion } },
        });
      }
      return true;
    },
    // A concurrent writer (another test file installing the same CRD) makes a replace conflict: retry.
    { timeoutMs, description: `create or replace CRD ${name}` },
  );
  const established = await waitFor(
    async () => {
      const current = await api.readCustomResourceDefinition({ name });
      const conditions = current.status?.conditions ?? [];
      const isTrue = (type: string) => conditions.some((c) => c.type === type && c.status === 'True');
      return isTrue('Established') && isTrue('NamesAccepted') ? current : undefined;
    },
    { timeoutMs, description: `CRD ${name} Established` },
  );
  const objects = kc.makeApiClient(k8s.CustomObjectsApi);
  await waitFor(
    async () => {
      await objects.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, limit: 1 });
      return true;
    },
    { timeoutMs, description: `${PLURAL}.${GROUP} served` },
  );
  // What deploy/ installs beside the CRD for CanaryPolicies: operation actors checked by the API server.
  await installActorPolicy(kc, timeoutMs);
  return established;
}

/** The HTTP status of an ApiException (or undefined for anything else). */
export function statusOf(error: unknown): number | undefined {
  return error instanceof k8s.ApiException ? error.code : undefined;
}

/** The apiserver's message from a failed call: the Status body's `message`, else the error's. */
export function apiMessage(error: unknown): string {
  if (error instanceof k8s.ApiException) {
    const body: unknown = typeof error.body === 'string' ? safeJson(error.body) : error.body;
    const message = (body as { message?: unknown } | undefined)?.message;
    return typeof message === 'string' ? message : String(error.body);
  }
  return error instanceof Error ? error.message : String(error);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // Not JSON (a proxy's HTML page, say): the text itself is the message.
    return { message: text };
  }
}
