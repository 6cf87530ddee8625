// Who is recorded as the actor of an operation (issue 12: "the authenticated identity of whoever
// asked"), through both paths a person has: `kubectl canary` (which writes the operation
// annotations as its user; the operation-actor ValidatingAdmissionPolicy refuses an annotation
// naming anyone else) and canaryd's HTTP API (which takes the caller from TokenReview and
// refuses a body that tries to name one). Both need the same RBAC verb, patch on
// canarypolicies (docs/operations.md, "Who may operate, and who is recorded").
import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { waitFor } from './cluster/wait.ts';
import { createOperator } from './support/cli.ts';
import { apiMessage, GROUP, PLURAL, statusOf, VERSION } from './support/crd.ts';
import { APP, setTemplate } from './support/managed-app.ts';
import { givenManagedApp, thenEvent, whenStepHolds } from './support/operator-journey.ts';
import { readRelease } from './support/release-status.ts';
import { canarydAddress, http, kubeconfigToken } from './support/service.ts';

describe('Given a release holding step 1, operators who may patch CanaryPolicies, and the operation-actor admission policy', () => {
  const world = givenManagedApp('cli-actor', {
    steps: [
      { weight: 25, hold: '1h' },
      { weight: 50, hold: '1h' },
    ],
  });

  it('When they write an operation naming someone else, Then the API server refuses it; kubectl canary records their own name', async () => {
    const { env, operator } = world;
    const mallory = await createOperator(env, 'mallory');
    await setTemplate(env, 'v2');
    await whenStepHolds(env, 1);

    // Forged: mallory writes a pause "by alice" with plain API calls (what kubectl annotate does).
    const custom = mallory.kc.makeApiClient(k8s.CustomObjectsApi);
    const forged = {
      metadata: {
        annotations: {
          'canaryd.dev/operation': JSON.stringify({ id: 'forged-1', op: 'pause', at: new Date().toISOString() }),
          'canaryd.dev/operation-by': operator.username,
        },
      },
    };
    const target = { group: GROUP, version: VERSION, namespace: env.namespace, plural: PLURAL, name: APP };
    const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
    const forgedWrite = (dryRun: boolean) =>
      custom
        .patchNamespacedCustomObject({ ...target, body: forged, ...(dryRun ? { dryRun: 'All' } : {}) }, mergePatch)
        .then(
          () => null,
          (error: unknown) => error,
        );
    // The admission policy was created moments ago (installCrd); admission also runs for a
    // dry run, so wait with those until the API server enforces it, without writing anything.
    await waitFor(async () => (await forgedWrite(true)) !== null, {
      timeoutMs: 20_000,
      description: 'the operation-actor admission policy in force',
    });
    const refusal = await forgedWrite(false);
    expect(statusOf(refusal)).toBe(403);
    expect(apiMessage(refusal)).toContain(
      `canaryd.dev/operation-by must be your own username "${mallory.username}", not "${operator.username}"`,
    );
    const unchanged = await readRelease(env);
    expect(unchanged?.phase).toBe('progressing');
    expect(unchanged?.recentOperations ?? []).toEqual([]);

    // The same operation through kubectl canary: recorded as mallory, and she sees it.
    const paused = await mallory.run('pause', APP);
    expect(paused.code).toBe(0);
    expect(paused.stdout).toContain(`requested by ${mallory.username}`);
    expect(paused.stdout).toContain(': applied\n');
    const release = await readRelease(env);
    expect(release?.current?.pausedBy).toMatchObject({ cause: 'manual', by: mallory.username });
    expect(release?.recentOperations?.at(-1)).toMatchObject({ op: 'pause', by: mallory.username, result: 'applied' });

    // A paused release waits for a person: status exits 3 (and so does --watch, at once).
    const status = await operator.run('status', APP, '--watch', '--timeout', '30s');
    expect(status.code).toBe(3);
    expect(status.stdout).toContain(`paused by ${mallory.username}`);
  });

  it('When they ask canaryd’s HTTP API naming someone else, Then the body is refused; with their own token only, they are recorded', async () => {
    const { env, operator, canaryd } = world;
    // After the test above: paused by mallory. alice resumes through the HTTP API.
    const address = await canarydAddress(canaryd!);
    const token = kubeconfigToken(operator.kubeconfig);
    const resume = `/api/v1/namespaces/${env.namespace}/releases/${APP}/resume`;
    const forged = await http(address, resume, { method: 'POST', token, body: { by: 'system:serviceaccount:x:root' } });
    expect(forged.status).toBe(400);
    expect(forged.json).toMatchObject({ code: 'invalid-body', message: expect.stringContaining('"by"') });
    expect((await readRelease(env))?.current?.pausedBy).toMatchObject({ cause: 'manual' });

    const accepted = await http(address, resume, { method: 'POST', token });
    expect(accepted.status, accepted.text).toBe(202);
    const { operation } = accepted.json as { operation: { id: string; op: string; by: string } };
    expect(operation).toMatchObject({ op: 'resume', by: operator.username });
    const recorded = await waitFor(
      async () => (await readRelease(env))?.recentOperations?.find((op) => op.id === operation.id && op.result),
      { timeoutMs: 30_000, description: 'the resume processed by canaryd' },
    );
    expect(recorded).toMatchObject({ op: 'resume', by: operator.username, result: 'applied' });
    // And what a person reads on the policy: who did it, as Kubernetes authenticated them.
    const said = await thenEvent(
      env,
      { kind: 'CanaryPolicy', name: APP, reason: 'Operation' },
      (e) => e.message?.includes(`resume by ${operator.username}`) === true,
    );
    expect(said.message).toContain('applied');
    expect((await operator.run('status', APP)).stdout).toMatch(/^Phase: +progressing/m);
  });
});
