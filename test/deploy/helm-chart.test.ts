// deploy/helm/canaryd renders the same install as deploy/ (kubectl kustomize): the same objects,
// RBAC rules, admission policies, CRD and container settings, field by field. The deliberate
// differences (README.md of the chart, "Differences from deploy/") are checked as differences.
// helm is built from its Go module (e2e/cluster/build-helm.sh, cached).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { isMap, type Node, parseDocument, type YAMLMap } from 'yaml';
import {
  CHART,
  helmTemplate,
  type K8sObject,
  KUSTOMIZE_DIR,
  kustomizeObjects,
  kustomizeWithComponents,
  parseObjects,
  readChartFile,
} from '../../e2e/support/helm.ts';

const CHART_LABELS = {
  'app.kubernetes.io/name': 'canaryd',
  'app.kubernetes.io/instance': 'canaryd',
  'app.kubernetes.io/managed-by': 'Helm',
};
const key = (o: K8sObject) => `${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`;

/** Documented keys of values.yaml: a `# -- ` comment documents a key; undocumented maps are sections. */
function documentedValues(): Array<{ path: string; doc: string | null }> {
  const out: Array<{ path: string; doc: string | null }> = [];
  const walk = (map: YAMLMap, prefix: string) => {
    map.items.forEach((pair, index) => {
      const path = `${prefix}${String((pair.key as { value: unknown }).value)}`;
      const comments = [index === 0 ? map.commentBefore : '', (pair.key as Node).commentBefore].filter(Boolean);
      const doc = /(?:^|\n)\s*-- ([\s\S]*)$/.exec(comments.join('\n'));
      if (doc) out.push({ path, doc: doc[1] ?? '' });
      else if (isMap(pair.value)) walk(pair.value, `${path}.`);
      else out.push({ path, doc: null });
    });
  };
  walk(parseDocument(readChartFile('values.yaml')).contents as YAMLMap, '');
  return out;
}

