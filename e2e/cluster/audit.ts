// Opt-in API audit of one client identity, for benchmarks that count canaryd's own requests.
// apiserver_request_total has no client label (by design: its cardinality), so the apiserver's
// own per-client record is its audit log. With `audit: true` the control plane gets a second
// token for the user `canaryd-controller` (group system:masters, like the admin) and an audit
// policy that logs that user's requests at Metadata level (verb, resource, namespace, name, user
// agent, times, response code; never a body) and nobody else's: kube-controller-manager, kwok,
// the scheduler and the benchmark itself are not written down, so the log stays small.
import { join } from 'node:path';

export const AUDITED_USER = 'canaryd-controller';

export interface AuditInfo {
  /** The identity whose requests are logged. */
  user: string;
  /** A kubeconfig that authenticates as `user`: give it to canaryd. */
  kubeconfig: string;
  /** The apiserver's audit log (JSON lines, one audit.k8s.io/v1 Event per stage). */
  log: string;
}

/** Pure: the audit policy (one user at Metadata, everything else at None). */
export function auditPolicyYaml(user: string): string {
  return `apiVersion: audit.k8s.io/v1
kind: Policy
# One event per request (when the answer is complete; a watch also when it starts).
omitStages: [RequestReceived]
rules:
  - level: Metadata
    users: [${JSON.stringify(user)}]
  - level: None
`;
}

/** Pure: the kube-apiserver flags that turn the audit log on. */
export function auditArgs(stateDir: string): string[] {
  return [
    `--audit-policy-file=${auditPolicyPath(stateDir)}`,
    `--audit-log-path=${auditLogPath(stateDir)}`,
    '--audit-log-format=json',
    // Batches off the request path: an audited request is not slowed by the file write.
    '--audit-log-mode=batch',
    '--audit-log-batch-max-wait=1s',
    // lumberjack rotates at 100 MB by default; one file keeps reading simple (a 5,000-policy run
    // writes tens of MB).
    '--audit-log-maxsize=4000',
  ];
}

export const auditLogPath = (stateDir: string): string => join(stateDir, 'logs', 'audit.log');
export const auditPolicyPath = (stateDir: string): string => join(stateDir, 'audit-policy.yaml');
export const auditKubeconfigPath = (stateDir: string): string => join(stateDir, `kubeconfig-${AUDITED_USER}`);
