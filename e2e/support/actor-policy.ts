// The operation-actor ValidatingAdmissionPolicy exactly as shipped (deploy/operation-actor-policy.yaml):
// with it the API server refuses an operation whose canaryd.dev/operation-by is not the writer's
// own username, and canaryd records actors as fact (without it: "unverified: <name>").
import { join } from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import { REPO_ROOT } from '../cluster/cluster.ts';
import { installManifests } from './manifests.ts';

export const ACTOR_POLICY_FILE = join(REPO_ROOT, 'deploy', 'operation-actor-policy.yaml');

/** Creates the policy and its binding, or replaces them when they exist (another test file). */
export async function installActorPolicy(kc: k8s.KubeConfig, timeoutMs = 30_000): Promise<void> {
  await installManifests(kc, ACTOR_POLICY_FILE, timeoutMs);
}
