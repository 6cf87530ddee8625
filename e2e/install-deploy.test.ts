// deploy/ on a real apiserver: every manifest is accepted (kubectl apply -k, as docs/install.md
// says), the Deployment's pods are admitted under the restricted Pod Security level and scheduled,
// and the RBAC is enough for a full release: canaryd runs with a token of the installed
// ServiceAccount (and nothing else) and drives a replica-ratio release to promotion. It is also
// not more than that: the ServiceAccount cannot list Secrets, delete namespaces and so on.
//
// What this cannot show here: canaryd running *inside* a pod. The local cluster has no container
// runtime (kwok only fakes pod status), so the installed Deployment's pods become "Ready" without
// running anything; canaryd runs as a local process with the ServiceAccount's credentials instead,
// from the JavaScript tree the image holds (scripts/strip-types.ts), with Node's stripper off.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImageTree } from '../scripts/strip-types.ts';
import { REPO_ROOT } from './cluster/cluster.ts';
import { waitFor } from './cluster/wait.ts';
import { adopted, type CanarydProcess, createPolicy, readPolicy, startCanaryd } from './support/canaryd.ts';
import { installCrd } from './support/crd.ts';
import { demoDeployment, demoService, useTestEnv } from './support/env.ts';
import { canarydAddress, http, kubeconfigToken, serviceAccountToken, tokenKubeconfig } from './support/service.ts';

const KUBECTL = '/usr/bin/kubectl';
const DEPLOY = join(REPO_ROOT, 'deploy');
const SYSTEM_NAMESPACE = 'canaryd-system';
const SA_USER = `system:serviceaccount:${SYSTEM_NAMESPACE}:canaryd`;
const ADMISSION_POLICY = 'canaryd-keep-managed-deployments-paused';
const SA_GROUPS = ['system:serviceaccounts', `system:serviceaccounts:${SYSTEM_NAMESPACE}`, 'system:authenticated'];

/** The objects deploy/kustomization.yaml installs, read from the files it lists. */
function deployObjects(): k8s.KubernetesObject[] {
  const kustomization = k8s.loadYaml<{ resources: string[] }>(readFileSync(join(DEPLOY, 'kustomization.yaml'), 'utf8'));
  return kustomization.resources.flatMap((file) =>
    k8s.loadAllYaml(readFileSync(join(DEPLOY, file), 'utf8')).filter((o): o is k8s.KubernetesObject => Boolean(o)),
  );
}

/** kubectl apply -k deploy/ when kubectl is installed; otherwise each object through the API. */
async function applyDeploy(kc: k8s.KubeConfig, kubeconfig: string): Promise<string> {
  if (existsSync(KUBECTL)) {
    const { stdout } = await promisify(execFile)(KUBECTL, ['apply', '-k', DEPLOY, '--kubeconfig', kubeconfig], {
      timeout: 120_000,
    });
    return stdout;
  }
  const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
  const lines: string[] = [];
  await installCrd(kc);
  // Namespaces first, the way kubectl orders them.
  const ordered = deployObjects().sort((a, b) => Number(b.kind === 'Namespace') - Number(a.kind === 'Namespace'));
  for (const object of ordered) {
    // installCrd installed these already (the other test files share them), as kubectl would find them.
    if (object.kind === 'CustomResourceDefinition' || object.kind?.startsWith('ValidatingAdmissionPolicy')) {
      lines.push(`${object.kind}/${object.metadata?.name} unchanged`);
      continue;
    }
    await objects.create(object);
    lines.push(`${object.kind}/${object.metadata?.name} created`);
  }
  return lines.join('\n');
}

