// kubectl canary dashboard in-process: the URL it prints, its session token, and RBAC asked as
// the kubeconfig's own user (SelfSubjectAccessReview) before every read and operation.
import { describe, expect, it } from 'vitest';
import type { ClusterDeps } from '../../src/cli/commands/cluster.ts';
import { dashboardCommand } from '../../src/cli/commands/dashboard.ts';
import type { KubeObject } from '../../src/kube/objects.ts';
import { policyObject, runningStatus } from '../server/fixtures.ts';
import { ClusterKube } from './harness.ts';

/** The in-memory cluster answering SelfSubjectAccessReviews: read in shop, nothing else. */
class ReviewingKube extends ClusterKube {
  override async create<T extends KubeObject>(object: T): Promise<T> {
    if (object.kind !== 'SelfSubjectAccessReview') return super.create(object);
    const { verb, namespace } = (object.spec as { resourceAttributes: { verb: string; namespace: string } })
      .resourceAttributes;
    return { ...object, status: { allowed: namespace === 'shop' && ['get', 'list'].includes(verb) } };
  }
}

async function startDashboard(args: string[]) {
  const kube = new ReviewingKube(policyObject('checkout', 'shop', { status: runningStatus() }));
  const stop = new AbortController();
  const deps: ClusterDeps = {
    connect: (flags) => ({ kube, namespace: flags.namespace ?? 'shop', whoami: async () => 'alice' }),
    sleep: async () => {},
    interrupt: () => stop.signal,
    isTTY: false,
  };
  let stdout = '';
  let stderr = '';
  const io = {
    stdout: (text: string) => {
      stdout += text;
    },
    stderr: (text: string) => {
      stderr += text;
    },
    now: () => new Date('2026-03-01T10:06:30.000Z'),
  };
  const done = dashboardCommand(() => deps).run(args, io);
  return { done, stop: () => stop.abort(), output: () => ({ stdout, stderr }) };
}

describe('kubectl canary dashboard', () => {
  it('prints a 127.0.0.1 URL whose session token alone opens the API; RBAC refusals name the right', async () => {
    const dashboard = await startDashboard(['--port', '0']);
    let url: URL | undefined;
    for (let i = 0; i < 200 && url === undefined; i++) {
      const found = /http:\/\/127\.0\.0\.1:\d+\/ui\/#ns=shop&token=(\S+)/.exec(dashboard.output().stdout);
      if (found) url = new URL(found[0]);
      else await new Promise((resolve) => setTimeout(resolve, 25));
    }
    if (url === undefined) throw new Error(`no URL: ${JSON.stringify(dashboard.output())}`);
    const token = new URLSearchParams(url.hash.slice(1)).get('token') ?? '';
    const api = (path: string, init: RequestInit & { token?: string } = {}) =>
      fetch(new URL(path, url), {
        ...init,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${init.token ?? token}` },
      });

    expect(await (await api('/api/v1/whoami')).json()).toEqual({ username: 'alice', groups: [] });
    expect((await api('/api/v1/whoami', { token: 'guess' })).status).toBe(401);
    const list = (await (await api('/api/v1/releases?namespace=shop')).json()) as { items: Array<{ name: string }> };
    expect(list.items.map((item) => item.name)).toEqual(['checkout']);
    const refused = await api('/api/v1/namespaces/shop/releases/checkout/abort', { method: 'POST', body: '{}' });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { message: string }).message).toBe(
      'User "alice" cannot patch canarypolicies/checkout.canaryd.dev in namespace shop.',
    );

    dashboard.stop();
    expect(await dashboard.done).toBe(0);
    expect(dashboard.output().stderr).toContain('dashboard stopped');
    // A real listening server and fetches: more than the default 5 s on a loaded machine.
  }, 30_000);

  it('a bad --port or --prometheus is a usage error', async () => {
    for (const args of [
      ['--port', 'x'],
      ['--port', '70000'],
      ['--prometheus', 'prom:9090'],
    ]) {
      const dashboard = await startDashboard(args);
      expect(await dashboard.done).toBe(2);
      expect(dashboard.output().stderr).toMatch(/--(port|prometheus) must be/);
    }
  });
});
