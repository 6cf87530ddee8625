// The image and the install manifests: the properties an SRE relies on, checked without Docker or
// a cluster (the e2e suite applies deploy/ to a real API server).
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { MANAGED_LABEL } from '../../src/controller/names.ts';
import { WATCHED } from '../../src/kube/informers.ts';
import { resourceOf } from '../../src/metrics/index.ts';

const root = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  // Instructions with their continuation lines joined, comments dropped.
  const instructions = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const named = (keyword: string) => instructions.filter((line) => line.toUpperCase().startsWith(`${keyword} `));

  it('is multi-stage: a node:24 build stage and a slim runtime', () => {
    const stages = named('FROM');
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(stages[0]).toMatch(/^FROM node:24[-\w.]* AS build$/);
    expect(stages.at(-1)).toMatch(/^FROM node:24[-\w.]*-slim$/);
  });

  it('never uses a floating latest tag or an untagged image', () => {
    for (const from of named('FROM')) {
      const image = from.split(/\s+/)[1] ?? '';
      expect(image, from).not.toMatch(/:latest$/);
      expect(image, from).toMatch(/[:@]/);
    }
  });

  it('installs production dependencies only, reproducibly', () => {
    expect(named('RUN').join('\n')).toMatch(/npm ci --omit=dev/);
  });

  it('runs as uid 65532, not root, in the final stage', () => {
    const users = named('USER');
    expect(users.at(-1)).toBe('USER 65532:65532');
    const lastFrom = instructions.findLastIndex((line) => line.startsWith('FROM '));
    const lastUser = instructions.findLastIndex((line) => line.startsWith('USER '));
    expect(lastUser).toBeGreaterThan(lastFrom);
  });

  it('has a HEALTHCHECK that GETs /healthz with node (no curl in a slim image)', () => {
    const [healthcheck] = named('HEALTHCHECK');
    expect(healthcheck).toMatch(/CMD \["node", "-e", ".*\/healthz/);
  });

  it('carries the built dashboard, not the front-end packages', () => {
    expect(named('RUN').join('\n')).toMatch(/node scripts\/build-ui\.ts/);
    expect(named('COPY')).toContain('COPY --from=ui /app/dist/ui ./dist/ui');
  });

  it("runs canaryd as JavaScript stripped at build time, with Node's type stripper off", () => {
    expect(named('RUN').join('\n')).toMatch(/node .*scripts\/strip-types\.ts --out \/app\/image/);
    for (const part of ['src', 'bin', 'package.json'])
      expect(named('COPY')).toContain(`COPY --from=build /app/image/${part} ./${part}`);
    const entrypoint = named('ENTRYPOINT').at(-1);
    expect(entrypoint).toMatch(/^ENTRYPOINT \["node", .*"src\/main\.js"\]$/);
    expect(entrypoint).toContain('"--no-experimental-strip-types"');
  });

  it('runs Node in memory saver mode, compiled no further than V8 baseline code (V8 flags, so on the ENTRYPOINT)', () => {
    expect(named('ENTRYPOINT').at(-1)).toContain('"--memory-saver-mode"');
    expect(named('ENTRYPOINT').at(-1)).toContain('"--max-opt=1"');
  });

  it('writes nowhere outside /tmp at run time (HOME=/tmp; no npm in the entrypoint)', () => {
    expect(dockerfile).toMatch(/HOME=\/tmp/);
    expect(named('ENTRYPOINT').join()).not.toContain('npm');
  });

  it('.dockerignore keeps secrets-prone and bulky paths out of the build context', () => {
    const ignored = read('.dockerignore').split('\n');
    for (const path of ['.git', 'node_modules', '.cluster', 'test', 'e2e']) expect(ignored).toContain(path);
  });
});

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  rules?: Rule[];
  [key: string]: unknown;
}

const manifests = (file: string): Manifest[] =>
  parseAllDocuments(read(`deploy/${file}`)).map((doc) => {
    expect(doc.errors, file).toEqual([]);
    return doc.toJS() as Manifest;
  });

