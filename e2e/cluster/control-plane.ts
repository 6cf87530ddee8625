// A real Kubernetes control plane on loopback: etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler and kwok (fake nodes whose pods get IPs of the pod CIDR; see kwok-stages.ts).
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AUDITED_USER,
  type AuditInfo,
  auditArgs,
  auditKubeconfigPath,
  auditLogPath,
  auditPolicyPath,
  auditPolicyYaml,
} from './audit.ts';
import { ensurePki } from './certs.ts';
import { writeStages } from './kwok-stages.ts';
import { podCidr as podCidrFromEnv } from './pod-network.ts';
import { freePort } from './ports.ts';
import { type ManagedProcess, startProcess, tail } from './processes.ts';
import { WaitAborted, waitFor } from './wait.ts';

export interface ControlPlaneInfo {
  apiServerUrl: string;
  kubeconfig: string;
  adminToken: string;
  caCert: string;
  podCidr: string;
  nodes: string[];
  /** Only with `audit: true`: the audited identity's kubeconfig and the audit log (audit.ts). */
  audit?: AuditInfo;
}

export interface ControlPlaneOptions {
  binDir: string;
  stateDir: string;
  nodes?: number;
  /** Pods get IPs from this range; netns.ts routes it into the pods' network namespace. */
  podCidr?: string;
  log?: (line: string) => void;
  /** Log the requests of one extra identity (AUDITED_USER) in an audit log: benchmarks (audit.ts). */
  audit?: boolean;
}

export const STOP_ORDER = ['kwok', 'kube-scheduler', 'kube-controller-manager', 'kube-apiserver', 'etcd'];

