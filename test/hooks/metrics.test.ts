// Hook metrics as an SRE reads them at /metrics: calls by hook and result, the duration of each
// call, and the series of every configured hook present at 0 before its first call (so rate()
// and increase() see that call). Calls go to a real loopback server, or to a closed port.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HookReleaseContext } from '../../src/engine/hook-calls.ts';
import { type HookCall, HookRunner, hookMetrics } from '../../src/hooks/index.ts';

let answer = '{"approved": true}';
let status = 200;
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(status, { 'content-type': 'application/json' }).end(answer));
});
let url = '';
let closedUrl = '';

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  // A port that was just free: nothing listens there.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  closedUrl = `http://127.0.0.1:${(probe.address() as AddressInfo).port}/`;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const release: HookReleaseContext = {
  revision: 2,
  templateHash: 'abc',
  changeCause: '',
  phase: 'progressing',
  step: 0,
  steps: 2,
  weight: 0,
  reason: '',
};

function runner(registry: Registry) {
  let answered = 0;
  const hooks = new HookRunner({
    readSecret: async () => {
      throw new Error('secret "hook-url" not found');
    },
    onAnswer: () => {
      answered++;
    },
    metrics: hookMetrics(registry),
  });
  let seq = 0;
  const call = async (hook: HookCall['hook'], spec: HookCall['spec']) => {
    const before = answered;
    hooks.start({ namespace: 'shop', name: 'web', hook, callId: `2/${hook}/1/${++seq}`, release, spec });
    while (answered === before) await new Promise((resolve) => setTimeout(resolve, 5));
  };
  return { hooks, call };
}

const gate = (target: string) => ({ url: target, timeout: '2s', retries: 0, onNo: 'block' as const, interval: '10s' });
const sample = async (registry: Registry, name: string, labels: string) => {
  const line = (await registry.metrics()).split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
};

describe('hook metrics', () => {
  it('a configured hook has its series at 0 before any call', async () => {
    const registry = new Registry();
    const { hooks } = runner(registry);
    hooks.configured(['preRollout', 'during']);
    for (const result of ['yes', 'no', 'inconclusive', 'error']) {
      expect(await sample(registry, 'canaryd_hook_calls_total', `hook="preRollout",result="${result}"`)).toBe(0);
      expect(await sample(registry, 'canaryd_hook_calls_total', `hook="during",result="${result}"`)).toBe(0);
    }
    expect(await sample(registry, 'canaryd_hook_call_duration_seconds_count', 'hook="preRollout"')).toBe(0);
    expect(await sample(registry, 'canaryd_hook_calls_total', 'hook="confirmStep",result="yes"')).toBeUndefined();
  });

  it('counts each call once by its result: yes, no, inconclusive (an unusable answer), error (no answer)', async () => {
    const registry = new Registry();
    const { call } = runner(registry);
    answer = '{"approved": true}';
    await call('confirmStep', gate(url));
    answer = '{"approved": false, "message": "freeze"}';
    await call('confirmStep', gate(url));
    await call('confirmStep', gate(url));
    answer = '{"approved": "yes"}';
    await call('confirmStep', gate(url));
    status = 503;
    await call('confirmStep', gate(url));
    status = 200;
    await call('confirmStep', gate(closedUrl));
    await call('confirmStep', {
      urlSecretRef: { name: 'hook-url' },
      timeout: '2s',
      retries: 0,
      onNo: 'block',
      interval: '10s',
    });
    const count = (result: string) =>
      sample(registry, 'canaryd_hook_calls_total', `hook="confirmStep",result="${result}"`);
    expect([await count('yes'), await count('no'), await count('inconclusive'), await count('error')]).toEqual([
      1, 2, 2, 2,
    ]);
    expect(await sample(registry, 'canaryd_hook_call_duration_seconds_count', 'hook="confirmStep"')).toBe(7);
    expect(await sample(registry, 'canaryd_hook_call_duration_seconds_sum', 'hook="confirmStep"')).toBeGreaterThan(0);
  });
});
