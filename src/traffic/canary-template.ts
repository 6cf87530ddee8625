// Which pods run the canary's template, wherever they are. The canary Deployment's pods carry
// canaryd.dev/track=canary; but a stable Deployment unpaused during a release (`kubectl rollout
// resume`) starts pods of the same template in a ReplicaSet of its own, and those reach users
// too. The measured share counts both (issue 12: the share reported is the real one). Pure.
import { canonicalJson } from '../kube/canonical-json.ts';
import type { Deployment, KubeObject, PodTemplate } from '../kube/objects.ts';
import { POD_TEMPLATE_HASH, TRACK, TRACK_CANARY } from './labels.ts';

export interface ReplicaSet extends KubeObject {
  spec?: { replicas?: number; template?: PodTemplate };
  status?: { replicas?: number };
}

const withoutLabel = (template: PodTemplate | undefined, key: string): string => {
  if (template === undefined) return '';
  const labels = { ...template.metadata?.labels };
  delete labels[key];
  return canonicalJson({ ...template, metadata: { ...template.metadata, labels } });
};

/**
 * pod-template-hash values of the stable Deployment's ReplicaSets (with pods) whose template is
 * the canary's (ignoring the track label canaryd adds to the canary and the hash label the
 * Deployment controller adds to each ReplicaSet).
 */
export function canaryTemplateHashesIn(
  stableDeployment: string,
  replicaSets: readonly ReplicaSet[],
  canaryTemplate: PodTemplate | undefined,
): Set<string> {
  const hashes = new Set<string>();
  if (canaryTemplate === undefined) return hashes;
  const wanted = withoutLabel(canaryTemplate, TRACK);
  for (const rs of replicaSets) {
    const owned = rs.metadata.ownerReferences?.some((o) => o.kind === 'Deployment' && o.name === stableDeployment);
    const hash = rs.metadata.labels?.[POD_TEMPLATE_HASH];
    const hasPods = (rs.spec?.replicas ?? 0) > 0 || (rs.status?.replicas ?? 0) > 0;
    if (!owned || hash === undefined || !hasPods) continue;
    if (withoutLabel(rs.spec?.template, POD_TEMPLATE_HASH) === wanted) hashes.add(hash);
  }
  return hashes;
}

/**
 * pod-template-hash values of the canary Deployment's ReplicaSets that run its current template.
 * The canary Deployment outlives a release by its drain delay, and a release that starts
 * meanwhile replaces its template in place: until that roll is done, pods of the previous
 * canary's template (track: canary too) are still ready behind the canary route (issue 11).
 */
export function currentTemplateHashes(canary: Deployment, replicaSets: readonly ReplicaSet[]): Set<string> {
  const hashes = new Set<string>();
  const wanted = withoutLabel(canary.spec.template, POD_TEMPLATE_HASH);
  for (const rs of replicaSets) {
    const owned = rs.metadata.ownerReferences?.some(
      (o) =>
        o.kind === 'Deployment' &&
        o.name === canary.metadata.name &&
        (canary.metadata.uid === undefined || o.uid === canary.metadata.uid),
    );
    const hash = rs.metadata.labels?.[POD_TEMPLATE_HASH];
    if (owned && hash !== undefined && withoutLabel(rs.spec?.template, POD_TEMPLATE_HASH) === wanted) hashes.add(hash);
  }
  return hashes;
}

/**
 * A pod of the canary's current template: the canary Deployment's (`canaryHashes`, from
 * currentTemplateHashes), or the stable one's of the same template (`strayHashes`). A pod of an
 * older canary template is neither, although it carries canaryd.dev/track: canary.
 */
export const runsCanaryTemplate = (
  labels: Record<string, string> | undefined,
  canaryHashes: Set<string>,
  strayHashes: Set<string>,
): boolean => {
  const hash = labels?.[POD_TEMPLATE_HASH];
  if (hash === undefined) return false;
  return (labels?.[TRACK] === TRACK_CANARY && canaryHashes.has(hash)) || strayHashes.has(hash);
};
