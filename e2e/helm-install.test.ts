// deploy/helm/canaryd on a real apiserver: `helm install` (helm built from its Go module) creates
// every object of the chart, the pods are admitted under the restricted Pod Security level and
// scheduled, and canaryd configured as the chart configures it (the Deployment's environment, the
// release's ServiceAccount token) drives a release to promotion in a namespace other than
// deploy/'s, which the templated admission policy must allow. `helm uninstall` keeps the CRD.
//
// As in install-deploy.test.ts, canaryd runs as a local process: kwok only fakes pod status.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './cluster/wait.ts';
import { adopted, type CanarydProcess, createPolicy, readPolicy, startCanaryd } from './support/canaryd.ts';
import { demoDeployment, demoService, useTestEnv } from './support/env.ts';
import { CHART, helmBinary, helmTemplate, type K8sObject, parseObjects } from './support/helm.ts';
import { canarydAddress, http, serviceAccountToken, tokenKubeconfig } from './support/service.ts';

const KUBECTL = '/usr/bin/kubectl';
const RELEASE = 'canaryd';
const NAMESPACE = 'canaryd-helm';
const SELECTOR = `app.kubernetes.io/name=canaryd,app.kubernetes.io/instance=${RELEASE}`;

const run = (file: string, args: string[]) =>
  promisify(execFile)(file, args, { timeout: 300_000, maxBuffer: 16 * 1024 * 1024 }).then(
    ({ stdout }) => ({ ok: true, output: stdout }),
    (error: { stderr?: string; message?: string }) => ({ ok: false, output: error.stderr ?? String(error.message) }),
  );

