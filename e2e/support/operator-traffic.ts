// The operator-journey suite's world measured through the proxy (issue 12; checklist in
// e2e/README.md): an ingress-nginx release of `web` behind Traefik (serving the nginx canary
// annotations), canaryd, and an operator with their own kubeconfig. Every "Then" here is what a
// person would notice: what `kubectl canary status` prints (and its exit code), the share measured
// through Traefik, and requests that failed while canaryd switched traffic.
import { afterAll, beforeAll, expect, inject } from 'vitest';
import { type ProxyLoadReport, sendThroughProxy } from '../cluster/proxy-load.ts';
import { waitFor } from '../cluster/wait.ts';
import { adopted, type CanarydProcess, createPolicy, installCrd, readPolicy, startCanaryd } from './canaryd.ts';
import { createOperator, type Operator } from './cli.ts';
import { type TestEnv, useTestEnv } from './env.ts';
import { APP, CANARY, type StepSpec } from './managed-app.ts';
import { CANARYD_START_MS, kubectl } from './operator-journey.ts';
import { binomialInterval } from './routers.ts';
import { canarydAddress } from './service.ts';
import { deployBehindIngress, pct, type StreamReport, waitForTraefikWeight, Z_95 } from './traffic.ts';

export interface Current {
  revision: number;
  templateHash: string;
  stepIndex: number;
  stepStartedAt?: string;
  weight: number;
}

export interface StatusView {
  phase?: string;
  weight?: number;
  intendedWeight?: number;
  step?: string;
  message?: string;
  release?: { current?: Current; history: Array<{ revision: number; outcome: string; reason: string }> };
}

/** What `kubectl canary status` printed: its screen and the share on its Weight line. */
export interface Printed {
  stdout: string;
  share: number;
}

export interface TrafficWorld {
  env: TestEnv;
  proxyUrl: string;
  traefikApiUrl: string;
  /** The local cluster's state directory (its logs/), when the suite started it. */
  stateDir: string | undefined;
  host(): string;
  operator(): Operator;
  canaryd(): CanarydProcess | undefined;
  status(): Promise<StatusView | undefined>;
  waitForStatus(description: string, test: (s: StatusView) => boolean, timeoutMs?: number): Promise<StatusView>;
  /** Step `index` (0-based) holds `weight` % in `phase`. */
  stepHolds(index: number, weight: number, phase?: string): Promise<StatusView>;
  /** `requests` requests through Traefik, 8 at a time. */
  through(requests: number): Promise<ProxyLoadReport>;
  /** Traefik's own API says the canary carries `weight` %. */
  dataPlaneCarries(weight: number): Promise<unknown>;
  /** Plain `kubectl set image`: the demo app reports its image tag as its version. */
  setImage(version: string): Promise<void>;
  canaryRemoved(): Promise<unknown>;
  /** `kubectl canary status`, asserting its exit code (0 running or promoted, 3 paused, 1 rolled back). */
  printed(exitCode?: number): Promise<Printed>;
  /** The share status prints agrees with `requests` measured through Traefik (95 % interval), no failure. */
  statusAgreesWithProxy(
    canaryVersion: string,
    requests: number,
    exitCode?: number,
  ): Promise<Printed & { report: ProxyLoadReport }>;
  /** After a release: the CR, `kubectl canary status` and the proxy all say no canary carries anything. */
  noCanaryCarriesAnything(stableVersion: string, exitCode: number): Promise<void>;
}

/**
 * Given `web` (3 pods of v1, the version is the image tag; answering after `app.latencyMs`)
 * behind an Ingress served by Traefik, an ingress-nginx CanaryPolicy with `steps`, canaryd, and
 * operator alice. Call inside a describe.
 */
