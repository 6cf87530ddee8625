// Release journeys on the real control plane (replica-ratio router, short holds): a canary that
// never becomes ready, a manual abort, pause/resume, and a newer template mid-release. Each
// journey has its own namespace and its own canaryd, and every one records every Deployment
// and policy change by watch, so the order of writes is asserted, not guessed; invariant 1
// (the Service, which carries traffic throughout, never has zero ready endpoints) is checked
// in all of them.
import type * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { templateHash } from '../src/controller/template.ts';
import type { JsonValue } from '../src/engine/types.ts';
import { sendLoad } from './cluster/loadgen.ts';
import { type CanarydProcess, installCrd, startCanaryd } from './support/canaryd.ts';
import { type TestEnv, useTestEnv } from './support/env.ts';
import { indexOf, isCanary, isStable, recordJourney, releaseStates, stepStarts } from './support/journey-records.ts';
import { APP, CANARY, deployManaged, NEVER_READY, operate, setTemplate } from './support/managed-app.ts';
import {
  holdsUntil,
  imageOf,
  intendedWeightOf,
  readRelease,
  readStatus,
  waitForCanaryGone,
  waitForPolicy,
  waitForSettled,
} from './support/release-status.ts';

function useJourney(prefix: string): { env: TestEnv; canaryd(): CanarydProcess } {
  const env = useTestEnv(prefix);
  let canaryd: CanarydProcess | undefined;
  beforeAll(async () => {
    await installCrd(env.kc);
    canaryd = startCanaryd(env.kubeconfig, ['--namespace', env.namespace, '--log-level', 'debug']);
  });
  afterAll(async () => {
    await canaryd?.stop();
  });
  return { env, canaryd: () => canaryd! };
}

const hashOf = (deployment: k8s.V1Deployment) => templateHash(deployment.spec!.template as unknown as JsonValue);
const readStable = (env: TestEnv) => env.apps.readNamespacedDeployment({ name: APP, namespace: env.namespace });
const canaryExists = async (env: TestEnv) =>
  (await env.apps.readNamespacedDeployment({ name: CANARY, namespace: env.namespace }).catch(() => null)) !== null;

/** Why a release whose canary pods never pass their readiness probe rolls back (how many of how many). */
const NOT_READY_IN_TIME =
  /^the canary was not ready within timeouts\.canaryReady \(8s\): 0 of [1-9]\d* canary pod\(s\) ready$/;