describe('installing the Helm chart on the local cluster', () => {
  const env = useTestEnv('helm');
  const helm = (...args: string[]) => run(helmBinary(), [...args, '--kubeconfig', env.kubeconfig]);
  const kubectl = (...args: string[]) => run(KUBECTL, [...args, '--kubeconfig', env.kubeconfig]);
  let canaryd: CanarydProcess | undefined;
  let workDir: string;
  let installed: K8sObject[] = [];

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'canaryd-helm-'));
    await waitFor(
      async () =>
        env.core.readNamespace({ name: NAMESPACE }).then(
          () => false,
          (error: unknown) => error instanceof k8s.ApiException && error.code === 404,
        ),
      { timeoutMs: 120_000, intervalMs: 500, description: `no ${NAMESPACE} namespace left from an earlier run` },
    );
    // The namespace first, labelled as the chart's README says (Helm keeps its record there).
    await env.core.createNamespace({
      body: { metadata: { name: NAMESPACE, labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } },
    });
    // Other test files installed the CRD and the operation-actor policy without Helm: adopt them
    // the way the chart's README tells a person moving from `kubectl apply -k`.
    const { objects } = await helmTemplate({ release: RELEASE, namespace: NAMESPACE });
    const api = k8s.KubernetesObjectApi.makeApiClient(env.kc);
    for (const object of objects.filter((o) => o.metadata.namespace === undefined)) {
      const exists = await api.read(object as k8s.KubernetesObject & { metadata: { name: string } }).then(
        () => true,
        () => false,
      );
      if (!exists) continue;
      const target = `${object.kind.toLowerCase()}.${object.apiVersion.split('/')[0]}/${object.metadata.name}`;
      expect((await kubectl('label', target, 'app.kubernetes.io/managed-by=Helm', '--overwrite')).ok, target).toBe(
        true,
      );
      const annotated = await kubectl(
        'annotate',
        target,
        `meta.helm.sh/release-name=${RELEASE}`,
        `meta.helm.sh/release-namespace=${NAMESPACE}`,
        '--overwrite',
      );
      expect(annotated.ok, annotated.output).toBe(true);
    }
  }, 1_800_000);
  afterAll(async () => {
    await canaryd?.stop();
    rmSync(workDir, { recursive: true, force: true });
    await helm('uninstall', RELEASE, '-n', NAMESPACE, '--wait', '--timeout', '2m');
    await env.core.deleteNamespace({ name: NAMESPACE }).catch(() => {});
  });

  it('helm install creates every object; the pods are admitted (restricted), scheduled and Available', async () => {
    // --force-conflicts: Helm 4 applies server-side, and the adopted objects' fields belong to
    // whoever wrote them before (here other test files; for a person, kubectl): the README says so.
    const install = await helm(
      'install',
      RELEASE,
      CHART,
      '-n',
      NAMESPACE,
      '--force-conflicts',
      '--wait',
      '--timeout',
      '3m',
    );
    expect(install.ok, install.output).toBe(true);
    const manifest = await helm('get', 'manifest', RELEASE, '-n', NAMESPACE);
    expect(manifest.ok, manifest.output).toBe(true);
    installed = parseObjects(manifest.output, 'helm get manifest');
    expect(installed.map((o) => o.kind).sort()).toEqual(
      [
        // canaryd's own, and the roles for people: view, operate, approve.
        'ClusterRole',
        'ClusterRole',
        'ClusterRole',
        'ClusterRole',
        'ClusterRoleBinding',
        'CustomResourceDefinition',
        'Deployment',
        // admissionPolicies.finalizerOnCreate auto: this 1.36 API server serves the kind.
        'MutatingAdmissionPolicy',
        'MutatingAdmissionPolicyBinding',
        'PodDisruptionBudget',
        // In canaryd's namespace: the leader-election Lease and the notification outbox ConfigMap.
        'Role',
        'Role',
        'RoleBinding',
        'RoleBinding',
        'Service',
        'ServiceAccount',
        'ValidatingAdmissionPolicy',
        'ValidatingAdmissionPolicy',
        'ValidatingAdmissionPolicyBinding',
        'ValidatingAdmissionPolicyBinding',
      ].sort(),
    );
    const api = k8s.KubernetesObjectApi.makeApiClient(env.kc);
    for (const object of installed) {
      const stored = await api.read(object as k8s.KubernetesObject & { metadata: { name: string } });
      expect(stored.metadata?.labels ?? {}, `${object.kind} ${object.metadata.name}`).toMatchObject(
        object.metadata.labels ?? {},
      );
      expect(stored.metadata?.annotations?.['meta.helm.sh/release-name']).toBe(RELEASE);
    }
    const pods = await waitFor(
      async () => {
        const list = await env.core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: SELECTOR });
        const scheduled = list.items.filter((p) => p.spec?.nodeName);
        return scheduled.length === 2 ? scheduled : undefined;
      },
      { timeoutMs: 60_000, description: 'two canaryd pods created and scheduled' },
    );
    for (const pod of pods) {
      expect(pod.spec?.serviceAccountName).toBe('canaryd');
      expect(pod.spec?.containers[0]?.image).toBe('canaryd:0.1.0');
    }
    const deployment = await env.apps.readNamespacedDeployment({ name: 'canaryd', namespace: NAMESPACE });
    expect(deployment.status?.availableReplicas).toBe(2);
  });

  it('canaryd with the chart settings and ServiceAccount promotes a release; the policy exempts only it', async () => {
    const { apps, core, kc, namespace } = env;
    const deployment = installed.find((o) => o.kind === 'Deployment') as K8sObject;
    // The container's environment as the kubelet would give it, turned into canaryd's flags
    // (CANARYD_LEASE_NAME -> --lease-name); the address is the test's own.
    const flags: string[] = [];
    for (const variable of deployment.spec.template.spec.containers[0].env as k8s.V1EnvVar[]) {
      if (!variable.name.startsWith('CANARYD_') || variable.name === 'CANARYD_LISTEN') continue;
      const field = variable.valueFrom?.fieldRef?.fieldPath;
      const value =
        field === 'metadata.namespace' ? NAMESPACE : field === 'metadata.name' ? 'e2e-helm' : variable.value;
      const flag = `--${variable.name.slice('CANARYD_'.length).toLowerCase().replaceAll('_', '-')}`;
      if (flag === '--leader-elect') {
        if (value === 'true') flags.push(flag);
      } else flags.push(flag, String(value));
    }
    expect(flags).toEqual(
      expect.arrayContaining(['--leader-elect', '--lease-namespace', NAMESPACE, '--identity', 'e2e-helm']),
    );
    const token = await serviceAccountToken(core, NAMESPACE, 'canaryd', 3600);
    canaryd = startCanaryd(tokenKubeconfig(env.kubeconfig, token, join(workDir, 'kubeconfig')), flags, 'canaryd-helm');
    const address = await canarydAddress(canaryd);
    const coordination = kc.makeApiClient(k8s.CoordinationV1Api);
    await waitFor(
      async () =>
        (await coordination.readNamespacedLease({ name: 'canaryd-leader', namespace: NAMESPACE })).spec
          ?.holderIdentity === 'e2e-helm',
      { timeoutMs: 30_000, description: `the Lease ${NAMESPACE}/canaryd-leader held by canaryd` },
    );
    await waitFor(async () => (await http(address, '/readyz')).status === 200, {
      timeoutMs: 30_000,
      description: 'canaryd ready',
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
    const image = await kubectl('set', 'image', 'deployment/web', 'app=canaryd-demo:v2', '-n', namespace);
    expect(image.ok, image.output).toBe(true);
    await waitFor(async () => ((await readPolicy(kc, namespace, 'web'))?.status?.weight ?? 0) > 0, {
      timeoutMs: 60_000,
      description: 'the canary receiving traffic',
    });
    // Promotion unpauses the Deployment: the chart's admission policy must let this release's
    // ServiceAccount (in canaryd-helm, not canaryd-system) do it.
    const promoted = await waitFor(
      async () => {
        const policy = await readPolicy(kc, namespace, 'web');
        return policy?.status?.phase === 'succeeded' || policy?.status?.phase === 'failed' ? policy : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500, description: 'the release to end' },
    );
    expect(promoted.status?.phase, JSON.stringify(promoted.status?.conditions)).toBe('succeeded');
    const web = await apps.readNamespacedDeployment({ name: 'web', namespace });
    expect(web.spec?.template.spec?.containers[0]?.image).toBe('canaryd-demo:v2');
    await waitFor(async () => (await apps.readNamespacedDeployment({ name: 'web', namespace })).spec?.paused === true, {
      timeoutMs: 30_000,
      description: 'web paused again at rest',
    });
    // A person is refused an unpause, with the policy's name from the chart.
    const refused = await kubectl('rollout', 'resume', 'deployment/web', '-n', namespace);
    expect(refused.ok, refused.output).toBe(false);
    expect(refused.output).toContain(`${RELEASE}-keep-managed-deployments-paused`);
    expect(refused.output).toContain('kubectl canary promote --full NAME -n NAMESPACE');
    const refusedByRbac = canaryd
      .logs()
      .split('\n')
      .filter((line) =>
        line.replaceAll('\\"', '"').includes(`User "system:serviceaccount:${NAMESPACE}:canaryd" cannot`),
      );
    expect(refusedByRbac).toEqual([]);
  });

  it('helm uninstall removes the release and keeps the CRD (and so every CanaryPolicy)', async () => {
    await canaryd?.stop();
    canaryd = undefined;
    const uninstall = await helm('uninstall', RELEASE, '-n', NAMESPACE, '--wait', '--timeout', '2m');
    expect(uninstall.ok, uninstall.output).toBe(true);
    const api = k8s.KubernetesObjectApi.makeApiClient(env.kc);
    for (const object of installed) {
      const exists = await api.read(object as k8s.KubernetesObject & { metadata: { name: string } }).then(
        () => true,
        () => false,
      );
      expect(exists, `${object.kind} ${object.metadata.name}`).toBe(object.kind === 'CustomResourceDefinition');
    }
    expect(await readPolicy(env.kc, env.namespace, 'web')).not.toBeNull();
  });
});
