// The canaryd API against the real apiserver's authentication and RBAC: real ServiceAccount tokens
// from the TokenRequest API, TokenReview and SubjectAccessReview done by the running canaryd, and
// an operation by a ServiceAccount that ends up, with its name, in the release history and Events.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './cluster/wait.ts';
import { adopted, type CanarydProcess, createPolicy, installCrd, readPolicy, startCanaryd } from './support/canaryd.ts';
import { demoDeployment, demoService, useTestEnv } from './support/env.ts';
import { canarydAddress, http, serviceAccountToken } from './support/service.ts';

interface ApiError {
  code: string;
  message: string;
}

interface OperationAnswer {
  operation: { id: string; op: string; by: string; at: string };
  message: string;
}

describe('canaryd API with Kubernetes authentication and authorization', () => {
  const env = useTestEnv('auth');
  let canaryd: CanarydProcess;
  let address: string;
  const tokens: Record<'reader' | 'operator' | 'nobody', string> = { reader: '', operator: '', nobody: '' };
  const userOf = (sa: string) => `system:serviceaccount:${env.namespace}:${sa}`;

  beforeAll(async () => {
    const { core, kc, namespace } = env;
    await installCrd(kc);
    const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
    for (const name of ['reader', 'operator', 'nobody']) {
      await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
    }
    const roles: Array<[string, string[]]> = [
      ['canarypolicy-reader', ['get', 'list', 'watch']],
      ['canarypolicy-operator', ['get', 'list', 'watch', 'update', 'patch']],
    ];
    for (const [role, verbs] of roles) {
      await rbac.createNamespacedRole({
        namespace,
        body: {
          metadata: { name: role },
          rules: [{ apiGroups: ['canaryd.dev'], resources: ['canarypolicies'], verbs }],
        },
      });
    }
    const bindings: Array<[string, string]> = [
      ['reader', 'canarypolicy-reader'],
      ['operator', 'canarypolicy-operator'],
    ];
    for (const [sa, role] of bindings) {
      await rbac.createNamespacedRoleBinding({
        namespace,
        body: {
          metadata: { name: sa },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role },
          subjects: [{ kind: 'ServiceAccount', name: sa, namespace }],
        },
      });
    }
    for (const sa of ['reader', 'operator', 'nobody'] as const) {
      tokens[sa] = await serviceAccountToken(core, namespace, sa, 3600);
    }

    canaryd = startCanaryd(env.kubeconfig, ['--namespace', namespace, '--log-level', 'debug'], 'canaryd-auth');
    address = await canarydAddress(canaryd);
  });
  afterAll(async () => {
    await canaryd?.stop();
  });

  it('serves probes, metrics and the OpenAPI document without a token', async () => {
    expect((await http(address, '/healthz')).json).toEqual({ status: 'ok' });
    await waitFor(async () => (await http(address, '/readyz')).status === 200, {
      timeoutMs: 30_000,
      description: 'canaryd /readyz 200 (caches synced)',
    });
    expect((await http(address, '/readyz')).json).toMatchObject({ status: 'ready' });
    const metrics = await http(address, '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toContain('text/plain');
    expect(metrics.text).toContain('canaryd_kubernetes_requests_total');
    const openapi = await http(address, '/openapi.json');
    expect(openapi.status).toBe(200);
    expect(openapi.json).toMatchObject({ openapi: expect.stringMatching(/^3\.1/) });
  });

  it('answers 401 without a token, with a non-bearer header and with a token the apiserver rejects', async () => {
    const path = `/api/v1/releases?namespace=${env.namespace}`;
    const answers = [
      await http(address, path),
      await http(address, path, { authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}` }),
      await http(address, path, { token: 'garbage.not-a-token' }),
      // A well-formed JWT of the right shape, but signed by nobody the apiserver trusts.
      await http(address, path, { token: `${tokens.reader.split('.').slice(0, 2).join('.')}.c2lnbmF0dXJl` }),
      await http(address, `/api/v1/namespaces/${env.namespace}/releases/web/promote`, {
        method: 'POST',
        token: 'garbage',
        body: { full: true },
      }),
    ];
    for (const answer of answers) {
      expect(answer.status).toBe(401);
      expect((answer.json as ApiError).code).toBe('unauthenticated');
      expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
  });

  it('lets RBAC decide: 403 without a role, reads for the reader, operations for the operator only', async () => {
    const { apps, core, kc, namespace } = env;
    await apps.createNamespacedDeployment({
      namespace,
      body: demoDeployment(namespace, { name: 'web', replicas: 3, version: 'v1' }),
    });
    await core.createNamespacedService({ namespace, body: demoService(namespace, 'web') });
    await waitFor(
      async () => (await apps.readNamespacedDeployment({ name: 'web', namespace })).status?.availableReplicas === 3,
      { timeoutMs: 60_000, description: 'web v1 Available' },
    );
    await createPolicy(kc, namespace, {
      apiVersion: 'canaryd.dev/v1alpha1',
      kind: 'CanaryPolicy',
      metadata: { name: 'web', namespace },
      spec: {
        target: { deployment: 'web', service: 'web', router: 'replica-ratio' },
        strategy: {
          // The first step waits for a person: the operator's resume lets the release go on.
          steps: [
            { weight: 25, hold: '1s', pause: true },
            { weight: 50, hold: '2s' },
          ],
          allowLargeFirstStep: true,
        },
        timeouts: { canaryReady: '60s', promotion: '90s' },
      },
    });
    await waitFor(async () => adopted((await readPolicy(kc, namespace, 'web'))?.status), {
      timeoutMs: 30_000,
      description: 'policy adopted (Ready)',
    });

    const list = `/api/v1/releases?namespace=${namespace}`;
    const one = `/api/v1/namespaces/${namespace}/releases/web`;

    // No role at all: 403 for every route, naming the user; existence is not revealed.
    for (const [method, path] of [
      ['GET', list],
      ['GET', one],
      ['GET', `/api/v1/namespaces/${namespace}/releases/does-not-exist`],
      ['POST', `${one}/pause`],
    ] as const) {
      const answer = await http(address, path, { method, token: tokens.nobody });
      expect(answer.status, `${method} ${path}`).toBe(403);
      expect((answer.json as ApiError).code).toBe('forbidden');
      expect((answer.json as ApiError).message).toContain(userOf('nobody'));
    }

    // The reader: reads in its namespace, nothing cluster-wide, no operations.
    const listed = await http(address, list, { token: tokens.reader });
    expect(listed.status).toBe(200);
    expect((listed.json as { items: Array<{ name: string; namespace: string }> }).items).toEqual([
      expect.objectContaining({ namespace, name: 'web', deployment: 'web' }),
    ]);
    const view = await http(address, one, { token: tokens.reader });
    expect(view.status).toBe(200);
    expect(view.json).toMatchObject({ namespace, name: 'web', observed: true, spec: { router: 'replica-ratio' } });
    const missing = await http(address, `/api/v1/namespaces/${namespace}/releases/does-not-exist`, {
      token: tokens.reader,
    });
    expect(missing.status).toBe(404);
    expect((missing.json as ApiError).code).toBe('release-not-found');
    const clusterWide = await http(address, '/api/v1/releases', { token: tokens.reader });
    expect(clusterWide.status).toBe(403);
    expect((clusterWide.json as ApiError).code).toBe('forbidden');
    const readerOperation = await http(address, `${one}/resume`, { method: 'POST', token: tokens.reader });
    expect(readerOperation.status).toBe(403);
    expect((readerOperation.json as ApiError).code).toBe('forbidden');
    expect((readerOperation.json as ApiError).message).toContain(userOf('reader'));
    // A refused caller leaves no trace on the policy.
    expect((await readPolicy(kc, namespace, 'web'))?.metadata.annotations?.['canaryd.dev/operation']).toBeUndefined();

    // A new template: the release stops at its first step (a pause step) until someone resumes it.
    await apps.patchNamespacedDeployment(
      {
        name: 'web',
        namespace,
        body: {
          spec: {
            template: {
              spec: {
                containers: [{ name: 'app', image: 'canaryd-demo:v2', env: [{ name: 'VERSION', value: 'v2' }] }],
              },
            },
          },
        },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
    );
    const paused = await waitFor(
      async () => {
        const policy = await readPolicy(kc, namespace, 'web');
        return policy?.status?.phase === 'paused' && (policy.status.weight ?? 0) > 0 ? policy : undefined;
      },
      { timeoutMs: 60_000, description: 'the release paused at its first step with the canary receiving traffic' },
    );

    // /metrics, unauthenticated, carries the policy's weight and phase as the status says.
    const metrics = await waitFor(
      async () => {
        const text = (await http(address, '/metrics')).text;
        return sampleOf(text, 'canaryd_canary_weight_percent', { namespace, policy: 'web' }) === paused.status?.weight
          ? text
          : undefined;
      },
      { timeoutMs: 15_000, description: 'canaryd_canary_weight_percent for the policy in /metrics' },
    );
    expect(sampleOf(metrics, 'canaryd_policy_phase', { namespace, policy: 'web', phase: 'paused' })).toBe(1);
    expect(sampleOf(metrics, 'canaryd_policy_phase', { namespace, policy: 'web', phase: 'progressing' })).toBe(0);
    expect(sampleOf(metrics, 'canaryd_canary_step', { namespace, policy: 'web' })).toBe(1);
    expect(sampleOf(metrics, 'canaryd_canary_steps', { namespace, policy: 'web' })).toBe(2);
    expect(sampleOf(metrics, 'canaryd_releases_started_total', { namespace, policy: 'web' })).toBe(1);

    // The operator resumes: accepted (202), recorded in the annotation under its own name.
    const resumed = await http(address, `${one}/resume`, { method: 'POST', token: tokens.operator });
    expect(resumed.status).toBe(202);
    const accepted = resumed.json as OperationAnswer;
    expect(accepted.operation).toMatchObject({ op: 'resume', by: userOf('operator') });
    const annotated = await readPolicy(kc, namespace, 'web');
    // What, and (in its own annotation, which the admission policy checks) who.
    const { by, ...what } = accepted.operation;
    expect(JSON.parse(annotated?.metadata.annotations?.['canaryd.dev/operation'] ?? '{}')).toEqual(what);
    expect(annotated?.metadata.annotations?.['canaryd.dev/operation-by']).toBe(by);

    // The controller applies it, and the release goes on to promotion.
    await waitFor(async () => (await readPolicy(kc, namespace, 'web'))?.status?.phase === 'succeeded', {
      timeoutMs: 120_000,
      intervalMs: 500,
      description: 'the resumed release to be promoted (phase succeeded)',
    });
    const history = (await http(address, one, { token: tokens.reader })).json as {
      status: {
        release: {
          history: Array<{
            outcome: string;
            operations: Array<{ id: string; op: string; by: string; result: string }>;
          }>;
        };
      };
    };
    const last = history.status.release.history.at(-1);
    expect(last?.outcome).toBe('succeeded');
    expect(last?.operations).toContainEqual({ ...accepted.operation, result: 'applied' });

    const events = await waitFor(
      async () => {
        const list = await core.listNamespacedEvent({
          namespace,
          fieldSelector: 'involvedObject.kind=CanaryPolicy,involvedObject.name=web',
        });
        const found = list.items.filter((e) => e.reason === 'Operation');
        return found.length > 0 ? found : undefined;
      },
      { timeoutMs: 15_000, description: 'an Operation Event on the CanaryPolicy' },
    );
    expect(events).toHaveLength(1);
    expect(events[0]?.message).toContain(`resume by ${userOf('operator')}`);
    expect(events[0]?.message).toContain('applied');

    // After the release: the counters and the resting phase.
    const after = await waitFor(
      async () => {
        const text = (await http(address, '/metrics')).text;
        return sampleOf(text, 'canaryd_policy_phase', { namespace, policy: 'web', phase: 'succeeded' }) === 1
          ? text
          : undefined;
      },
      { timeoutMs: 15_000, description: 'canaryd_policy_phase{phase="succeeded"} 1' },
    );
    expect(sampleOf(after, 'canaryd_releases_succeeded_total', { namespace, policy: 'web' })).toBe(1);
    expect(sampleOf(after, 'canaryd_canary_weight_percent', { namespace, policy: 'web' })).toBe(0);
  });
});

/** The value of one sample in Prometheus text format whose labels include `labels`, or undefined. */
function sampleOf(text: string, metric: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${metric}{`)) continue;
    const close = line.lastIndexOf('}');
    const labelText = line.slice(metric.length + 1, close);
    const parsed = Object.fromEntries(
      [...labelText.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]] as [string, string]),
    );
    if (Object.entries(labels).every(([k, v]) => parsed[k] === v)) return Number(line.slice(close + 1).trim());
  }
  return undefined;
}