describe('installing deploy/ on the local cluster', () => {
  const env = useTestEnv('install');
  let canaryd: CanarydProcess | undefined;
  let workDir: string;
  // Inside the repository, so that the tree finds node_modules as /app/src finds /app/node_modules.
  const imageTree = join(REPO_ROOT, 'dist', `image-e2e-${process.pid}`);

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'canaryd-install-'));
    // An earlier run's canaryd-system may still be terminating: nothing can be created in it.
    await waitFor(
      async () =>
        env.core.readNamespace({ name: SYSTEM_NAMESPACE }).then(
          () => false,
          (error: unknown) => error instanceof k8s.ApiException && error.code === 404,
        ),
      { timeoutMs: 120_000, intervalMs: 500, description: `no ${SYSTEM_NAMESPACE} namespace left from an earlier run` },
    );
  });
  afterAll(async () => {
    await canaryd?.stop();
    rmSync(workDir, { recursive: true, force: true });
    rmSync(imageTree, { recursive: true, force: true });
    // Remove what the install added, except the CRD that the other test files share.
    const rbac = env.kc.makeApiClient(k8s.RbacAuthorizationV1Api);
    await rbac.deleteClusterRoleBinding({ name: 'canaryd' }).catch(() => {});
    for (const name of ['canaryd', 'canaryd-view', 'canaryd-operate']) {
      await rbac.deleteClusterRole({ name }).catch(() => {});
    }
    await env.core.deleteNamespace({ name: SYSTEM_NAMESPACE }).catch(() => {});
    // The admission policy is cluster-wide: the other test files run canaryd with an admin token.
    const admission = env.kc.makeApiClient(k8s.AdmissionregistrationV1Api);
    await admission.deleteValidatingAdmissionPolicyBinding({ name: ADMISSION_POLICY }).catch(() => {});
    await admission.deleteValidatingAdmissionPolicy({ name: ADMISSION_POLICY }).catch(() => {});
  });

  it('applies every manifest; the Deployment is admitted (restricted) and its pods scheduled', async () => {
    const { core, apps, kc } = env;
    const output = await applyDeploy(kc, env.kubeconfig);
    const objects = deployObjects();
    expect(objects.map((o) => o.kind).sort()).toEqual(
      [
        // canaryd's own, and the roles for people: view, operate, approve (a right of its own).
        'ClusterRole',
        'ClusterRole',
        'ClusterRole',
        'ClusterRole',
        'ClusterRoleBinding',
        'CustomResourceDefinition',
        'Deployment',
        'Namespace',
        'PodDisruptionBudget',
        // In canaryd's namespace: the leader-election Lease and the notification outbox ConfigMap.
        'Role',
        'Role',
        'RoleBinding',
        'RoleBinding',
        'Service',
        'ServiceAccount',
        // Two admission policies: managed Deployments stay paused; operation actors are honest.
        'ValidatingAdmissionPolicy',
        'ValidatingAdmissionPolicy',
        'ValidatingAdmissionPolicyBinding',
        'ValidatingAdmissionPolicyBinding',
      ].sort(),
    );
    // Every object is in the apiserver as written.
    const api = k8s.KubernetesObjectApi.makeApiClient(kc);
    for (const object of objects) {
      const name = object.metadata?.name as string;
      expect(output, `kubectl output names ${object.kind} ${name}`).toContain(`/${name} `);
      const stored = await api.read({
        apiVersion: object.apiVersion as string,
        kind: object.kind as string,
        metadata: { name, ...(object.metadata?.namespace ? { namespace: object.metadata.namespace } : {}) },
      });
      expect(stored.metadata?.labels ?? {}).toMatchObject(object.metadata?.labels ?? {});
    }
    const namespace = await core.readNamespace({ name: SYSTEM_NAMESPACE });
    expect(namespace.metadata?.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    const crd = await kc
      .makeApiClient(k8s.ApiextensionsV1Api)
      .readCustomResourceDefinition({ name: 'canarypolicies.canaryd.dev' });
    expect(crd.status?.conditions?.find((c) => c.type === 'Established')?.status).toBe('True');

    // The pods are admitted under the restricted Pod Security level and scheduled onto nodes
    // (kwok reports them ready; nothing runs in them here).
    const pods = await waitFor(
      async () => {
        const list = await core.listNamespacedPod({
          namespace: SYSTEM_NAMESPACE,
          labelSelector: 'app.kubernetes.io/name=canaryd',
        });
        const scheduled = list.items.filter((p) => p.spec?.nodeName);
        return scheduled.length === 2 ? scheduled : undefined;
      },
      { timeoutMs: 60_000, description: 'two canaryd pods created and scheduled' },
    );
    for (const pod of pods) {
      expect(pod.spec?.serviceAccountName).toBe('canaryd');
      expect(pod.spec?.containers[0]?.image).toBe('canaryd:0.1.0');
      expect(pod.spec?.securityContext?.runAsNonRoot).toBe(true);
    }
    const replicaSets = await apps.listNamespacedReplicaSet({ namespace: SYSTEM_NAMESPACE });
    for (const rs of replicaSets.items) {
      expect(rs.status?.conditions?.filter((c) => c.type === 'ReplicaFailure') ?? []).toEqual([]);
    }
    await waitFor(
      async () =>
        (await apps.readNamespacedDeployment({ name: 'canaryd', namespace: SYSTEM_NAMESPACE })).status
          ?.availableReplicas === 2,
      { timeoutMs: 60_000, description: 'the canaryd Deployment Available (as kwok reports it)' },
    );
  });

  it('the installed ServiceAccount is enough for a full release, and for the API', async () => {
    const { apps, core, kc, namespace } = env;
    const token = await serviceAccountToken(core, SYSTEM_NAMESPACE, 'canaryd', 3600);
    const kubeconfig = tokenKubeconfig(env.kubeconfig, token, join(workDir, 'kubeconfig'));
    // As the Deployment runs it: the image's JavaScript (types stripped at build, Node's stripper
    // off), all namespaces, leader election on canaryd-system/canaryd-leader.
    buildImageTree(imageTree);
    canaryd = startCanaryd(kubeconfig, ['--leader-elect', '--identity', 'e2e-install'], 'canaryd-install', {
      imageTree,
    });
    const address = await canarydAddress(canaryd);
    const coordination = kc.makeApiClient(k8s.CoordinationV1Api);
    await waitFor(
      async () =>
        (await coordination.readNamespacedLease({ name: 'canaryd-leader', namespace: SYSTEM_NAMESPACE })).spec
          ?.holderIdentity === 'e2e-install',
      { timeoutMs: 30_000, description: 'the Lease canaryd-system/canaryd-leader held by canaryd' },
    );
    await waitFor(async () => (await http(address, '/readyz')).status === 200, {
      timeoutMs: 30_000,
      description: 'canaryd ready (every watch listed with the ServiceAccount token)',
    });

    await apps.createNamespacedDeployment({
      namespace,
      body: demoDeployment(namespace, { name: 'web', replicas: 4, version: 'v1' }),
    });
    await core.createNamespacedService({ namespace, body: demoService(namespace, 'web') });
    await waitFor(
      async () => (await apps.readNamespacedDeployment({ name: 'web', namespace })).status?.availableReplicas === 4,
      { timeoutMs: 60_000, description: 'web v1 Available' },
    );
    await createPolicy(kc, namespace, {
      apiVersion: 'canaryd.dev/v1alpha1',
      kind: 'CanaryPolicy',
      metadata: { name: 'web', namespace },
      spec: {
        target: { deployment: 'web', service: 'web', router: 'replica-ratio' },
        strategy: {
          steps: [
            { weight: 20, hold: '2s' },
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
    await waitFor(async () => ((await readPolicy(kc, namespace, 'web'))?.status?.weight ?? 0) > 0, {
      timeoutMs: 60_000,
      description: 'the canary receiving traffic',
    });
    await waitFor(async () => (await readPolicy(kc, namespace, 'web'))?.status?.phase === 'succeeded', {
      timeoutMs: 120_000,
      intervalMs: 500,
      description: 'the release promoted (phase succeeded)',
    });
    const deployment = await apps.readNamespacedDeployment({ name: 'web', namespace });
    expect(deployment.spec?.template.spec?.containers[0]?.image).toBe('canaryd-demo:v2');
    await waitFor(
      async () => (await apps.readNamespacedDeployment({ name: 'web-canary', namespace }).catch(() => null)) === null,
      { timeoutMs: 30_000, description: 'the canary Deployment removed' },
    );
    // Events were written with the ServiceAccount's permissions.
    const events = await core.listNamespacedEvent({ namespace });
    const reasons = events.items.filter((e) => e.source?.component === 'canaryd').map((e) => e.reason);
    expect(reasons).toEqual(expect.arrayContaining(['ReleaseStarted', 'Promoting']));

    // The API: TokenReview and SubjectAccessReview made with the ServiceAccount's token.
    const admin = kubeconfigToken(env.kubeconfig);
    const view = await http(address, `/api/v1/namespaces/${namespace}/releases/web`, { token: admin });
    expect(view.status).toBe(200);
    expect(view.json).toMatchObject({ status: { phase: 'succeeded' } });
    expect((await http(address, '/api/v1/releases', { token: 'garbage' })).status).toBe(401);

    // RBAC refused nothing along the way (the apiserver's words: User "…" cannot VERB resource …).
    // Other refusals may appear: this canaryd watches all namespaces and finishes the cleanup of
    // policies in namespaces that earlier tests are deleting, where new Events are not accepted.
    const refused = canaryd
      .logs()
      .split('\n')
      .filter((line) => line.replaceAll('\\"', '"').includes(`User "${SA_USER}" cannot`));
    expect(refused).toEqual([]);
  });

  it('the admission policy refuses `kubectl rollout resume` on the managed Deployment, except from canaryd', async () => {
    const { apps, core, namespace } = env;
    // After the release above: web is managed (marked, paused) and canaryd runs as its ServiceAccount.
    const web = await apps.readNamespacedDeployment({ name: 'web', namespace });
    expect(web.metadata?.labels?.['canaryd.dev/managed']).toBe('true');
    expect(web.metadata?.annotations?.['canaryd.dev/policy']).toBe(`${namespace}/web`);
    expect(web.spec?.paused).toBe(true);

    // A person (the admin kubeconfig) is refused, with what to run instead.
    const kubectl = (kubeconfig: string, ...args: string[]) =>
      promisify(execFile)(KUBECTL, [...args, '-n', namespace, '--kubeconfig', kubeconfig], { timeout: 30_000 }).then(
        ({ stdout }) => ({ ok: true, output: stdout }),
        (error: { stderr?: string }) => ({ ok: false, output: error.stderr ?? String(error) }),
      );
    const refused = await kubectl(env.kubeconfig, 'rollout', 'resume', 'deployment/web');
    expect(refused.ok, refused.output).toBe(false);
    expect(refused.output).toContain(ADMISSION_POLICY);
    expect(refused.output).toContain(`is kept paused by canaryd (CanaryPolicy ${namespace}/web)`);
    expect(refused.output).toContain('kubectl canary promote --full NAME -n NAMESPACE');
    expect(refused.output).toContain('kubectl canary abort NAME -n NAMESPACE');
    expect((await apps.readNamespacedDeployment({ name: 'web', namespace })).spec?.paused).toBe(true);
    // Scaling stays the user's (and an autoscaler's): not refused.
    const scaled = await kubectl(env.kubeconfig, 'scale', 'deployment/web', '--replicas=5');
    expect(scaled.ok, scaled.output).toBe(true);

    // canaryd's own ServiceAccount may unpause (promotion, rollback and hand-back do).
    const token = await serviceAccountToken(core, SYSTEM_NAMESPACE, 'canaryd', 600);
    const asCanaryd = tokenKubeconfig(env.kubeconfig, token, join(workDir, 'kubeconfig-resume'));
    const allowed = await kubectl(asCanaryd, 'rollout', 'resume', 'deployment/web');
    expect(allowed.ok, allowed.output).toBe(true);
    // Nothing of a release runs; canaryd pauses its Deployment again at rest.
    await waitFor(async () => (await apps.readNamespacedDeployment({ name: 'web', namespace })).spec?.paused === true, {
      timeoutMs: 30_000,
      description: 'web paused again by canaryd',
    });
  });

  it('the ServiceAccount may do no more than the ClusterRole and Role grant', async () => {
    const { core, kc, namespace } = env;
    const authorization = kc.makeApiClient(k8s.AuthorizationV1Api);
    const may = async (attributes: k8s.V1ResourceAttributes) => {
      const answer = await authorization.createSubjectAccessReview({
        body: { spec: { user: SA_USER, groups: SA_GROUPS, resourceAttributes: attributes } },
      });
      return answer.status?.allowed === true;
    };
    const checks: Array<[k8s.V1ResourceAttributes, boolean]> = [
      // Granted, as docs/install.md lists.
      [{ group: '', resource: 'secrets', verb: 'get', namespace }, true],
      [{ group: 'apps', resource: 'deployments', verb: 'patch', namespace }, true],
      [{ group: 'canaryd.dev', resource: 'canarypolicies', subresource: 'status', verb: 'update', namespace }, true],
      [{ group: 'coordination.k8s.io', resource: 'leases', verb: 'update', namespace: SYSTEM_NAMESPACE }, true],
      [{ group: 'gateway.networking.k8s.io', resource: 'httproutes', verb: 'patch', namespace }, true],
      [{ group: '', resource: 'configmaps', verb: 'create', namespace: SYSTEM_NAMESPACE }, true],
      [
        {
          group: '',
          resource: 'configmaps',
          verb: 'update',
          namespace: SYSTEM_NAMESPACE,
          name: 'canaryd-notifications',
        },
        true,
      ],
      // Not granted.
      [{ group: '', resource: 'secrets', verb: 'list', namespace: '' }, false],
      [{ group: '', resource: 'secrets', verb: 'list', namespace }, false],
      [{ group: '', resource: 'secrets', verb: 'watch', namespace: '' }, false],
      [{ group: '', resource: 'namespaces', verb: 'delete', name: namespace }, false],
      [{ group: '', resource: 'pods', verb: 'delete', namespace }, false],
      [{ group: '', resource: 'pods', verb: 'create', namespace }, false],
      [{ group: 'canaryd.dev', resource: 'canarypolicies', verb: 'delete', namespace }, false],
      [{ group: 'coordination.k8s.io', resource: 'leases', verb: 'create', namespace }, false],
      [{ group: 'coordination.k8s.io', resource: 'leases', verb: 'delete', namespace: SYSTEM_NAMESPACE }, false],
      [{ group: '', resource: 'configmaps', verb: 'update', namespace: SYSTEM_NAMESPACE, name: 'other' }, false],
      [{ group: '', resource: 'configmaps', verb: 'create', namespace }, false],
      [{ group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings', verb: 'create' }, false],
      [{ group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions', verb: 'update' }, false],
      [{ group: 'gateway.networking.k8s.io', resource: 'httproutes', verb: 'delete', namespace }, false],
      [{ group: 'gateway.networking.k8s.io', resource: 'httproutes', verb: 'create', namespace }, false],
    ];
    const answers = await Promise.all(checks.map(async ([attributes]) => [attributes, await may(attributes)]));
    expect(answers).toEqual(checks);

    // And a real call with its token is refused by the apiserver.
    const token = await serviceAccountToken(core, SYSTEM_NAMESPACE, 'canaryd', 600);
    const saKc = new k8s.KubeConfig();
    saKc.loadFromFile(tokenKubeconfig(env.kubeconfig, token, join(workDir, 'kubeconfig-denied')));
    const saCore = saKc.makeApiClient(k8s.CoreV1Api);
    const code = (error: unknown) => (error instanceof k8s.ApiException ? error.code : error);
    expect(await saCore.listSecretForAllNamespaces().then(() => 200, code)).toBe(403);
    expect(await saCore.deleteNamespace({ name: namespace }).then(() => 200, code)).toBe(403);
    expect(await saCore.readNamespace({ name: namespace }).then(() => 200, code)).toBe(403);
  });
});
