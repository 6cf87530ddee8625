// The controller's credentials without client-node: what it reads itself, and what it leaves to
// client-node (exec plugins, auth providers, merged files) instead of failing.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fromKubeconfigFile, inCluster, restConfig } from '../../src/kube/rest/config.ts';

const dir = mkdtempSync(join(tmpdir(), 'rest-config-'));
const write = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

const kubeconfig = (
  user: string,
  cluster = 'server: https://127.0.0.1:6443/\n      certificate-authority-data: Y2E=',
) => `
apiVersion: v1
kind: Config
current-context: here
contexts:
  - name: elsewhere
    context: { cluster: other, user: other }
  - name: here
    context: { cluster: local, user: me }
clusters:
  - name: local
    cluster:
      ${cluster}
users:
  - name: me
    user:
${user}
`;

describe('rest config from a kubeconfig', () => {
  it('takes the current context’s server, CA and token', () => {
    const result = fromKubeconfigFile(write('token.yaml', kubeconfig('      token: abc')));
    expect(result).toMatchObject({
      config: { server: 'https://127.0.0.1:6443', token: 'abc', rejectUnauthorized: true },
    });
    expect('config' in result && result.config.ca?.toString()).toBe('ca');
  });

  it('reads certificate files relative to the kubeconfig, and knows insecure-skip-tls-verify', () => {
    mkdirSync(join(dir, 'pki'), { recursive: true });
    write('pki/client.crt', 'CERT');
    write('pki/client.key', 'KEY');
    const path = write(
      'certs.yaml',
      kubeconfig(
        '      client-certificate: pki/client.crt\n      client-key: pki/client.key',
        'server: https://h:1\n      insecure-skip-tls-verify: true',
      ),
    );
    const result = fromKubeconfigFile(path);
    if (!('config' in result)) throw new Error(result.unsupported);
    expect(result.config.cert?.toString()).toBe('CERT');
    expect(result.config.key?.toString()).toBe('KEY');
    expect(result.config.rejectUnauthorized).toBe(false);
  });

  it('leaves exec plugins and auth providers to client-node, saying why', () => {
    const exec = fromKubeconfigFile(write('exec.yaml', kubeconfig('      exec:\n        command: aws')));
    expect(exec).toEqual({ unsupported: expect.stringContaining('user exec') });
    const provider = fromKubeconfigFile(write('oidc.yaml', kubeconfig('      auth-provider:\n        name: oidc')));
    expect(provider).toEqual({ unsupported: expect.stringContaining('auth-provider') });
  });

  it('KUBECONFIG with two files is merged by client-node; one file is read here', () => {
    const a = write('a.yaml', kubeconfig('      token: a'));
    const b = write('b.yaml', kubeconfig('      token: b'));
    expect(restConfig(undefined, { KUBECONFIG: `${a}:${b}` })).toEqual({
      unsupported: expect.stringContaining('2 files'),
    });
    expect(restConfig(undefined, { KUBECONFIG: a })).toMatchObject({ config: { token: 'a' } });
  });
});

describe('rest config in a cluster', () => {
  it('uses the service host and port, the CA and the token file (re-read, it rotates)', () => {
    const sa = join(dir, 'sa');
    mkdirSync(sa, { recursive: true });
    writeFileSync(join(sa, 'ca.crt'), 'CA');
    writeFileSync(join(sa, 'token'), 'T');
    const result = inCluster({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, sa);
    expect(result).toMatchObject({ config: { server: 'https://[fd00::1]:443', tokenFile: join(sa, 'token') } });
    expect(inCluster({}, sa)).toEqual({ unsupported: expect.stringContaining('KUBERNETES_SERVICE_HOST') });
  });
});