describe('the Helm chart with default values and `kubectl kustomize deploy/`', () => {
  let chart: K8sObject[] = [];
  let kustomize: K8sObject[] = [];
  const inChart = (o: K8sObject) => {
    const found = chart.find((c) => key(c) === key(o));
    if (!found) throw new Error(`${key(o)} is in deploy/ but not in the chart`);
    return found;
  };
  beforeAll(async () => {
    const rendered = await helmTemplate();
    expect(rendered.error).toBe('');
    chart = rendered.objects;
    kustomize = kustomizeObjects();
  }, 1_800_000);

  it('renders the same objects (kind, name, namespace), except the Namespace', () => {
    // Deliberate: Helm keeps its release record in the namespace, so the namespace exists before
    // the chart (kubectl create namespace, or helm install --create-namespace).
    const expected = kustomize
      .filter((o) => o.kind !== 'Namespace')
      .map(key)
      .sort();
    expect(chart.map(key).sort()).toEqual(expected);
    expect(kustomize.map((o) => o.kind)).toContain('Namespace');
  });

  it('every object carries the standard Helm labels, app.kubernetes.io/name included', () => {
    for (const object of chart) {
      expect(object.metadata.labels, key(object)).toMatchObject(CHART_LABELS);
      expect(object.metadata.labels?.['helm.sh/chart'], key(object)).toMatch(/^canaryd-\d+\.\d+\.\d+/);
    }
  });

  it('the same RBAC: rules, aggregation labels, role references and subjects', () => {
    for (const object of kustomize.filter((o) => /Role(Binding)?$/.test(o.kind))) {
      const twin = inChart(object);
      expect(twin.rules, key(object)).toEqual(object.rules);
      expect(twin.roleRef, key(object)).toEqual(object.roleRef);
      expect(twin.subjects, key(object)).toEqual(object.subjects);
      expect(twin.metadata.labels, key(object)).toMatchObject(object.metadata.labels ?? {});
    }
  });

  it('the same admission policies and bindings, field by field', () => {
    const policies = kustomize.filter((o) => o.kind.startsWith('ValidatingAdmissionPolicy'));
    expect(policies).toHaveLength(4);
    for (const object of policies) expect(inChart(object).spec, key(object)).toEqual(object.spec);
  });

  it('admissionPolicies.finalizerOnCreate renders deploy/components/finalizer-on-create, field by field, where the cluster serves it', async () => {
    const MAP = 'admissionregistration.k8s.io/v1/MutatingAdmissionPolicy';
    const mutating = (objects: K8sObject[]) => objects.filter((o) => o.kind.startsWith('MutatingAdmissionPolicy'));
    // auto (the default): not where the kind is not served (helm template knows no cluster; Kubernetes < 1.36).
    expect(mutating(chart)).toEqual([]);
    const served = await helmTemplate({ apiVersions: [MAP] });
    expect(mutating(served.objects).map(key)).toHaveLength(2);
    expect(
      mutating(
        (await helmTemplate({ apiVersions: [MAP], set: ['admissionPolicies.finalizerOnCreate=false'] })).objects,
      ),
    ).toEqual([]);
    const rendered = await helmTemplate({ set: ['admissionPolicies.finalizerOnCreate=true'] });
    expect(rendered.error).toBe('');
    expect(mutating(served.objects)).toEqual(mutating(rendered.objects));
    // canaryd limited to one namespace: the binding too.
    const narrowed = await helmTemplate({ apiVersions: [MAP], set: ['watchNamespace=shop'] });
    expect(narrowed.objects.find((o) => o.kind === 'MutatingAdmissionPolicyBinding')?.spec.matchResources).toEqual({
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'shop' } },
    });
    // The component adds these two objects to deploy/ and nothing else.
    const overlay = kustomizeWithComponents(['finalizer-on-create']);
    const added = overlay.filter((o) => !kustomize.some((k) => key(k) === key(o)));
    expect(overlay).toHaveLength(kustomize.length + added.length);
    const component = parseObjects(
      readFileSync(join(KUSTOMIZE_DIR, 'components', 'finalizer-on-create', 'finalizer-policy.yaml'), 'utf8'),
      'deploy/components/finalizer-on-create',
    );
    expect(added).toEqual(component);
    expect(component.map(key)).toEqual([
      'MutatingAdmissionPolicy /canaryd-policy-finalizer',
      'MutatingAdmissionPolicyBinding /canaryd-policy-finalizer',
    ]);
    for (const object of component) {
      const twin = rendered.objects.find((o) => key(o) === key(object));
      expect(twin?.spec, key(object)).toEqual(object.spec);
      expect(twin?.metadata.labels, key(object)).toMatchObject(CHART_LABELS);
    }
  }, 120_000);

  it('the same CRD (files/crd.yaml is generated beside deploy/crd.yaml), kept on uninstall', () => {
    const crd = kustomize.find((o) => o.kind === 'CustomResourceDefinition') as K8sObject;
    const twin = inChart(crd);
    expect(twin.spec).toEqual(crd.spec);
    expect(twin.metadata.annotations).toEqual({ 'helm.sh/resource-policy': 'keep' });
    expect(readFileSync(join(CHART, 'files', 'crd.yaml'), 'utf8')).toBe(
      readFileSync(join(CHART, '..', '..', 'crd.yaml'), 'utf8'),
    );
  });

  it('the same Deployment: replicas, strategy, pod security, container image, env, probes, resources, volumes', () => {
    const deployment = kustomize.find((o) => o.kind === 'Deployment') as K8sObject;
    const twin = inChart(deployment);
    expect(twin.spec.replicas).toBe(deployment.spec.replicas);
    expect(twin.spec.strategy).toEqual(deployment.spec.strategy);
    const pod = deployment.spec.template.spec;
    const chartPod = twin.spec.template.spec;
    for (const field of ['serviceAccountName', 'terminationGracePeriodSeconds', 'securityContext', 'volumes']) {
      expect(chartPod[field], field).toEqual(pod[field]);
    }
    // Deliberate: the chart's selector adds app.kubernetes.io/instance (two releases never select each other's pods).
    expect(twin.spec.selector.matchLabels).toEqual({
      'app.kubernetes.io/name': 'canaryd',
      'app.kubernetes.io/instance': 'canaryd',
    });
    expect(twin.spec.selector.matchLabels).toMatchObject(deployment.spec.selector.matchLabels);
    expect(twin.spec.template.metadata.labels).toMatchObject(twin.spec.selector.matchLabels);
    const antiAffinity = (spec: K8sObject) =>
      spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution.map(
        (term: { podAffinityTerm: { labelSelector: object } }) => ({
          ...term,
          podAffinityTerm: { ...term.podAffinityTerm, labelSelector: undefined },
        }),
      );
    expect(antiAffinity(chartPod)).toEqual(antiAffinity(pod));
    expect(chartPod.containers).toHaveLength(1);
    const [container] = pod.containers;
    const [chartContainer] = chartPod.containers;
    // Every field of the container, env, probes and resources included: nothing else differs.
    expect(chartContainer).toEqual(container);
  });

  it('the same Service and PodDisruptionBudget (selectors narrowed to the release)', () => {
    for (const kind of ['Service', 'PodDisruptionBudget']) {
      const object = kustomize.find((o) => o.kind === kind) as K8sObject;
      const twin = inChart(object);
      const withoutSelector = ({ selector: _, ...spec }: Record<string, unknown>) => spec;
      expect(withoutSelector(twin.spec), kind).toEqual(withoutSelector(object.spec));
    }
    const service = chart.find((o) => o.kind === 'Service') as K8sObject;
    expect(service.spec.selector).toEqual({
      'app.kubernetes.io/name': 'canaryd',
      'app.kubernetes.io/instance': 'canaryd',
    });
    const pdb = chart.find((o) => o.kind === 'PodDisruptionBudget') as K8sObject;
    expect(pdb.spec.selector.matchLabels).toEqual(service.spec.selector);
  });
});

