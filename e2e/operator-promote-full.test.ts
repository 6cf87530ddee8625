// `kubectl canary promote --full` fails no request (issue 12; once, under heavy load, one request
// got a 502 from Traefik during it). An operator drives ingress-nginx releases behind Traefik
// while a steady stream of requests (several hundred a second) crosses the proxy, and each
// non-2xx answer is counted by who gave it: the proxy itself (no backend, bad gateway) or the
// demo app. Four promotions in a row, the first right after a `kubectl rollout resume` that
// canaryd undid (so promotion also finishes the roll the resume started).
//
// Each round ends when Traefik sends the namespace's traffic to exactly the ready pods of `web`
// and no canary service is left (its own API): by then every old pod has left the data plane.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { waitFor } from './cluster/wait.ts';
import { APP } from './support/managed-app.ts';
import { kubectl, thenEvent } from './support/operator-journey.ts';
import { givenIngressAppBehindTraefik } from './support/operator-traffic.ts';
import { type StreamReport, streamThroughProxy, traefikBackends } from './support/traffic.ts';

/** Heavier than the journeys' stream: ~4 senders without pause. */
const STEADY_LOAD = { batch: 40, concurrency: 4, paceMs: 10 };

interface Round {
  version: string;
  sent: number;
  /** Non-2xx answers the proxy gave itself, by code. */
  proxy: Record<string, number>;
  /** Non-2xx answers from the app (it answers 200 only: error rate 0). */
  app: Record<string, number>;
  /** Requests without any answer (reset, timeout). */
  unanswered: number;
  failuresAt: string[];
}

function countRound(version: string, seen: StreamReport): Round {
  const proxy: Record<string, number> = {};
  for (const { code } of seen.proxyAnswers) proxy[code] = (proxy[code] ?? 0) + 1;
  const app: Record<string, number> = {};
  for (const [code, count] of Object.entries(seen.byCode)) {
    const fromApp = count - (proxy[code] ?? 0);
    if (!code.startsWith('2') && fromApp > 0) app[code] = fromApp;
  }
  return {
    version,
    sent: seen.sent,
    proxy,
    app,
    unanswered: seen.failures,
    failuresAt: [...seen.proxyAnswers.map((a) => `${a.at} ${a.code}`), ...seen.failedAt.map((at) => `${at} none`)],
  };
}

describe('Given an ingress-nginx app behind Traefik and an operator', { timeout: 600_000 }, () => {
  // The app takes 20 ms per answer, as real ones take some: at any moment requests are in
  // flight on every pod, so a pod stopped while it still has them cannot go unnoticed.
  const world = givenIngressAppBehindTraefik(
    'oppromote',
    [
      { weight: 5, hold: '1h' },
      { weight: 50, hold: '1h' },
    ],
    { latencyMs: 20 },
  );
  const { env } = world;
  const operator = () => world.operator();

  /** The pod IPs of web's ready pods (not being deleted). */
  const readyPodIps = async () =>
    (await env.core.listNamespacedPod({ namespace: env.namespace, labelSelector: `app=${APP}` })).items
      .filter(
        (p) =>
          p.metadata?.deletionTimestamp === undefined &&
          p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      )
      .map((p) => p.status?.podIP ?? '')
      .sort();
  const dataPlaneOnlyOnStable = () =>
    waitFor(
      async () => {
        const backends = await traefikBackends(world.traefikApiUrl, env.namespace);
        const ips = await readyPodIps();
        return !backends.canary && ips.length === 3 && JSON.stringify(backends.ips) === JSON.stringify(ips);
      },
      { timeoutMs: 60_000, intervalMs: 250, description: 'Traefik sending only to the 3 ready pods of web' },
    );
  /** Lines of the pod runner's log (timestamped) within 3 s of a failure, for the post-mortem. */
  const podRunnerAround = (times: string[]) => {
    const stateDir = world.stateDir;
    if (stateDir === undefined || times.length === 0) return '';
    const log = readFileSync(join(stateDir, 'logs', 'pod-runner.log'), 'utf8').split('\n');
    const at = times.map((t) => Date.parse(t.split(' ')[0] ?? ''));
    const near = log.filter((line) => {
      const t = Date.parse(line.split(' ')[0] ?? '');
      return Number.isFinite(t) && at.some((f) => Math.abs(f - t) < 3000);
    });
    return `\npod runner around the failures:\n${near.join('\n')}`;
  };

  it('When someone runs `kubectl rollout resume` mid-release, Then canaryd pauses it again, says so, and status prints the share Traefik carries', async () => {
    await world.setImage('v2');
    await world.stepHolds(0, 5);
    await world.dataPlaneCarries(5);
    const resume = await kubectl(env, 'rollout', 'resume', `deployment/${APP}`);
    expect(resume.code, resume.stderr).toBe(0);
    const said = await thenEvent(env, { kind: 'Deployment', name: APP, reason: 'DriftCorrected' });
    expect(said.message).toContain('unpaused during the release');
    await waitFor(
      async () =>
        (await env.apps.readNamespacedDeployment({ name: APP, namespace: env.namespace })).spec?.paused === true,
      { timeoutMs: 10_000, description: 'web paused again' },
    );
    // The pods the resume started run v2 but are in no Service (the stable one is pinned to
    // v1's pods): the route still carries 5 %, and that is what status prints.
    const shown = await world.statusAgreesWithProxy('v2', 4000);
    expect(shown.share).toBe(5);
    expect((await world.status())?.release?.current?.stepIndex).toBe(0);
  });

  it('When the operator runs promote --full under steady load, four times, Then no request fails, neither at the proxy nor at the app', async () => {
    const rounds: Round[] = [];
    for (const version of ['v2', 'v3', 'v4', 'v5']) {
      if (version !== 'v2') {
        await world.setImage(version);
        await world.stepHolds(0, 5);
        await world.dataPlaneCarries(5);
      }
      const steady = streamThroughProxy({
        proxyUrl: world.proxyUrl,
        host: world.host(),
        maxDurationMs: 4 * 60_000,
        load: STEADY_LOAD,
      });
      try {
        const promoted = await operator().run('promote', APP, '--full');
        expect(promoted.code, promoted.stderr).toBe(0);
        expect(promoted.stdout).toContain(': applied\n');
        await world.waitForStatus(`${version} promoted`, (s) => s.phase === 'succeeded', 120_000);
        await world.canaryRemoved();
        await dataPlaneOnlyOnStable();
      } finally {
        const round = countRound(version, await steady.stop());
        rounds.push(round);
        console.log(`promote --full of ${version}: ${JSON.stringify(round)}`);
      }
      expect((await world.through(500)).byVersion).toEqual({ [version]: 500 });
    }
    const failed = rounds.filter(
      (r) => r.unanswered > 0 || Object.keys(r.proxy).length > 0 || Object.keys(r.app).length > 0,
    );
    const why = `${JSON.stringify(rounds, null, 1)}${podRunnerAround(failed.flatMap((r) => r.failuresAt))}`;
    for (const round of rounds) expect(round.sent, why).toBeGreaterThan(1000);
    expect(failed, why).toEqual([]);
  });
});
