// The Helm chart (deploy/helm/canaryd) and the kustomize install (deploy/) as objects: helm
// built from its Go module (e2e/cluster/build-helm.sh, cached), `helm template` and
// `kubectl kustomize` run as a person would run them.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../cluster/cluster.ts';

export const CHART = join(REPO_ROOT, 'deploy', 'helm', 'canaryd');
export const KUSTOMIZE_DIR = join(REPO_ROOT, 'deploy');
const KUBECTL = '/usr/bin/kubectl';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  // biome-ignore lint/suspicious/noExplicitAny: manifests are compared field by field, whatever their kind
  [field: string]: any;
}

let helmPath: string | undefined;

/** The helm binary, built on first use (cached outside the repo; seconds once built). */
export function helmBinary(): string {
  if (helmPath === undefined) {
    const out = execFileSync('bash', [join(REPO_ROOT, 'e2e', 'cluster', 'build-helm.sh')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: 1_800_000,
    });
    const path = out.trim().split('\n').at(-1);
    if (!path || !existsSync(path)) throw new Error(`build-helm.sh did not report a helm binary (got: ${out})`);
    helmPath = path;
  }
  return helmPath;
}

export function parseObjects(yaml: string, source: string): K8sObject[] {
  return parseAllDocuments(yaml)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${source}: ${doc.errors.map((e) => e.message).join('; ')}`);
      return doc.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null && typeof o === 'object' && 'kind' in o);
}

export interface HelmResult {
  ok: boolean;
  objects: K8sObject[];
  /** helm's own words when it refused (stderr). */
  error: string;
}

/** `helm template RELEASE deploy/helm/canaryd -n NAMESPACE --set ...`: the objects it renders, or its refusal. */
export async function helmTemplate(
  options: { release?: string; namespace?: string; set?: string[]; values?: string; apiVersions?: string[] } = {},
): Promise<HelmResult> {
  const args = ['template', options.release ?? 'canaryd', CHART, '--namespace', options.namespace ?? 'canaryd-system'];
  for (const value of options.set ?? []) args.push('--set', value);
  // What a live install finds by discovery (group/version/Kind), for templates that ask.
  for (const version of options.apiVersions ?? []) args.push('--api-versions', version);
  if (options.values !== undefined) args.push('--values', options.values);
  return promisify(execFile)(helmBinary(), args, { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }).then(
    ({ stdout }) => ({ ok: true, objects: parseObjects(stdout, 'helm template'), error: '' }),
    (error: { stderr?: string; message?: string }) => ({
      ok: false,
      objects: [],
      error: error.stderr ?? String(error.message),
    }),
  );
}

/**
 * What `kubectl apply -k deploy/` applies: `kubectl kustomize deploy/` (kubectl's built-in
 * kustomize, as docs/install.md and e2e/install-deploy.test.ts use it).
 */
export function kustomizeObjects(dir = KUSTOMIZE_DIR): K8sObject[] {
  if (!existsSync(KUBECTL)) throw new Error(`${KUBECTL} not found: kubectl renders deploy/ (kubectl kustomize)`);
  const out = execFileSync(KUBECTL, ['kustomize', dir], { encoding: 'utf8', timeout: 60_000 });
  return parseObjects(out, `kubectl kustomize ${dir}`);
}

/**
 * An overlay of deploy/ with the given components (paths under deploy/components), as a user
 * writes one, in a temporary directory (kustomize takes relative paths only), rendered.
 */
export function kustomizeWithComponents(components: string[]): K8sObject[] {
  const dir = mkdtempSync(join(tmpdir(), 'canaryd-overlay-'));
  try {
    const from = (path: string) => relative(dir, path);
    writeFileSync(
      join(dir, 'kustomization.yaml'),
      [
        'apiVersion: kustomize.config.k8s.io/v1beta1',
        'kind: Kustomization',
        `resources: [${from(KUSTOMIZE_DIR)}]`,
        `components: [${components.map((c) => from(join(KUSTOMIZE_DIR, 'components', c))).join(', ')}]`,
        '',
      ].join('\n'),
    );
    return kustomizeObjects(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const readChartFile = (path: string): string => readFileSync(join(CHART, path), 'utf8');