export function givenIngressAppBehindTraefik(
  prefix: string,
  steps: StepSpec[],
  app: { latencyMs?: number } = {},
): TrafficWorld {
  const env = useTestEnv(prefix);
  const cluster = inject('cluster');
  const proxyUrl = cluster.proxyUrl ?? '';
  const traefikApiUrl = cluster.traefikApiUrl ?? '';
  const host = () => `web.${env.namespace}.test`;
  let canaryd: CanarydProcess | undefined;
  let operator: Operator | undefined;

  const status = async () => (await readPolicy(env.kc, env.namespace, APP))?.status as StatusView | undefined;
  const waitForStatus = (description: string, test: (s: StatusView) => boolean, timeoutMs = 90_000) =>
    waitFor(
      async () => {
        const s = await status();
        return s !== undefined && test(s) ? s : undefined;
      },
      { timeoutMs, intervalMs: 200, description },
    );
  const through = (requests: number) =>
    sendThroughProxy({ proxyUrl, host: host(), requests, concurrency: 8, maxDurationMs: 120_000 });

  async function printed(exitCode = 0): Promise<Printed> {
    const run = await operator!.run('status', APP);
    expect(run.code, `${run.stdout}${run.stderr}`).toBe(exitCode);
    const share = /^Weight: +([\d.]+)% of traffic to the canary/m.exec(run.stdout)?.[1];
    expect(share, run.stdout).toBeDefined();
    return { stdout: run.stdout, share: Number(share) };
  }

  const world: TrafficWorld = {
    env,
    proxyUrl,
    traefikApiUrl,
    stateDir: cluster.stateDir,
    host,
    operator: () => operator!,
    canaryd: () => canaryd,
    status,
    waitForStatus,
    stepHolds: (index, weight, phase = 'progressing') =>
      waitForStatus(
        `step ${index + 1} at ${weight} % (${phase})`,
        (s) =>
          s.phase === phase &&
          s.release?.current?.stepIndex === index &&
          s.release.current.stepStartedAt !== undefined &&
          s.weight === weight,
      ),
    through,
    dataPlaneCarries: (weight) => waitForTraefikWeight(traefikApiUrl, env.namespace, weight, 30_000),
    setImage: async (version) => {
      const set = await kubectl(env, 'set', 'image', `deployment/${APP}`, `app=canaryd-demo:${version}`);
      expect(set.code, set.stderr).toBe(0);
    },
    canaryRemoved: () =>
      waitFor(
        async () =>
          (await env.apps.readNamespacedDeployment({ name: CANARY, namespace: env.namespace }).catch(() => null)) ===
          null,
        { timeoutMs: 60_000, description: 'the canary Deployment removed after the drain delay' },
      ),
    printed,
    async statusAgreesWithProxy(canaryVersion, requests, exitCode = 0) {
      const shown = await printed(exitCode);
      const report = await through(requests);
      const canary = report.byVersion[canaryVersion] ?? 0;
      const { low, high } = binomialInterval(shown.share / 100, report.sent, Z_95);
      const why = `kubectl canary status prints ${shown.share} %; measured ${canary}/${report.sent} = ${pct(canary, report.sent)} on ${canaryVersion} (${JSON.stringify(report.byVersion)}); 95 % interval [${(low * 100).toFixed(3)}, ${(high * 100).toFixed(3)}] %`;
      expect(report.bySource.proxy, `${why}; proxy answers ${JSON.stringify(report.proxyCodes)}`).toBe(0);
      expect(report.failures, why).toBe(0);
      expect(canary / report.sent >= low - 1e-12 && canary / report.sent <= high + 1e-12, why).toBe(true);
      // Double check after measuring: the share did not move while we counted.
      expect((await printed(exitCode)).share, why).toBe(shown.share);
      return { ...shown, report };
    },
    async noCanaryCarriesAnything(stableVersion, exitCode) {
      const s = await status();
      expect({ weight: s?.weight, intendedWeight: s?.intendedWeight, step: s?.step }).toEqual({
        weight: 0,
        intendedWeight: 0,
        step: '',
      });
      const shown = await printed(exitCode);
      expect(shown.stdout).toMatch(/^Weight: +0% of traffic to the canary \(no release running\)$/m);
      expect((await through(1000)).byVersion).toEqual({ [stableVersion]: 1000 });
    },
  };

  beforeAll(async () => {
    expect(proxyUrl, 'the cluster reports no proxy URL').not.toBe('');
    const { kc, namespace } = env;
    await installCrd(kc);
    // The version each pod reports is its image tag, so plain `kubectl set image` releases it.
    await deployBehindIngress(env, {
      name: APP,
      host: host(),
      replicas: 3,
      version: 'v1',
      versionFromImage: true,
      latencyMs: app.latencyMs,
    });
    await waitFor(async () => (await through(5)).byVersion.v1 === 5, {
      timeoutMs: 60_000,
      intervalMs: 250,
      description: `web v1 answering ${host()} through the proxy`,
    });
    canaryd = startCanaryd(env.kubeconfig, ['--namespace', namespace, '--resync', '1s'], `canaryd-${prefix}`);
    await canarydAddress(canaryd, CANARYD_START_MS);
    operator = await createOperator(env, 'alice');
    await createPolicy(kc, namespace, {
      apiVersion: 'canaryd.dev/v1alpha1',
      kind: 'CanaryPolicy',
      metadata: { name: APP, namespace },
      spec: {
        target: { deployment: APP, service: APP, router: 'ingress-nginx' },
        strategy: { steps },
        timeouts: { canaryReady: '60s', promotion: '90s' },
      },
    });
    await waitForStatus('policy adopted web', adopted);
  });
  afterAll(async () => {
    await canaryd?.stop();
  });
  return world;
}

/** Then no request of the stream failed because of a switch: no answer from the proxy itself, no reset. */
export function expectNoFailedSwitch(seen: StreamReport, what: string): void {
  expect(seen.sent, `${what}: the stream sent requests`).toBeGreaterThan(100);
  expect(seen.proxyAnswers, `${what}: answers from the proxy itself`).toEqual([]);
  expect(seen.failedAt, `${what}: requests without an answer`).toEqual([]);
}
