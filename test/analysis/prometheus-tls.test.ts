import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrometheusProvider } from '../../src/analysis/prometheus.ts';

// A self-signed certificate for 127.0.0.1, made with openssl (the e2e PKI does the same).
let dir = '';
let cert = '';
let server: https.Server;
let address = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'canaryd-prom-tls-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=prometheus',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      join(dir, 'tls.key'),
      '-out',
      join(dir, 'tls.crt'),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  cert = readFileSync(join(dir, 'tls.crt'), 'utf8');
  server = https.createServer({ cert, key: readFileSync(join(dir, 'tls.key')) }, (_request, response) => {
    response.end(JSON.stringify({ status: 'success', data: { resultType: 'scalar', result: [1, '42'] } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  address = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

describe('Prometheus client over TLS', () => {
  it('trusts a Prometheus signed by the given CA bundle', async () => {
    const provider = createPrometheusProvider({ address, timeoutMs: 5_000, ca: cert });
    expect(await provider.query('up')).toMatchObject({ kind: 'value', value: 42 });
    provider.close();
  });

  it('refuses an untrusted certificate, saying it could not reach Prometheus', async () => {
    const provider = createPrometheusProvider({ address, timeoutMs: 5_000 });
    await expect(provider.query('up')).rejects.toMatchObject({
      code: 'unreachable',
      message: expect.stringContaining(address),
    });
    provider.close();
  });

  it('skips verification only when told to', async () => {
    const provider = createPrometheusProvider({ address, timeoutMs: 5_000, insecureSkipVerify: true });
    expect(await provider.query('up')).toMatchObject({ kind: 'value', value: 42 });
    provider.close();
  });
});
