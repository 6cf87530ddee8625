// The canary Deployment `<name>-canary`: the user's new pod template with the canary track
// label, selecting only its own pods. Pure builder.
import type { JsonValue } from '../engine/index.ts';
import type { Deployment, PodTemplate } from '../kube/objects.ts';
import { MANAGED_BY, MANAGED_BY_CANARYD, OWNER_POLICY, TRACK, TRACK_CANARY } from '../traffic/labels.ts';
import { TEMPLATE_HASH_ANNOTATION } from './names.ts';

export interface CanaryDeploymentInput {
  stable: Deployment;
  name: string;
  policyKey: string;
  templateHash: string;
  template: JsonValue;
  replicas: number;
  owner?: { apiVersion: string; kind: string; name: string; uid: string };
}

export function buildCanaryDeployment(input: CanaryDeploymentInput): Deployment {
  const template = structuredClone(input.template) as unknown as PodTemplate;
  template.metadata = { ...template.metadata, labels: { ...template.metadata?.labels, [TRACK]: TRACK_CANARY } };
  const matchLabels = { ...(input.stable.spec.selector.matchLabels ?? {}), [TRACK]: TRACK_CANARY };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: input.name,
      namespace: input.stable.metadata.namespace,
      labels: { ...input.stable.metadata.labels, [TRACK]: TRACK_CANARY, [MANAGED_BY]: MANAGED_BY_CANARYD },
      annotations: { [TEMPLATE_HASH_ANNOTATION]: input.templateHash, [OWNER_POLICY]: input.policyKey },
      ...(input.owner ? { ownerReferences: [{ ...input.owner, controller: true }] } : {}),
    },
    spec: {
      replicas: input.replicas,
      selector: {
        matchLabels,
        ...(input.stable.spec.selector.matchExpressions
          ? { matchExpressions: input.stable.spec.selector.matchExpressions }
          : {}),
      },
      template,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
    },
  };
}