describe('deploy/', () => {
  const kustomization = manifests('kustomization.yaml')[0] as unknown as { resources: string[] };
  const all = kustomization.resources.flatMap((file) => manifests(file).map((m) => ({ file, ...m })));
  const find = (kind: string, name: string) => {
    const found = all.find((m) => m.kind === kind && m.metadata.name === name);
    if (found === undefined) throw new Error(`${kind} ${name} not in deploy/`);
    return found;
  };

  it('kustomization lists every manifest in deploy/ including the generated CRD', () => {
    const files = readdirSync(new URL('deploy/', root)).filter(
      (f) => f.endsWith('.yaml') && f !== 'kustomization.yaml',
    );
    expect([...kustomization.resources].sort()).toEqual(files.sort());
    expect(kustomization.resources).toContain('crd.yaml');
    for (const kind of [
      'CustomResourceDefinition',
      'Namespace',
      'ServiceAccount',
      'ClusterRole',
      'Role',
      'Deployment',
      'Service',
      'PodDisruptionBudget',
      'ValidatingAdmissionPolicy',
      'ValidatingAdmissionPolicyBinding',
    ]) {
      expect(all.map((m) => m.kind)).toContain(kind);
    }
  });

  it("canaryd's ClusterRole is least privilege: no wildcards, no escalation verbs, secrets read by name only", () => {
    const role = find('ClusterRole', 'canaryd');
    for (const rule of role.rules ?? []) {
      for (const field of [rule.apiGroups, rule.resources, rule.verbs]) expect(field).not.toContain('*');
      for (const verb of ['escalate', 'bind', 'impersonate', 'deletecollection'])
        expect(rule.verbs).not.toContain(verb);
      if (rule.resources.includes('secrets')) expect(rule.verbs).toEqual(['get']);
      if (rule.resources.some((r) => ['pods', 'replicasets', 'endpointslices'].includes(r))) {
        expect(rule.verbs).toEqual(['get', 'list', 'watch']);
      }
    }
    const allowed = (group: string, resource: string, verb: string) =>
      (role.rules ?? []).some(
        (r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb),
      );
    // What canaryd does, and nothing it does not.
    expect(allowed('canaryd.dev', 'canarypolicies/status', 'update')).toBe(true);
    expect(allowed('authentication.k8s.io', 'tokenreviews', 'create')).toBe(true);
    expect(allowed('authorization.k8s.io', 'subjectaccessreviews', 'create')).toBe(true);
    expect(allowed('', 'events', 'create')).toBe(true);
    expect(allowed('events.k8s.io', 'events', 'create')).toBe(true);
    // The dashboard's Events of a release.
    expect(allowed('', 'events', 'list')).toBe(true);
    expect(allowed('', 'pods', 'delete')).toBe(false);
    expect(allowed('canaryd.dev', 'canarypolicies', 'delete')).toBe(false);
    expect(allowed('coordination.k8s.io', 'leases', 'get')).toBe(false);
    // Every resource the controller watches can be listed and watched.
    for (const watched of WATCHED) {
      const group = watched.apiVersion.includes('/') ? watched.apiVersion.split('/')[0]! : '';
      expect(allowed(group, resourceOf(watched.kind), 'watch'), watched.kind).toBe(true);
    }
  });

  it('leader election is a namespaced Role on leases in canaryd-system only', () => {
    const role = find('Role', 'canaryd-leader-election');
    expect(role.metadata.namespace).toBe('canaryd-system');
    expect(role.rules).toEqual([
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
    ]);
    const binding = find('RoleBinding', 'canaryd-leader-election') as unknown as { subjects: object[] };
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'canaryd', namespace: 'canaryd-system' }]);
  });

  it('no role anywhere in deploy/ grants wildcards', () => {
    for (const role of all.filter((m) => m.kind === 'ClusterRole' || m.kind === 'Role')) {
      for (const rule of role.rules ?? [])
        expect([...rule.resources, ...rule.verbs, ...rule.apiGroups]).not.toContain('*');
    }
  });

  const deployment = find('Deployment', 'canaryd') as unknown as {
    spec: {
      replicas: number;
      selector: { matchLabels: Record<string, string> };
      template: {
        metadata: { labels: Record<string, string> };
        spec: {
          serviceAccountName: string;
          securityContext: Record<string, unknown>;
          containers: Array<{
            image: string;
            env: Array<{ name: string; value?: string }>;
            ports: Array<{ name: string; containerPort: number }>;
            securityContext: Record<string, unknown>;
            livenessProbe: { httpGet: { path: string; port: string } };
            readinessProbe: { httpGet: { path: string; port: string } };
            resources: { requests: Record<string, string>; limits: Record<string, string> };
            volumeMounts: Array<{ mountPath: string }>;
          }>;
        };
      };
    };
  };
  const pod = deployment.spec.template.spec;
  const [container] = pod.containers;

  it('Deployment: two replicas with leader election, as the canaryd ServiceAccount', () => {
    expect(deployment.spec.replicas).toBe(2);
    expect(pod.serviceAccountName).toBe('canaryd');
    expect(container?.env).toContainEqual({ name: 'CANARYD_LEADER_ELECT', value: 'true' });
    expect(container?.image).not.toMatch(/:latest$/);
  });

  it('Deployment: non-root, read-only root filesystem, no capabilities, RuntimeDefault seccomp', () => {
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 65532,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container?.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    // Writable scratch only where the image expects it.
    expect(container?.volumeMounts.map((m) => m.mountPath)).toEqual(['/tmp']);
  });

  it('Deployment: probes on /healthz and /readyz, requests and limits', () => {
    expect(container?.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(container?.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(container?.ports).toContainEqual(expect.objectContaining({ name: 'http', containerPort: 8080 }));
    expect(Object.keys(container?.resources.requests ?? {}).sort()).toEqual(['cpu', 'memory']);
    expect(container?.resources.limits.memory).toBeDefined();
  });

  it('Service on 8080 named http and a PDB with minAvailable 1 select the pods', () => {
    const labels = deployment.spec.template.metadata.labels;
    const service = find('Service', 'canaryd') as unknown as {
      spec: { selector: Record<string, string>; ports: Array<{ name: string; port: number }> };
    };
    expect(service.spec.ports).toContainEqual(expect.objectContaining({ name: 'http', port: 8080 }));
    expect(labels).toMatchObject(service.spec.selector);
    const pdb = find('PodDisruptionBudget', 'canaryd') as unknown as {
      spec: { minAvailable: number; selector: { matchLabels: Record<string, string> } };
    };
    expect(pdb.spec.minAvailable).toBe(1);
    expect(labels).toMatchObject(pdb.spec.selector.matchLabels);
    expect(deployment.spec.selector.matchLabels).toEqual(pdb.spec.selector.matchLabels);
  });

  it("the admission policy refuses an unpause of a managed Deployment by anyone but canaryd's ServiceAccount", () => {
    const policy = find(
      'ValidatingAdmissionPolicy',
      'canaryd-keep-managed-deployments-paused',
    ) as unknown as Manifest & {
      spec: {
        failurePolicy: string;
        matchConstraints: {
          resourceRules: Array<{ apiGroups: string[]; resources: string[]; operations: string[] }>;
          objectSelector: { matchLabels: Record<string, string> };
        };
        validations: Array<{ expression: string; messageExpression: string }>;
      };
    };
    expect(policy.apiVersion).toBe('admissionregistration.k8s.io/v1');
    expect(policy.spec.failurePolicy).toBe('Fail');
    expect(policy.spec.matchConstraints.resourceRules).toEqual([
      expect.objectContaining({ apiGroups: ['apps'], resources: ['deployments'], operations: ['UPDATE'] }),
    ]);
    // It selects what canaryd marks (src/controller/names.ts), and exempts the ServiceAccount deploy/ runs it as.
    expect(policy.spec.matchConstraints.objectSelector.matchLabels).toEqual({ [MANAGED_LABEL]: 'true' });
    const account = find('ServiceAccount', 'canaryd');
    const [rule] = policy.spec.validations;
    expect(rule?.expression).toContain(
      `request.userInfo.username == 'system:serviceaccount:${account.metadata.namespace}:${account.metadata.name}'`,
    );
    const deployment = find('Deployment', 'canaryd') as unknown as Manifest & {
      spec: { template: { spec: { serviceAccountName: string } } };
    };
    expect(deployment.spec.template.spec.serviceAccountName).toBe(account.metadata.name);
    // The message tells a person what to run instead.
    for (const hint of ['kubectl canary promote --full', 'kubectl canary abort', 'delete its CanaryPolicy']) {
      expect(rule?.messageExpression).toContain(hint);
    }
    const binding = find('ValidatingAdmissionPolicyBinding', policy.metadata.name) as unknown as Manifest & {
      spec: { policyName: string; validationActions: string[] };
    };
    expect(binding.spec).toMatchObject({ policyName: policy.metadata.name, validationActions: ['Deny'] });
  });

  it('every namespaced object lives in canaryd-system', () => {
    for (const m of all) {
      if (['Deployment', 'Service', 'ServiceAccount', 'PodDisruptionBudget', 'Role', 'RoleBinding'].includes(m.kind)) {
        expect(m.metadata.namespace, `${m.kind} ${m.metadata.name}`).toBe('canaryd-system');
      }
    }
  });
});
