// Release journeys on the real control plane, part 2: `undo --to-revision` after two promoted
// releases (through the canary process, and with --skip-canary straight), and a release during
// which canaryd is killed with SIGKILL three times and restarted: it finishes promoted with no
// step repeated or skipped and one canary Deployment for the whole release. Invariant 1 is
// checked throughout both (see support/journey-records.ts).
import type * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { templateHash } from '../src/controller/template.ts';
import type { JsonValue } from '../src/engine/types.ts';
import { sendLoad } from './cluster/loadgen.ts';
import { waitFor } from './cluster/wait.ts';
import { type CanarydProcess, installCrd, startCanaryd } from './support/canaryd.ts';
import { type TestEnv, useTestEnv } from './support/env.ts';
import {
  indexOf,
  isCanary,
  isStable,
  phasesOf,
  recordJourney,
  releaseStates,
  stepStarts,
} from './support/journey-records.ts';
import { APP, CANARY, deployManaged, operate, setTemplate } from './support/managed-app.ts';
import {
  imageOf,
  intendedWeightOf,
  type PolicyView,
  readRelease,
  readStatus,
  waitForCanaryGone,
  waitForPolicy,
  waitForSettled,
} from './support/release-status.ts';

const hashOf = (deployment: k8s.V1Deployment) => templateHash(deployment.spec!.template as unknown as JsonValue);
const canarydArgs = (env: TestEnv) => ['--namespace', env.namespace, '--log-level', 'debug'];

/** Sets a new template and waits until it is promoted and the Deployment has settled on it. */
async function promote(env: TestEnv, version: string, changeCause?: string): Promise<void> {
  const before = (await readRelease(env))?.history.length ?? 0;
  await setTemplate(env, version, changeCause === undefined ? {} : { changeCause });
  await waitForPolicy(
    env,
    `${version} promoted`,
    (s) => s.phase === 'succeeded' && (s.release?.history.length ?? 0) > before,
    120_000,
  );
  await waitForSettled(env, `canaryd-demo:${version}`);
  await waitForCanaryGone(env);
}