describe('a canary that never becomes ready', () => {
  const { env } = useJourney('never');

  it('rolls back at timeouts.canaryReady; the revision waits for a new template or a retry', async () => {
    await deployManaged(env, {
      steps: [
        { weight: 25, hold: '3s' },
        { weight: 50, hold: '3s' },
      ],
      timeouts: { canaryReady: '8s' },
    });
    const stableHash = hashOf(await readStable(env));
    const journey = await recordJourney(env);
    const { deployments, policy } = journey;

    await setTemplate(env, 'v2', { neverReady: true });
    const badHash = hashOf(await readStable(env));
    const failed = await waitForPolicy(env, 'the release to roll back (phase failed)', (s) => s.phase === 'failed');
    const entry = failed.release!.history.at(-1)!;
    expect(entry).toMatchObject({ outcome: 'rolledBack', templateHash: badHash });
    expect(entry.reason).toMatch(NOT_READY_IN_TIME);
    expect(failed.release!.failedRevisions).toContain(badHash);

    // At the deadline, not before: the rollback began canaryReady after the step was entered.
    const entered = releaseStates(policy.events, badHash).find((s) => s.stepEnteredAt)!.stepEnteredAt!;
    const rollingBack = policy.events.find(
      (e) =>
        e.object.status?.release?.phase === 'rollingBack' && e.object.status.release.current?.templateHash === badHash,
    )!;
    expect(rollingBack.at - Date.parse(entered)).toBeGreaterThanOrEqual(8000);
    expect(rollingBack.at - Date.parse(entered)).toBeLessThan(8000 + 5000);
    // The canary never served: its pods stayed Pending and it never got a weight.
    const canaryEvents = deployments.events.filter(isCanary);
    expect(canaryEvents.length).toBeGreaterThan(0);
    expect(canaryEvents.every((e) => (e.object.status?.readyReplicas ?? 0) === 0)).toBe(true);
    expect(canaryEvents.every((e) => (intendedWeightOf(e.object) ?? '0') === '0')).toBe(true);
    expect(canaryEvents[0]!.object.spec?.template.metadata?.labels?.[NEVER_READY]).toBe('true');

    // Rolled back: the stable template is back, the Deployment still paused, the canary gone.
    await waitForCanaryGone(env);
    const restored = await readStable(env);
    expect(hashOf(restored)).toBe(stableHash);
    expect(restored.spec?.paused).toBe(true);
    expect(imageOf(restored)).toBe('canaryd-demo:v1');
    expect(restored.spec?.template.metadata?.labels?.[NEVER_READY]).toBeUndefined();
    // In order: weight 0 (the canary scaled to nothing), the template restored, the canary deleted.
    const badAt = indexOf(deployments.events, 0, (e) => isStable(e) && hashOf(e.object) === badHash);
    const zeroAt = indexOf(
      deployments.events,
      badAt,
      (e) => isCanary(e) && e.object.spec?.replicas === 0 && intendedWeightOf(e.object) === '0',
    );
    const restoreAt = indexOf(deployments.events, badAt, (e) => isStable(e) && hashOf(e.object) === stableHash);
    const deletedAt = indexOf(deployments.events, badAt, (e) => isCanary(e) && e.type === 'DELETED');
    expect(badAt).toBeGreaterThanOrEqual(0);
    expect(zeroAt).toBeGreaterThan(badAt);
    expect(restoreAt).toBeGreaterThan(zeroAt);
    expect(deletedAt).toBeGreaterThan(restoreAt);

    // The same template again is not released: the policy says why and nothing moves.
    const mark = deployments.events.length;
    await setTemplate(env, 'v2', { neverReady: true });
    expect(hashOf(await readStable(env))).toBe(badHash);
    await waitForPolicy(env, 'the failed template to be noticed and refused', (s) =>
      (s.release?.reason ?? '').includes(`template ${badHash} failed before`),
    );
    await holdsUntil(Date.now() + 5000, 'a failed template is not released again by itself', async () => {
      const release = await readRelease(env);
      if (release?.phase !== 'failed') return `phase ${release?.phase}`;
      if (release.current !== undefined) return `a release runs: ${JSON.stringify(release.current.reason)}`;
      if (await canaryExists(env)) return 'a canary Deployment exists';
      const deployment = await readStable(env);
      if (deployment.spec?.paused !== true) return 'the Deployment was unpaused';
      if (hashOf(deployment) !== badHash) return 'the Deployment template was changed';
      return null;
    });
    expect(deployments.events.slice(mark).filter(isCanary)).toEqual([]);

    // A person asks for a retry: the same revision goes through the canary process again.
    const retry = await operate(env, { op: 'retry' }, 'e2e-bob');
    const retried = await waitForPolicy(
      env,
      'the retried release to begin',
      (s) => s.release?.current?.origin === 'retry' && s.release.current.templateHash === badHash,
    );
    expect(retried.release!.failedRevisions).not.toContain(badHash);
    const failedAgain = await waitForPolicy(
      env,
      'the retried release to roll back again',
      (s) => s.phase === 'failed' && s.release!.history.length > failed.release!.history.length,
    );
    const retryEntry = failedAgain.release!.history.at(-1)!;
    expect(retryEntry).toMatchObject({
      outcome: 'rolledBack',
      templateHash: badHash,
      reason: expect.stringMatching(NOT_READY_IN_TIME),
    });
    expect(retryEntry.operations).toContainEqual({
      id: retry.id,
      op: 'retry',
      // The stable revision the retried release would have replaced (recorded since issue 12).
      fromRevision: 1,
      by: 'e2e-bob',
      at: retry.at,
      result: 'applied',
    });
    expect(deployments.events.slice(mark).filter((e) => isCanary(e) && e.type === 'ADDED')).toHaveLength(1);
    await waitForCanaryGone(env);
    expect(hashOf(await readStable(env))).toBe(stableHash);

    // A different template is released as usual, and promoted.
    await setTemplate(env, 'v3');
    const promoted = await waitForPolicy(env, 'v3 promoted', (s) => s.phase === 'succeeded', 120_000);
    expect(promoted.release!.history.at(-1)).toMatchObject({ outcome: 'succeeded' });
    expect(promoted.release!.history.at(-1)!.changeCause).toContain('canaryd-demo:v1 → canaryd-demo:v3');
    const final = await waitForSettled(env, 'canaryd-demo:v3');
    expect(final.spec?.template.metadata?.labels?.[NEVER_READY]).toBeUndefined();
    await waitForCanaryGone(env);
    await journey.finish();
  });
});

