import * as k8s from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { PooledKubeConfig } from '../../src/kube/pooled-config.ts';

// A throwaway CA-less TLS setup: the Agent is only built, never connected.
const kubeconfig = (user: string) => ({
  clusters: [{ name: 'local', server: 'https://127.0.0.1:6443', skipTLSVerify: true }],
  users: [{ name: user, token: `token-of-${user}` }],
  contexts: [{ name: user, cluster: 'local', user }],
  currentContext: user,
});

const contextFor = () => new k8s.RequestContext('https://127.0.0.1:6443/api/v1/namespaces', k8s.HttpMethod.GET);

describe('PooledKubeConfig', () => {
  const configs: PooledKubeConfig[] = [];
  afterEach(async () => {
    await Promise.all(configs.splice(0).map((kc) => kc.closePool()));
  });

  it('hands every request the same connection pool, so TLS connections are reused', async () => {
    const kc = new PooledKubeConfig();
    configs.push(kc);
    kc.loadFromOptions(kubeconfig('canaryd'));
    const first = contextFor();
    const second = contextFor();
    await kc.applySecurityAuthentication(first);
    await kc.applySecurityAuthentication(second);
    expect(first.getDispatcher()).toBeDefined();
    expect(second.getDispatcher()).toBe(first.getDispatcher());
    expect(second.getHeaders().Authorization).toBe('Bearer token-of-canaryd');
  });

  it('keeps one pool per cluster and user: another user gets its own', async () => {
    const kc = new PooledKubeConfig();
    configs.push(kc);
    const options = kubeconfig('alice');
    kc.loadFromOptions({
      ...options,
      users: [...options.users, { name: 'bob', token: 'token-of-bob', certData: 'Ym9i', keyData: 'Ym9i' }],
      contexts: [...options.contexts, { name: 'bob', cluster: 'local', user: 'bob' }],
    });
    const alice = contextFor();
    await kc.applySecurityAuthentication(alice);
    kc.setCurrentContext('bob');
    const bob = contextFor();
    await kc.applySecurityAuthentication(bob);
    expect(bob.getDispatcher()).not.toBe(alice.getDispatcher());
  });
});
