// Certificates and keys for the local control plane, made with openssl: a CA, the apiserver's
// serving certificate for 127.0.0.1, and the service-account signing key pair.
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ClusterPki {
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  saKey: string;
  saPub: string;
}

const openssl = (args: string[], cwd: string): void => {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
};

export function ensurePki(dir: string): ClusterPki {
  const pki: ClusterPki = {
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    serverCert: join(dir, 'apiserver.crt'),
    serverKey: join(dir, 'apiserver.key'),
    saKey: join(dir, 'sa.key'),
    saPub: join(dir, 'sa.pub'),
  };
  if (Object.values(pki).every((f) => existsSync(f))) return pki;
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', pki.caKey], dir);
  openssl(
    ['req', '-x509', '-new', '-key', pki.caKey, '-days', '3650', '-subj', '/CN=canaryd-local-ca', '-out', pki.caCert],
    dir,
  );
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', pki.serverKey], dir);
  const ext = join(dir, 'apiserver.ext');
  writeFileSync(
    ext,
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:10.96.0.1',
    ].join('\n'),
  );
  const csr = join(dir, 'apiserver.csr');
  openssl(['req', '-new', '-key', pki.serverKey, '-subj', '/CN=kube-apiserver', '-out', csr], dir);
  openssl(
    [
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      pki.caCert,
      '-CAkey',
      pki.caKey,
      '-CAcreateserial',
      '-days',
      '3650',
      '-extfile',
      ext,
      '-out',
      pki.serverCert,
    ],
    dir,
  );
  openssl(['genrsa', '-out', pki.saKey, '2048'], dir);
  openssl(['rsa', '-in', pki.saKey, '-pubout', '-out', pki.saPub], dir);
  return pki;
}
