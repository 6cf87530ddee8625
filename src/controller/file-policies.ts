// Policies from a directory of YAML files (a mounted ConfigMap works): each valid policy is applied
// as a CanaryPolicy object, so file and cluster policies share one path (status, events, kubectl
// canary). An invalid file is reported and applies nothing: the last good object stays in force.
import type { KubeApi } from '../kube/api.ts';
import type { KubeObject } from '../kube/objects.ts';
import { formatPolicyError } from '../policy/errors.ts';
import type { PolicyLoad } from '../policy/load.ts';
import { API_VERSION, KIND } from '../policy/schema.ts';
import type { Logger } from './deps.ts';

export const SOURCE_LABEL = 'canaryd.dev/source';
export const SOURCE_FILE = 'file';

export async function applyFilePolicies(kube: KubeApi, load: PolicyLoad, log: Logger): Promise<void> {
  for (const error of load.errors) log.error('policy file rejected', { error: formatPolicyError(error) });
  for (const warning of load.warnings)
    log.warn('policy file warning', { warning: formatPolicyError(warning, 'warning') });
  for (const { policy, source } of load.policies) {
    const { name, namespace } = policy.metadata;
    const ref = { apiVersion: API_VERSION, kind: KIND, namespace, name };
    const existing = await kube.get<KubeObject & { spec?: unknown }>(ref);
    const labels = { [SOURCE_LABEL]: SOURCE_FILE };
    if (existing === null) {
      await kube.create({
        apiVersion: API_VERSION,
        kind: KIND,
        metadata: { name, namespace, labels },
        spec: policy.spec,
      });
      log.info('policy applied from file', { policy: `${namespace}/${name}`, source });
    } else if (JSON.stringify(existing.spec) !== JSON.stringify(policy.spec)) {
      // A merge patch with the whole spec; fields removed in the file are set to null explicitly.
      const patch = { metadata: { labels }, spec: withRemovals(existing.spec, policy.spec) };
      await kube.mergePatch(ref, patch);
      log.info('policy updated from file', { policy: `${namespace}/${name}`, source });
    }
  }
}

/** A merge patch that turns `before` into `after` (keys missing in `after` become null). */
export function withRemovals(before: unknown, after: unknown): unknown {
  if (!isObject(before) || !isObject(after)) return after;
  const patch: Record<string, unknown> = {};
  for (const key of Object.keys(before)) if (!(key in after)) patch[key] = null;
  for (const [key, value] of Object.entries(after)) patch[key] = withRemovals(before[key], value);
  return patch;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