describe('undo --to-revision', () => {
  const env = useTestEnv('undo');
  let canaryd: CanarydProcess | undefined;
  beforeAll(async () => {
    await installCrd(env.kc);
    canaryd = startCanaryd(env.kubeconfig, canarydArgs(env));
  });
  afterAll(async () => {
    await canaryd?.stop();
  });

  it('releases revision N through the canary steps, and with skipCanary straight', async () => {
    await deployManaged(env, { steps: [{ weight: 50, hold: '2s' }] });
    const journey = await recordJourney(env);
    const { deployments, policy } = journey;
    // v2 comes with a change-cause; v3 is set later without touching it (Helm, `kubectl set
    // image`): the old text must not label v3.
    await promote(env, 'v2', 'roll out v2 (ticket 42)');
    await promote(env, 'v3');
    const history = (await readRelease(env))!.history;
    expect(history.map((h) => [h.revision, h.outcome])).toEqual([
      [1, 'adopted'],
      [2, 'succeeded'],
      [3, 'succeeded'],
    ]);
    const [v1, v2, v3] = [history[0]!, history[1]!, history[2]!];
    expect(v2.changeCause).toBe('roll out v2 (ticket 42)');
    expect(v3.changeCause).toContain('canaryd-demo:v2 → canaryd-demo:v3');
    expect(v3.changeCause).not.toContain('ticket 42');

    // undo --to-revision=2: v2's template goes through the canary steps again.
    let mark = deployments.events.length;
    const undo = await operate(env, { op: 'undo', toRevision: 2 }, 'e2e-dave');
    const carrying = await waitForPolicy(
      env,
      'the undo release: its canary receiving traffic',
      (s) => s.release?.current?.origin === 'undo' && s.phase === 'progressing' && (s.weight ?? 0) > 0,
    );
    expect(carrying.release!.current!.templateHash).toBe(v2.templateHash);
    const mixed = await sendLoad(env.kc, { namespace: env.namespace, service: APP, requests: 200, concurrency: 4 });
    expect(mixed.byVersion.v2 ?? 0).toBeGreaterThan(0);
    expect(mixed.byVersion.v3 ?? 0).toBeGreaterThan(0);
    let undone = await waitForPolicy(
      env,
      'the undo release promoted',
      (s) => s.phase === 'succeeded' && s.release!.history.length === 4,
      120_000,
    );
    await waitForSettled(env, 'canaryd-demo:v2');
    await waitForCanaryGone(env);
    let entry = undone.release!.history.at(-1)!;
    expect(entry).toMatchObject({ revision: 4, outcome: 'succeeded', templateHash: v2.templateHash });
    expect(entry.changeCause).toBe(`undo --to-revision=2: revision 3 → revision 2 (revision 2 was: ${v2.changeCause})`);
    expect(entry.operations).toEqual([
      { id: undo.id, op: 'undo', toRevision: 2, fromRevision: 3, by: 'e2e-dave', at: undo.at, result: 'applied' },
    ]);
    // The canary was created once, from v2's template, and the Deployment was given v2's template
    // while still paused, before it was unpaused to roll.
    const canaryAdded = deployments.events.slice(mark).filter((e) => isCanary(e) && e.type === 'ADDED');
    expect(canaryAdded.map((e) => imageOf(e.object))).toEqual(['canaryd-demo:v2']);
    const applied = indexOf(deployments.events, mark, (e) => isStable(e) && hashOf(e.object) === v2.templateHash);
    const unpaused = indexOf(deployments.events, mark, (e) => isStable(e) && e.object.spec?.paused !== true);
    expect(applied).toBeGreaterThanOrEqual(mark);
    expect(deployments.events[applied]!.object.spec?.paused).toBe(true);
    expect(unpaused).toBeGreaterThan(applied);

    // undo --to-revision=1 --skip-canary: straight to promotion, no canary at all.
    mark = deployments.events.length;
    const policyMark = policy.events.length;
    const straight = await operate(env, { op: 'undo', toRevision: 1, skipCanary: true }, 'e2e-dave');
    undone = await waitForPolicy(
      env,
      'the skip-canary undo promoted',
      (s) => s.phase === 'succeeded' && s.release!.history.length === 5,
      120_000,
    );
    await waitForSettled(env, 'canaryd-demo:v1');
    entry = undone.release!.history.at(-1)!;
    expect(entry).toMatchObject({ revision: 5, outcome: 'succeeded', templateHash: v1.templateHash });
    expect(entry.changeCause).toBe(
      `undo --to-revision=1 --skip-canary: revision 4 → revision 1 (revision 1 was: ${v1.changeCause})`,
    );
    expect(entry.operations).toEqual([
      {
        id: straight.id,
        op: 'undo',
        toRevision: 1,
        skipCanary: true,
        fromRevision: 4,
        by: 'e2e-dave',
        at: straight.at,
        result: 'applied',
      },
    ]);
    expect(deployments.events.slice(mark).filter(isCanary)).toEqual([]);
    const straightPhases = phasesOf(
      policy.events
        .slice(policyMark)
        .filter((e) => e.object.status?.release?.current?.templateHash === v1.templateHash),
    );
    expect(straightPhases).toEqual(['promoting']);
    expect(phasesOf(policy.events.slice(policyMark))).toEqual(['succeeded', 'promoting', 'succeeded']);
    const after = await sendLoad(env.kc, { namespace: env.namespace, service: APP, requests: 100, concurrency: 4 });
    expect(after.byVersion).toEqual({ v1: 100 });
    await journey.finish();
  });
});

