// Prometheus (Debian's package) on loopback with its own config, scraping the demo pods every
// second, Traefik's metrics (the ingress data plane) and the apiserver's own metrics.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './ports.ts';
import { isAlive, startProcess, stopPid, tail } from './processes.ts';
import { WaitAborted, waitFor } from './wait.ts';

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

/**
 * Debian's Prometheus is built without Kubernetes service discovery ("Kubernetes support has
 * been completely removed", NEWS.Debian; `kubernetes_sd_configs` is an unknown field). So the
 * pod runner, which watches pods on the real apiserver anyway, writes the Ready demo pods as a
 * file_sd target file with the labels kubernetes_sd relabelling would give (namespace, pod, app,
 * track, pod_template_hash); Prometheus picks changes up through inotify within a moment.
 */
export function prometheusConfig(
  apiServerUrl: string,
  caFile: string,
  tokenFile: string,
  targetsDir: string,
  scrapeSeconds: number,
  traefikTarget?: string,
): string {
  const traefik = traefikTarget
    ? `  - job_name: traefik
    static_configs:
      - targets: ['${traefikTarget}']
`
    : '';
  return `global:
  scrape_interval: ${scrapeSeconds}s
  scrape_timeout: ${scrapeSeconds}s
  evaluation_interval: ${scrapeSeconds}s
scrape_configs:
  - job_name: demo-pods
    file_sd_configs:
      - files: ['${targetsDir}/*.json']
        refresh_interval: 5s
  - job_name: kube-apiserver
    scrape_interval: 5s
    scheme: https
    tls_config: { ca_file: ${caFile} }
    authorization: { credentials_file: ${tokenFile} }
    static_configs:
      - targets: ['${new URL(apiServerUrl).host}']
${traefik}`;
}

export const targetsDirOf = (stateDir: string): string => join(stateDir, 'prometheus', 'targets');

export async function startPrometheus(
  stateDir: string,
  apiServerUrl: string,
  caFile: string,
  adminToken: string,
  scrapeIntervalSeconds = 1,
  traefikTarget?: string,
): Promise<PrometheusInfo> {
  const dir = join(stateDir, 'prometheus');
  mkdirSync(join(dir, 'data'), { recursive: true });
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, adminToken, { mode: 0o600 });
  const configFile = join(dir, 'prometheus.yml');
  const targetsDir = targetsDirOf(stateDir);
  mkdirSync(targetsDir, { recursive: true });
  writeFileSync(
    configFile,
    prometheusConfig(apiServerUrl, caFile, tokenFile, targetsDir, scrapeIntervalSeconds, traefikTarget),
  );
  const port = await freePort();
  return launchPrometheus(stateDir, port, scrapeIntervalSeconds);
}

/** Starts Prometheus on a given port with the config and data written by startPrometheus, and waits until it is ready. */
async function launchPrometheus(
  stateDir: string,
  port: number,
  scrapeIntervalSeconds: number,
): Promise<PrometheusInfo> {
  const dir = join(stateDir, 'prometheus');
  const url = `http://127.0.0.1:${port}`;
  const proc = startProcess(stateDir, 'prometheus', prometheusBinary(), [
    `--config.file=${join(dir, 'prometheus.yml')}`,
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
      if (exited !== undefined) throw new WaitAborted(`prometheus exited (${exited}):\n${tail(proc.logFile)}`);
      const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(2000) }).catch(() => null);
      return res?.status === 200;
    },
    { timeoutMs: 60_000, description: 'prometheus /-/ready' },
  );
  return { url, scrapeIntervalSeconds };
}

/**
 * Stops the cluster's Prometheus (the process in <stateDir>/pids/prometheus.pid, nothing else),
 * for tests of a Prometheus outage. Returns when the process is gone.
 */
export async function stopPrometheus(stateDir: string): Promise<void> {
  const pidFile = join(stateDir, 'pids', 'prometheus.pid');
  const pid = Number(readFileSync(pidFile, 'utf8'));
  if (!Number.isInteger(pid) || pid <= 1) throw new Error(`${pidFile} holds no pid`);
  await stopPid(pid);
  if (isAlive(pid)) throw new Error(`prometheus (pid ${pid}) did not stop`);
}

/**
 * Starts the cluster's Prometheus again after stopPrometheus: same config, same data, same
 * address (url as startPrometheus returned it), so clients configured with it reach it again.
 */
export async function restartPrometheus(
  stateDir: string,
  url: string,
  scrapeIntervalSeconds = 1,
): Promise<PrometheusInfo> {
  const port = Number(new URL(url).port);
  if (!Number.isInteger(port) || port <= 0) throw new Error(`no port in the Prometheus URL ${url}`);
  return launchPrometheus(stateDir, port, scrapeIntervalSeconds);
}