// Each case runs helm (a second or more on a loaded machine).
describe('the chart with other values', { timeout: 120_000 }, () => {
  it('another release name and namespace: the admission policy exempts that ServiceAccount, bindings follow', async () => {
    const { objects, error } = await helmTemplate({ release: 'cd', namespace: 'platform' });
    expect(error).toBe('');
    const policy = objects.find((o) => o.kind === 'ValidatingAdmissionPolicy' && o.metadata.name.includes('paused'));
    expect(policy?.metadata.name).toBe('cd-canaryd-keep-managed-deployments-paused');
    expect(policy?.spec.validations[0].expression).toContain(
      "request.userInfo.username == 'system:serviceaccount:platform:cd-canaryd'",
    );
    expect(policy?.spec.validations[0].messageExpression).toContain('cd-canaryd-keep-managed-deployments-paused');
    const binding = objects.find((o) => o.kind === 'ClusterRoleBinding');
    expect(binding?.subjects).toEqual([{ kind: 'ServiceAccount', name: 'cd-canaryd', namespace: 'platform' }]);
    // canaryd looks for the operation-actor policy by this fixed name.
    expect(objects.map((o) => o.metadata.name)).toContain('canaryd-operation-actor');
    for (const object of objects.filter((o) => o.metadata.namespace !== undefined)) {
      expect(object.metadata.namespace, key(object)).toBe('platform');
    }
  });

  it('settings become the container environment; a ServiceMonitor when asked for', async () => {
    const { objects, error } = await helmTemplate({
      set: [
        'watchNamespace=shop',
        'prometheusUrl=http://prometheus.monitoring.svc:9090',
        'resync=30s',
        'concurrency=8',
        'wakeWorkers=0',
        'image.repository=registry.example.com/canaryd',
        'image.tag=0.2.0',
        'serviceMonitor.enabled=true',
        'serviceMonitor.labels.release=prometheus',
      ],
    });
    expect(error).toBe('');
    const container = objects.find((o) => o.kind === 'Deployment')?.spec.template.spec.containers[0];
    expect(container.image).toBe('registry.example.com/canaryd:0.2.0');
    expect(container.env).toEqual(
      expect.arrayContaining([
        { name: 'CANARYD_NAMESPACE', value: 'shop' },
        { name: 'CANARYD_PROMETHEUS_URL', value: 'http://prometheus.monitoring.svc:9090' },
        { name: 'CANARYD_RESYNC', value: '30s' },
        { name: 'CANARYD_CONCURRENCY', value: '8' },
        { name: 'CANARYD_WAKE_WORKERS', value: '0' },
      ]),
    );
    const monitor = objects.find((o) => o.kind === 'ServiceMonitor');
    expect(monitor?.metadata.labels).toMatchObject({ release: 'prometheus' });
    expect(monitor?.spec.endpoints).toEqual([
      { port: 'http', path: '/metrics', interval: '30s', scrapeTimeout: '10s' },
    ]);
    expect(monitor?.spec.selector.matchLabels).toEqual(objects.find((o) => o.kind === 'Service')?.spec.selector);
  });

  it('optional parts can be left out', async () => {
    const { objects, error } = await helmTemplate({
      set: [
        'crds.install=false',
        'rbac.userRoles=false',
        'admissionPolicies.keepManagedDeploymentsPaused=false',
        'admissionPolicies.operationActor=false',
        'podDisruptionBudget.enabled=false',
      ],
    });
    expect(error).toBe('');
    expect(objects.map((o) => o.kind).sort()).toEqual(
      // Two Roles in the release namespace: the leader-election Lease and the notification outbox.
      [
        'ClusterRole',
        'ClusterRoleBinding',
        'Deployment',
        'Role',
        'Role',
        'RoleBinding',
        'RoleBinding',
        'Service',
        'ServiceAccount',
      ].sort(),
    );
  });

  it('shards: one more Deployment, Service and outbox name per shard, selecting only its own pods', async () => {
    const { objects, error } = await helmTemplate({ set: ['shards={a,b}'] });
    expect(error).toBe('');
    const deployments = objects.filter((o) => o.kind === 'Deployment');
    expect(deployments.map((d) => d.metadata.name)).toEqual(['canaryd', 'canaryd-shard-a', 'canaryd-shard-b']);
    const shardEnv = (d: K8sObject) =>
      (d.spec.template.spec.containers[0].env as Array<{ name: string; value?: string }>).find(
        (e) => e.name === 'CANARYD_SHARD',
      )?.value;
    expect(deployments.map(shardEnv)).toEqual([undefined, 'a', 'b']);
    // No Deployment's or Service's selector matches another Deployment's pods.
    const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
      Object.entries(selector).every(([k, v]) => labels[k] === v);
    const services = objects.filter((o) => o.kind === 'Service');
    expect(services.map((s) => s.metadata.name)).toEqual(['canaryd', 'canaryd-shard-a', 'canaryd-shard-b']);
    deployments.forEach((d, i) => {
      deployments.forEach((other, j) => {
        const labels = other.spec.template.metadata.labels;
        expect(matches(d.spec.selector.matchLabels, labels), `${d.metadata.name} selects ${other.metadata.name}`).toBe(
          i === j,
        );
        expect(matches(services[i]?.spec.selector, labels), `Service ${i} selects ${other.metadata.name}`).toBe(
          i === j,
        );
      });
    });
    // A ServiceMonitor selecting the chart's Services scrapes every shard.
    for (const service of services) expect(service.metadata.labels).toMatchObject(CHART_LABELS);
    const outbox = objects.find((o) => o.kind === 'Role' && o.metadata.name === 'canaryd-notification-outbox');
    expect(outbox?.rules.flatMap((r: { resourceNames?: string[] }) => r.resourceNames ?? [])).toEqual([
      'canaryd-notifications',
      'canaryd-notifications-a',
      'canaryd-notifications-b',
    ]);
    const bad = await helmTemplate({ set: ['shards={Eu_1}'] });
    expect(bad.ok).toBe(false);
    expect(bad.error).toMatch(/shards/);
  });

  it('refuses values that would break canaryd, naming the value', async () => {
    const [twoLeaders, single, typo, level, duration] = await Promise.all([
      helmTemplate({ set: ['leaderElection.enabled=false'] }),
      helmTemplate({ set: ['leaderElection.enabled=false', 'replicaCount=1'] }),
      helmTemplate({ set: ['replicas=3'] }),
      helmTemplate({ set: ['logLevel=verbose'] }),
      helmTemplate({ set: ['leaderElection.leaseDuration=15 seconds'] }),
    ]);
    expect(twoLeaders.ok).toBe(false);
    expect(twoLeaders.error).toContain('replicaCount is 2 but leaderElection.enabled is false');
    expect(single.error).toBe('');
    const env = single.objects.find((o) => o.kind === 'Deployment')?.spec.template.spec.containers[0].env;
    expect(env).toContainEqual({ name: 'CANARYD_LEADER_ELECT', value: 'false' });
    expect(typo.ok).toBe(false);
    expect(typo.error).toMatch(/replicas/);
    expect(level.ok).toBe(false);
    expect(level.error).toMatch(/logLevel/);
    expect(duration.ok).toBe(false);
    expect(duration.error).toMatch(/leaseDuration/);
  });
});

describe('the chart documentation', () => {
  const readme = readChartFile('README.md');

  it('every value in values.yaml has a `# --` comment and a row in README.md with its default', () => {
    const values = documentedValues();
    expect(values.length).toBeGreaterThan(40);
    for (const { path, doc } of values) {
      expect(doc, `values.yaml: ${path} has no "# -- " comment`).toBeTruthy();
      expect(readme, `README.md has no row for ${path}`).toContain(`| \`${path}\` |`);
    }
  });

  it('the README states the differences from deploy/ that the comparison allows', () => {
    expect(readme).toContain('## Differences from deploy/');
    for (const difference of ['Namespace', 'app.kubernetes.io/instance', 'helm.sh/resource-policy']) {
      expect(readme).toContain(difference);
    }
  });
});