describe('a manual abort mid-release', () => {
  const { env } = useJourney('abort');

  it('takes the weight to zero first, then restores the template, then removes the canary', async () => {
    await deployManaged(env, {
      steps: [
        { weight: 25, hold: '10m' },
        { weight: 50, hold: '3s' },
      ],
    });
    const stableHash = hashOf(await readStable(env));
    const journey = await recordJourney(env);
    const { deployments } = journey;

    await setTemplate(env, 'v2');
    const carrying = await waitForPolicy(
      env,
      'the canary receiving traffic',
      (s) => s.phase === 'progressing' && (s.weight ?? 0) > 0,
    );
    const v2Hash = carrying.release!.current!.templateHash;
    const mixed = await sendLoad(env.kc, { namespace: env.namespace, service: APP, requests: 200, concurrency: 4 });
    expect(mixed.byVersion.v2 ?? 0).toBeGreaterThan(0);

    const mark = deployments.events.length;
    const abort = await operate(env, { op: 'abort' }, 'e2e-alice');
    const sentAt = Date.now();
    const failed = await waitForPolicy(env, 'the aborted release to be rolled back', (s) => s.phase === 'failed');
    await waitForCanaryGone(env);

    const events = deployments.events;
    const zero = indexOf(
      events,
      mark,
      (e) => isCanary(e) && e.object.spec?.replicas === 0 && intendedWeightOf(e.object) === '0',
    );
    const restore = indexOf(events, mark, (e) => isStable(e) && hashOf(e.object) === stableHash);
    const removed = indexOf(events, mark, (e) => isCanary(e) && e.type === 'DELETED');
    expect(zero).toBeGreaterThanOrEqual(mark);
    expect(restore).toBeGreaterThan(zero);
    expect(removed).toBeGreaterThan(restore);
    // Invariant 2: the weight went to zero within a second of the abort.
    expect(events[zero]!.at - sentAt).toBeLessThan(1000);
    // The drain: the canary is deleted spec.traffic.drainDelay (default 5s) after canaryd saw
    // weight 0, an instant it persisted in the release state.
    const draining = journey.policy.events.find((e) => e.object.status?.release?.drain !== undefined);
    const drainSince = Date.parse(draining!.object.status!.release!.drain!.since);
    expect(drainSince).toBeGreaterThanOrEqual(events[zero]!.at - 1000);
    expect(events[removed]!.at).toBeGreaterThanOrEqual(drainSince + 5000);
    // No canary pod is counted by the route after the weight write (the pods only go away).
    expect(
      events
        .slice(zero)
        .filter(isCanary)
        .every((e) => e.object.spec?.replicas === 0 || e.type === 'DELETED'),
    ).toBe(true);

    const entry = failed.release!.history.at(-1)!;
    expect(entry).toMatchObject({ outcome: 'rolledBack', templateHash: v2Hash, reason: 'aborted by e2e-alice' });
    expect(entry.operations).toEqual([{ id: abort.id, op: 'abort', by: 'e2e-alice', at: abort.at, result: 'applied' }]);
    expect(Date.parse(entry.endedAt)).toBeGreaterThanOrEqual(Date.parse(abort.at));
    expect(failed.release!.failedRevisions).toContain(v2Hash);
    const deployment = await readStable(env);
    expect(hashOf(deployment)).toBe(stableHash);
    expect(deployment.spec?.paused).toBe(true);
    const after = await sendLoad(env.kc, { namespace: env.namespace, service: APP, requests: 100, concurrency: 4 });
    expect(after.byVersion).toEqual({ v1: 100 });
    await journey.finish();
  });
});