describe('canaryd killed with SIGKILL during a release', () => {
  const env = useTestEnv('crash');
  let canaryd: CanarydProcess | undefined;
  beforeAll(async () => {
    await installCrd(env.kc);
    canaryd = startCanaryd(env.kubeconfig, canarydArgs(env));
  });
  afterAll(async () => {
    await canaryd?.stop();
  });

  /** SIGKILL canaryd at once, note where the release was, start a new one. */
  async function crash(): Promise<PolicyView['status']> {
    await canaryd!.kill();
    const status = await readStatus(env);
    canaryd = startCanaryd(env.kubeconfig, canarydArgs(env));
    return status;
  }

  it('finishes promoted, with no step repeated or skipped and one canary Deployment', async () => {
    const holdMs = 4000;
    await deployManaged(env, {
      steps: [
        { weight: 25, hold: '4s' },
        { weight: 50, hold: '4s' },
      ],
    });
    const journey = await recordJourney(env);
    const { deployments, policy, replicaSets } = journey;
    await setTemplate(env, 'v2');

    // 1: right after the canary Deployment appears.
    await waitFor(async () => deployments.events.some((e) => isCanary(e) && e.type === 'ADDED'), {
      timeoutMs: 30_000,
      intervalMs: 20,
      description: 'the canary Deployment created',
    });
    const first = await crash();
    expect(first?.release?.current).toMatchObject({ stepIndex: 0 });
    expect(first?.release?.current?.stepStartedAt).toBeUndefined();

    // 2: mid-step, while the canary carries weight (step 2 of 2).
    await waitForPolicy(
      env,
      'step 2 carrying weight',
      (s) =>
        s.phase === 'progressing' &&
        s.release?.current?.stepIndex === 1 &&
        s.release.current.stepStartedAt !== undefined &&
        (s.weight ?? 0) > 0,
    );
    const second = await crash();
    expect(second?.release?.current?.stepIndex).toBe(1);
    expect(second?.weight ?? 0).toBeGreaterThan(0);

    // 3: during promotion (the stable Deployment rolling to v2).
    await waitFor(async () => policy.events.some((e) => e.object.status?.release?.phase === 'promoting'), {
      timeoutMs: 60_000,
      intervalMs: 20,
      description: 'promotion to begin',
    });
    const third = await crash();
    expect(third?.release?.phase).toBe('promoting');

    const done = await waitForPolicy(env, 'the release promoted', (s) => s.phase === 'succeeded', 120_000);
    await waitForSettled(env, 'canaryd-demo:v2');
    await waitForCanaryGone(env);
    const v2Hash = done.release!.history.at(-1)!.templateHash;
    expect(done.release!.history.map((h) => h.outcome)).toEqual(['adopted', 'succeeded']);

    // One canary Deployment for the whole release (same uid throughout), with one ReplicaSet.
    const canaryEvents = deployments.events.filter(isCanary);
    expect(canaryEvents.filter((e) => e.type === 'ADDED')).toHaveLength(1);
    expect(canaryEvents.filter((e) => e.type === 'DELETED')).toHaveLength(1);
    expect(canaryEvents.at(-1)!.type).toBe('DELETED');
    expect(new Set(canaryEvents.map((e) => e.object.metadata?.uid)).size).toBe(1);
    const canarySets = replicaSets.events.filter(
      (e) => e.type === 'ADDED' && e.object.metadata?.ownerReferences?.some((o) => o.name === CANARY),
    );
    expect(canarySets).toHaveLength(1);

    // The route's weight only went up, step by step, and to zero once at the end.
    const weights = canaryEvents
      .map((e) => intendedWeightOf(e.object))
      .filter((w, i, all) => w !== undefined && w !== all[i - 1]);
    expect(weights).toEqual(['25', '50', '0']);

    // Every step started exactly once, in order, each held for its hold time.
    const states = releaseStates(policy.events, v2Hash);
    const indices = states.map((s) => s.stepIndex);
    expect(indices).toEqual([...indices].sort((a, b) => a - b));
    const starts = stepStarts(states);
    expect([...starts.keys()]).toEqual([0, 1]);
    expect(starts.get(0)).toHaveLength(1);
    expect(starts.get(1)).toHaveLength(1);
    const entered1 = states.find((s) => s.stepIndex === 1)!.stepEnteredAt!;
    expect(Date.parse(entered1) - Date.parse(starts.get(0)![0]!)).toBeGreaterThanOrEqual(holdMs);
    const promoting = policy.events.find((e) => e.object.status?.release?.phase === 'promoting')!;
    expect(promoting.at - Date.parse(starts.get(1)![0]!)).toBeGreaterThanOrEqual(holdMs);
    // Timers as before: the release deadline was set once.
    expect(new Set(states.map((s) => s.deadlines.release)).size).toBe(1);
    expect(new Set(states.map((s) => s.startedAt)).size).toBe(1);

    const after = await sendLoad(env.kc, { namespace: env.namespace, service: APP, requests: 100, concurrency: 4 });
    expect(after.byVersion).toEqual({ v2: 100 });
    await journey.finish();
  });
});
