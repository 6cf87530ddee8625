// Prometheus (Debian's package) on loopback with its own config: it discovers the demo pods
// through kubernetes_sd_configs against the local apiserver and scrapes them every second.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './ports.ts';
import { startProcess, tail } from './processes.ts';
import { waitFor } from './wait.ts';

export interface PrometheusInfo {
  url: string;
  scrapeIntervalSeconds: number;
}

export function prometheusBinary(): string {
  try {
    return execFileSync('bash', ['-c', 'command -v prometheus'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('prometheus not found on PATH: run e2e/cluster/install-prometheus.sh (Debian package)');
  }
}

export function prometheusConfig(
  apiServerUrl: string,
  caFile: string,
  tokenFile: string,
  scrapeSeconds: number,
): string {
  const sd = `    kubernetes_sd_configs:
      - role: pod
        api_server: ${apiServerUrl}
        tls_config: { ca_file: ${caFile} }
        authorization: { credentials_file: ${tokenFile} }`;
  return `global:
  scrape_interval: ${scrapeSeconds}s
  scrape_timeout: ${scrapeSeconds}s
  evaluation_interval: ${scrapeSeconds}s
scrape_configs:
  - job_name: demo-pods
${sd}
    relabel_configs:
      # Only the demo app's pods, only while Ready (like a Service's endpoints).
      - source_labels: [__meta_kubernetes_pod_container_image]
        regex: '(.*/)?canaryd-demo(:.*)?'
        action: keep
      - source_labels: [__meta_kubernetes_pod_ready]
        regex: 'true'
        action: keep
      - source_labels: [__meta_kubernetes_namespace]
        target_label: namespace
      - source_labels: [__meta_kubernetes_pod_name]
        target_label: pod
      - source_labels: [__meta_kubernetes_pod_label_app]
        target_label: app
      - source_labels: [__meta_kubernetes_pod_label_pod_template_hash]
        target_label: pod_template_hash
      - source_labels: [__meta_kubernetes_pod_label_canaryd_dev_track]
        target_label: track
      - source_labels: [track]
        regex: ''
        replacement: stable
        target_label: track
  - job_name: kube-apiserver
    scrape_interval: 5s
    scheme: https
    tls_config: { ca_file: ${caFile} }
    authorization: { credentials_file: ${tokenFile} }
    static_configs:
      - targets: ['${new URL(apiServerUrl).host}']
`;
}

export async function startPrometheus(
  stateDir: string,
  apiServerUrl: string,
  caFile: string,
  adminToken: string,
  scrapeIntervalSeconds = 1,
): Promise<PrometheusInfo> {
  const dir = join(stateDir, 'prometheus');
  mkdirSync(join(dir, 'data'), { recursive: true });
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, adminToken, { mode: 0o600 });
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, prometheusConfig(apiServerUrl, caFile, tokenFile, scrapeIntervalSeconds));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = startProcess(stateDir, 'prometheus', prometheusBinary(), [
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--storage.tsdb.retention.time=6h',
    '--web.enable-lifecycle',
    '--log.level=warn',
  ]);
  let exited: number | null | undefined;
  proc.exited.then((code) => {
    exited = code;
  });
  await waitFor(
    async () => {
      if (exited !== undefined) throw new Error(`prometheus exited (${exited}):\n${tail(proc.logFile)}`);
      const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(2000) }).catch(() => null);
      return res?.status === 200;
    },
    { timeoutMs: 60_000, description: 'prometheus /-/ready' },
  );
  return { url, scrapeIntervalSeconds };
}