describe('pause and resume', () => {
  const { env } = useJourney('pause');

  it('a paused step holds its weight past its hold time; resume continues to promotion', async () => {
    const holdMs = 3000;
    await deployManaged(env, {
      steps: [
        { weight: 25, hold: '3s' },
        { weight: 50, hold: '3s' },
      ],
    });
    const journey = await recordJourney(env);
    const { policy } = journey;

    await setTemplate(env, 'v2');
    const started = await waitForPolicy(
      env,
      'step 1 started',
      (s) =>
        s.phase === 'progressing' &&
        s.release?.current?.stepIndex === 0 &&
        s.release.current.stepStartedAt !== undefined &&
        (s.weight ?? 0) > 0,
    );
    const v2Hash = started.release!.current!.templateHash;
    const pause = await operate(env, { op: 'pause' }, 'e2e-carol');
    const paused = await waitForPolicy(env, 'the release paused', (s) => s.phase === 'paused');
    // The pause landed within step 1 (the hold is short, but the pause is read at once).
    expect(paused.release!.current!.stepIndex).toBe(0);
    expect(paused.release!.current!.pausedBy).toMatchObject({ cause: 'manual', by: 'e2e-carol' });
    const stepStartedAt = paused.release!.current!.stepStartedAt!;
    const weight = paused.weight;

    // Paused: the weight holds past the hold time plus a margin, checked on every look.
    const until = Math.max(Date.now(), Date.parse(stepStartedAt) + holdMs) + holdMs + 3000;
    const looks = await holdsUntil(until, 'a paused step holds its weight', async () => {
      const status = (await readStatus(env)) ?? {};
      const current = status.release?.current;
      if (status.phase !== 'paused') return `phase ${status.phase}`;
      if (current?.stepIndex !== 0) return `step index ${current?.stepIndex}`;
      if (current.stepStartedAt !== stepStartedAt) return `step restarted at ${current.stepStartedAt}`;
      if (status.weight !== weight) return `weight ${status.weight}, was ${weight}`;
      return null;
    });
    expect(looks).toBeGreaterThan(10);
    expect(releaseStates(policy.events, v2Hash).every((s) => s.stepIndex === 0)).toBe(true);

    const resume = await operate(env, { op: 'resume' }, 'e2e-carol');
    const promoted = await waitForPolicy(env, 'the release promoted', (s) => s.phase === 'succeeded', 120_000);
    const entry = promoted.release!.history.at(-1)!;
    expect(entry).toMatchObject({ outcome: 'succeeded', templateHash: v2Hash });
    expect(entry.operations).toEqual([
      { id: pause.id, op: 'pause', by: 'e2e-carol', at: pause.at, result: 'applied' },
      { id: resume.id, op: 'resume', by: 'e2e-carol', at: resume.at, result: 'applied' },
    ]);
    // Each step started once; step 2 only after the resume.
    const starts = stepStarts(releaseStates(policy.events, v2Hash));
    expect([...starts.keys()]).toEqual([0, 1]);
    expect(starts.get(0)).toEqual([stepStartedAt]);
    expect(starts.get(1)).toHaveLength(1);
    expect(Date.parse(starts.get(1)![0]!)).toBeGreaterThanOrEqual(Date.parse(resume.at));
    await waitForSettled(env, 'canaryd-demo:v2');
    await waitForCanaryGone(env);
    await journey.finish();
  });
});

describe('a newer template mid-release', () => {
  const { env } = useJourney('newer');

  it('restarts the release with the newer template (v2 superseded) and promotes the newest', async () => {
    await deployManaged(env, {
      steps: [
        { weight: 25, hold: '4s' },
        { weight: 50, hold: '4s' },
      ],
    });
    const journey = await recordJourney(env);
    const { deployments, policy } = journey;

    await setTemplate(env, 'v2');
    const carrying = await waitForPolicy(
      env,
      'v2 receiving traffic',
      (s) => s.phase === 'progressing' && (s.weight ?? 0) > 0,
    );
    const v2Hash = carrying.release!.current!.templateHash;
    const mark = deployments.events.length;
    await setTemplate(env, 'v3');
    const v3Hash = hashOf(await readStable(env));
    const promoted = await waitForPolicy(env, 'v3 promoted', (s) => s.phase === 'succeeded', 120_000);

    const history = promoted.release!.history;
    const superseded = history.find((h) => h.templateHash === v2Hash)!;
    expect(superseded).toMatchObject({ outcome: 'superseded' });
    expect(superseded.reason).toContain('superseded by a newer template');
    expect(history.at(-1)).toMatchObject({ outcome: 'succeeded', templateHash: v3Hash });
    expect(history.at(-1)!.changeCause).toContain('canaryd-demo:v1 → canaryd-demo:v3');
    expect(history.filter((h) => h.outcome === 'succeeded')).toHaveLength(1);

    // The weight went to zero before the canary was given the newer template.
    const events = deployments.events;
    const zero = indexOf(events, mark, (e) => isCanary(e) && intendedWeightOf(e.object) === '0');
    const updated = indexOf(events, mark, (e) => isCanary(e) && imageOf(e.object) === 'canaryd-demo:v3');
    expect(zero).toBeGreaterThanOrEqual(mark);
    expect(updated).toBeGreaterThan(zero);
    // The newer release started again at step 1 with no weight, and ran every step once.
    const v3States = releaseStates(policy.events, v3Hash);
    expect(v3States[0]).toMatchObject({ stepIndex: 0, weight: 0 });
    const starts = stepStarts(v3States);
    expect([...starts.keys()]).toEqual([0, 1]);
    expect([...starts.values()].every((s) => s.length === 1)).toBe(true);

    await waitForSettled(env, 'canaryd-demo:v3');
    await waitForCanaryGone(env);
    const after = await sendLoad(env.kc, { namespace: env.namespace, service: APP, requests: 100, concurrency: 4 });
    expect(after.byVersion).toEqual({ v3: 100 });
    await journey.finish();
  });
});
