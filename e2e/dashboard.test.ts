// The dashboard in a real browser (Debian's chromium driven by playwright-core) against the real
// canaryd, apiserver, RBAC and Prometheus: a person signs in with a ServiceAccount token, watches a
// release advance without reloading, sees canary and stable drawn against the threshold, presses
// abort and sees the rollback; a person without the right sees each refusal with its reason; and
// `kubectl canary dashboard` serves the same page with the person's kubeconfig. Screenshots go to
// results/tmp/dashboard/ (gitignored).
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './cluster/cluster.ts';
import {
  APP,
  canarySampleQuery,
  createAnalysisPolicy,
  deployStable,
  errorRateQuery,
  releaseV2,
} from './support/analysis.ts';
import { type BackgroundLoad, backgroundLoad } from './support/analysis-records.ts';
import { type CanarydProcess, installCrd, startCanaryd } from './support/canaryd.ts';
import { createOperator, type Operator } from './support/cli.ts';
import { useTestEnv } from './support/env.ts';
import { canarydAddress, serviceAccountToken } from './support/service.ts';

const SHOTS = join(REPO_ROOT, 'results', 'tmp', 'dashboard');
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

describe('dashboard in a browser', () => {
  const env = useTestEnv('dash');
  let canaryd: CanarydProcess;
  let address: string;
  let browser: Browser;
  let load: BackgroundLoad | undefined;
  let operator: Operator;
  const tokens = { operator: '', viewer: '', nobody: '' };
  const user = (sa: string) => `system:serviceaccount:${env.namespace}:${sa}`;

  beforeAll(async () => {
    // The set-up the README's test command does (scripts/setup.sh), for this file run alone too.
    execFileSync('bash', [join(REPO_ROOT, 'scripts', 'ensure-chromium.sh')], { stdio: 'inherit' });
    execFileSync(process.execPath, [join(REPO_ROOT, 'scripts', 'build-ui.ts')], { stdio: 'inherit' });
    mkdirSync(SHOTS, { recursive: true });

    const { core, kc, namespace } = env;
    await installCrd(kc);
    operator = await createOperator(env, 'operator');
    const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
    await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'viewer' } } });
    await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'nobody' } } });
    await rbac.createNamespacedRole({
      namespace,
      body: {
        metadata: { name: 'view-canarypolicies' },
        rules: [{ apiGroups: ['canaryd.dev'], resources: ['canarypolicies'], verbs: ['get', 'list', 'watch'] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name: 'viewer' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'view-canarypolicies' },
        subjects: [{ kind: 'ServiceAccount', name: 'viewer', namespace }],
      },
    });
    for (const sa of ['operator', 'viewer', 'nobody'] as const) {
      tokens[sa] = await serviceAccountToken(core, namespace, sa, 3600);
    }

    canaryd = startCanaryd(env.kubeconfig, ['--namespace', namespace], 'canaryd-dashboard');
    // Generous: at a load average of 30 (helpers sharing two cores) canaryd took over 30 s to listen.
    address = await canarydAddress(canaryd, 120_000);
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_FLAGS });

    await deployStable(env);
    await createAnalysisPolicy(env, {
      steps: [
        { weight: 25, hold: '15s' },
        { weight: 50, hold: '10m' },
      ],
      checks: [
        {
          name: 'error-rate',
          type: 'custom',
          query: errorRateQuery('canary'),
          stableQuery: errorRateQuery('stable'),
          sampleQuery: canarySampleQuery,
          minSample: 20,
          max: 0.05,
          relative: { maxAbove: 0.05 },
        },
      ],
    });
  });

  afterAll(async () => {
    await load?.stop();
    await browser?.close();
    await canaryd?.stop();
  });

  async function signIn(page: Page, token: string) {
    await page.goto(`${address}/ui/`);
    await page.getByLabel('Token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  async function chooseNamespace(page: Page) {
    await page.getByLabel('Namespace').fill(env.namespace);
    await page.getByLabel('Namespace').press('Enter');
  }

  const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

  it('shows nothing without a token, and refuses a token the apiserver does not accept', async () => {
    const page = await browser.newPage();
    await page.goto(`${address}/ui/`);
    await expect.poll(() => page.getByRole('heading', { name: 'Sign in' }).isVisible(), { timeout: 30_000 }).toBe(true);
    expect(await page.locator('table.releases').count()).toBe(0);
    await shot(page, 'sign-in');
    await signIn(page, 'not-a-token');
    await page
      .getByRole('alert')
      .getByText('The bearer token is not valid (TokenReview).')
      .waitFor({ timeout: 30_000 });
    expect(await page.locator('table.releases').count()).toBe(0);
    await page.close();
  });

  it('signs in, watches the release advance live with canary and stable charted, aborts it and sees the rollback', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.accept();
    });
    await signIn(page, tokens.operator);
    await page.getByTestId('user').getByText(user('operator')).waitFor({ timeout: 30_000 });
    // Namespaced Roles only: the list is asked for the test's namespace.
    await chooseNamespace(page);
    const row = page.locator(`tr[data-policy="${env.namespace}/${APP}"]`);
    await row.locator('.phase', { hasText: 'idle' }).waitFor({ timeout: 30_000 });

    load = backgroundLoad(env);
    await releaseV2(env);
    // No reload: the list follows the release.
    await row.locator('.phase', { hasText: 'progressing' }).waitFor({ timeout: 60_000 });
    await row.getByRole('link').click();
    await page.getByTestId('step').getByText('1/2').waitFor({ timeout: 60_000 });
    await page.locator('[data-testid="timeline"] li[data-state="current"]', { hasText: '25 %' }).waitFor();

    // The release advances by itself once analysis passes and the hold ends; the page follows.
    await page.getByTestId('step').getByText('2/2').waitFor({ timeout: 120_000 });
    await page.locator('[data-testid="timeline"] li[data-state="done"]', { hasText: '25 %' }).waitFor();
    await page.locator('[data-testid="timeline"] li[data-state="current"]', { hasText: '50 %' }).waitFor();
    const chart = page.locator('figure[data-check="error-rate"]');
    await chart.locator('canvas').waitFor({ timeout: 60_000 });
    const legend = await chart.locator('.u-legend').innerText();
    expect(legend).toContain('canary');
    expect(legend).toContain('stable');
    expect(legend).toContain('max 0.05');
    expect(legend).toContain('stable + 0.05');
    await expect.poll(() => chart.locator('figcaption').innerText(), { timeout: 30_000 }).toContain('last: pass');
    await shot(page, 'release-progressing');

    await page.getByRole('button', { name: 'Abort' }).click();
    await page
      .getByTestId('outcome')
      .getByText(/^Abort: abort accepted/)
      .waitFor({ timeout: 30_000 });
    expect(dialogs).toEqual(['Abort: roll this release back?']);
    await page.getByTestId('phase').getByText('failed').waitFor({ timeout: 90_000 });
    const last = page.locator('[data-testid="history"] tbody tr').first();
    await last.locator('.outcome', { hasText: 'rolledBack' }).waitFor({ timeout: 30_000 });
    expect(await last.innerText()).toContain(`abort by ${user('operator')}: applied`);
    await page.locator('[data-testid="events"] tr', { hasText: 'abort' }).first().waitFor({ timeout: 30_000 });
    await shot(page, 'release-rolled-back');
    await load.stop();
    load = undefined;
    await page.close();
  }, 360_000);

  it('a person without the right sees each refusal with its reason', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    await signIn(page, tokens.viewer);
    await page.getByTestId('user').getByText(user('viewer')).waitFor({ timeout: 30_000 });
    // A namespaced Role: the list across all namespaces is refused, the namespace's list is not.
    await page
      .getByRole('alert')
      .getByText(`User "${user('viewer')}" cannot list canarypolicies.canaryd.dev across all namespaces.`)
      .waitFor({ timeout: 30_000 });
    await chooseNamespace(page);
    await page.locator(`tr[data-policy="${env.namespace}/${APP}"]`).getByRole('link').click();
    await page.getByTestId('phase').getByText('failed').waitFor({ timeout: 30_000 });
    for (const button of ['Pause', 'Retry']) {
      await page.getByRole('button', { name: button, exact: true }).click();
      await page
        .getByTestId('outcome')
        .getByText(
          `${button} refused (403 forbidden): User "${user('viewer')}" cannot patch canarypolicies/${APP}.canaryd.dev in namespace ${env.namespace}.`,
        )
        .waitFor({ timeout: 30_000 });
    }
    await shot(page, 'refused');
    await page.close();

    const nobody = await browser.newPage();
    await signIn(nobody, tokens.nobody);
    await nobody.getByTestId('user').getByText(user('nobody')).waitFor({ timeout: 30_000 });
    await nobody.goto(`${address}/ui/#/r/${env.namespace}/${APP}`);
    await nobody
      .getByRole('alert')
      .getByText(`User "${user('nobody')}" cannot get canarypolicies/${APP}.canaryd.dev in namespace ${env.namespace}.`)
      .waitFor({ timeout: 30_000 });
    expect(await nobody.getByTestId('phase').count()).toBe(0);
    await nobody.close();
  });

  it('kubectl canary dashboard serves it on 127.0.0.1 with the kubeconfig credentials until Ctrl-C', async () => {
    const dashboard = operator.start(['dashboard', '--port', '0'], { timeoutMs: 120_000 });
    const url = await new Promise<string>((resolve, reject) => {
      const deadline = setTimeout(
        () => reject(new Error(`no URL printed: ${JSON.stringify(dashboard.output())}`)),
        90_000,
      );
      dashboard.child.stdout?.on('data', () => {
        const found = /http:\/\/127\.0\.0\.1:\d+\/ui\/#\S+/.exec(dashboard.output().stdout);
        if (found) {
          clearTimeout(deadline);
          resolve(found[0]);
        }
      });
    });
    expect(dashboard.output().stdout).toContain(`Dashboard for ${operator.username} (namespace ${env.namespace})`);
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    await page.goto(url);
    // Signed in by the URL's session token; reads go to the apiserver as the operator.
    await page.getByTestId('user').getByText(operator.username).waitFor({ timeout: 30_000 });
    const row = page.locator(`tr[data-policy="${env.namespace}/${APP}"]`);
    await row.locator('.phase', { hasText: 'failed' }).waitFor({ timeout: 30_000 });
    await row.getByRole('link').click();
    const last = page.locator('[data-testid="history"] tbody tr').first();
    await last.locator('.outcome', { hasText: 'rolledBack' }).waitFor({ timeout: 30_000 });
    // Without the session token, the local server answers nobody.
    const stranger = await fetch(new URL('/api/v1/whoami', url));
    expect(stranger.status).toBe(401);
    await page.close();

    dashboard.child.kill('SIGINT');
    const exit = await dashboard.done;
    expect(exit.code).toBe(0);
    expect(exit.stderr).toContain('dashboard stopped');
  });
});