export async function startControlPlane(options: ControlPlaneOptions): Promise<ControlPlaneInfo> {
  const { binDir, stateDir } = options;
  const log = options.log ?? (() => {});
  const podCidr = options.podCidr ?? podCidrFromEnv();
  const pkiDir = join(stateDir, 'pki');
  mkdirSync(pkiDir, { recursive: true });
  const pki = ensurePki(pkiDir);
  const adminToken = randomBytes(24).toString('hex');
  const tokenFile = join(pkiDir, 'tokens.csv');
  const auditedToken = randomBytes(24).toString('hex');
  const tokens = [`${adminToken},canaryd-admin,canaryd-admin,"system:masters"`];
  if (options.audit) tokens.push(`${auditedToken},${AUDITED_USER},${AUDITED_USER},"system:masters"`);
  writeFileSync(tokenFile, `${tokens.join('\n')}\n`, { mode: 0o600 });

  const [etcdClient, etcdPeer, apiPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const apiServerUrl = `https://127.0.0.1:${apiPort}`;
  const kubeconfig = join(stateDir, 'kubeconfig');
  writeFileSync(kubeconfig, kubeconfigText(apiServerUrl, pki.caCert, adminToken), { mode: 0o600 });
  let audit: AuditInfo | undefined;
  if (options.audit) {
    audit = { user: AUDITED_USER, kubeconfig: auditKubeconfigPath(stateDir), log: auditLogPath(stateDir) };
    writeFileSync(audit.kubeconfig, kubeconfigText(apiServerUrl, pki.caCert, auditedToken, AUDITED_USER), {
      mode: 0o600,
    });
    writeFileSync(auditPolicyPath(stateDir), auditPolicyYaml(AUDITED_USER));
  }

  log(`etcd on 127.0.0.1:${etcdClient}`);
  const etcd = startProcess(stateDir, 'etcd', join(binDir, 'etcd'), [
    `--data-dir=${join(stateDir, 'etcd')}`,
    `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
    `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
    `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
    `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
    `--initial-cluster=default=http://127.0.0.1:${etcdPeer}`,
    '--unsafe-no-fsync',
    '--log-level=warn',
  ]);
  await waitForHttp(`http://127.0.0.1:${etcdClient}/health`, etcd, 'etcd health');

  log(`kube-apiserver on ${apiServerUrl}`);
  const apiserver = startProcess(stateDir, 'kube-apiserver', join(binDir, 'kube-apiserver'), [
    `--etcd-servers=http://127.0.0.1:${etcdClient}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${apiPort}`,
    `--tls-cert-file=${pki.serverCert}`,
    `--tls-private-key-file=${pki.serverKey}`,
    `--client-ca-file=${pki.caCert}`,
    `--token-auth-file=${tokenFile}`,
    '--authorization-mode=RBAC',
    '--service-cluster-ip-range=10.96.0.0/16',
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${pki.saPub}`,
    `--service-account-signing-key-file=${pki.saKey}`,
    '--allow-privileged=true',
    '--enable-priority-and-fairness=false',
    // The apiserver's own address is loopback, which Endpoints refuse; nothing in-cluster needs it.
    '--endpoint-reconciler-type=none',
    process.env.CANARYD_APISERVER_PROFILING === '1' ? '--profiling=true' : '--profiling=false',
    ...(options.audit ? auditArgs(stateDir) : []),
    '--v=0',
  ]);
  await waitForHttp(`${apiServerUrl}/readyz`, apiserver, 'kube-apiserver /readyz', adminToken, pki.caCert, 120_000);

  log('kube-controller-manager, kube-scheduler');
  startProcess(stateDir, 'kube-controller-manager', join(binDir, 'kube-controller-manager'), [
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    '--bind-address=127.0.0.1',
    '--secure-port=0',
    '--leader-elect=false',
    `--service-account-private-key-file=${pki.saKey}`,
    `--root-ca-file=${pki.caCert}`,
    '--use-service-account-credentials=false',
    // Fake nodes need no IPAM, routes or cloud; skipping them saves CPU on small machines.
    '--controllers=*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-node-route-controller,-persistentvolume-binder,-persistentvolume-expander,-attachdetach,-ephemeral-volume,-pvc-protection,-pv-protection',
    // Fake nodes on a busy 2-core machine can miss a heartbeat; a node marked NotReady would mark
    // its pods unready and empty Services mid-test. Node failure is not what these tests exercise.
    '--node-monitor-grace-period=300s',
    '--concurrent-deployment-syncs=10',
    '--concurrent-replicaset-syncs=10',
    // Its client's default 20 requests/s (burst 30) let 5,000 Deployments of the scale benchmark
    // become Available at ~1.4 per second (an hour); clusters that size raise it too.
    '--kube-api-qps=100',
    '--kube-api-burst=200',
    '--v=0',
  ]);
  startProcess(stateDir, 'kube-scheduler', join(binDir, 'kube-scheduler'), [
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    '--bind-address=127.0.0.1',
    '--secure-port=0',
    '--leader-elect=false',
    '--v=0',
  ]);

  const stagesDir = join(binDir, 'kwok-stages');
  const stageFiles = writeStages(stagesDir, join(stateDir, 'kwok'));
  log(`kwok (pod IPs from ${podCidr})`);
  startProcess(stateDir, 'kwok', join(binDir, 'kwok'), [
    `--kubeconfig=${kubeconfig}`,
    '--manage-all-nodes=false',
    '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
    `--cidr=${podCidr}`,
    '--node-ip=127.0.0.1',
    // Node Leases are the heartbeat the node lifecycle controller reads. Without them kwok's
    // heartbeat-with-lease stage updates node status only every 10–20 minutes, so every
    // --node-monitor-grace-period (5 min) the nodes went NotReady and their pods unready: every
    // Service emptied mid-test.
    '--node-lease-duration-seconds=40',
    `--server-address=127.0.0.1:${await freePort()}`,
    ...stageFiles.map((f) => `--config=${f}`),
  ]);

  const nodes = Array.from({ length: options.nodes ?? 3 }, (_, i) => `kwok-node-${i}`);
  return { apiServerUrl, kubeconfig, adminToken, caCert: pki.caCert, podCidr, nodes, ...(audit ? { audit } : {}) };
}

function kubeconfigText(server: string, caFile: string, token: string, user = 'canaryd-admin'): string {
  const ca = readFileSync(caFile).toString('base64');
  return `apiVersion: v1
kind: Config
clusters:
- name: canaryd-local
  cluster:
    server: ${server}
    certificate-authority-data: ${ca}
users:
- name: ${user}
  user:
    token: ${token}
contexts:
- name: canaryd-local
  context:
    cluster: canaryd-local
    user: ${user}
current-context: canaryd-local
`;
}

export function copyKubeconfig(info: ControlPlaneInfo, to: string): void {
  copyFileSync(info.kubeconfig, to);
}

async function waitForHttp(
  url: string,
  proc: ManagedProcess,
  description: string,
  token?: string,
  caFile?: string,
  timeoutMs = 60_000,
): Promise<void> {
  const { request } = await import('node:https');
  const { get } = await import('node:http');
  const ca = caFile ? readFileSync(caFile) : undefined;
  let exitCode: number | null | undefined;
  proc.exited.then((code) => {
    exitCode = code;
  });
  await waitFor(
    async () => {
      if (exitCode !== undefined) {
        throw new WaitAborted(`${proc.name} exited with code ${exitCode}:\n${tail(proc.logFile)}`);
      }
      const status = await new Promise<number>((resolve) => {
        const headers = token ? { authorization: `Bearer ${token}` } : undefined;
        const req = url.startsWith('https:')
          ? request(url, { ca, headers, timeout: 2000 }, (res) => {
              res.resume();
              resolve(res.statusCode ?? 0);
            })
          : get(url, { timeout: 2000 }, (res) => {
              res.resume();
              resolve(res.statusCode ?? 0);
            });
        req.on('error', () => resolve(0));
        req.on('timeout', () => req.destroy());
        if (url.startsWith('https:')) req.end();
      });
      return status === 200;
    },
    { timeoutMs, intervalMs: 250, description },
  ).catch((error: Error) => {
    if (exitCode !== undefined) throw error;
    throw new Error(`${error.message}\nlast lines of ${proc.logFile}:\n${tail(proc.logFile)}`);
  });
}

export interface CommandLine {
  command: string;
  args: string[];
}

/** The command line of the cluster's running kube-apiserver (from /proc), so it can be started again. */
export function apiServerCommandLine(stateDir: string): CommandLine {
  const pid = Number(readFileSync(join(stateDir, 'pids', 'kube-apiserver.pid'), 'utf8'));
  const parts = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
    .split('\0')
    .filter((p) => p !== '');
  const [command, ...args] = parts;
  if (!command) throw new Error(`no command line for kube-apiserver pid ${pid}`);
  return { command, args };
}

/**
 * Starts kube-apiserver again with the command line it had (see apiServerCommandLine), after it
 * was stopped, and waits for /readyz. Same port, certificates and token file: kubeconfigs stay valid.
 */
export async function restartApiServer(
  stateDir: string,
  commandLine: CommandLine,
  info: Pick<ControlPlaneInfo, 'apiServerUrl' | 'adminToken' | 'caCert'>,
): Promise<void> {
  const proc = startProcess(stateDir, 'kube-apiserver', commandLine.command, commandLine.args);
  await waitForHttp(
    `${info.apiServerUrl}/readyz`,
    proc,
    'kube-apiserver /readyz',
    info.adminToken,
    info.caCert,
    120_000,
  );
}
