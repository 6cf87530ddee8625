// Operation actors: recorded as fact only while the admission policy makes the API server check
// them against the writer's identity; otherwise marked "unverified: <claimed>" (invariant 7).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { admissionChecker, judgeAdmission, recordedActor } from '../../src/controller/actor.ts';
import { parseOperation } from '../../src/controller/observe.ts';
import type { KubeObject } from '../../src/kube/objects.ts';
import { FakeKube } from '../traffic/fake-kube.ts';

const GROUP_VERSION = 'admissionregistration.k8s.io/v1';
const vap = (spec: object = { failurePolicy: 'Fail' }): KubeObject & { spec: object } => ({
  apiVersion: GROUP_VERSION,
  kind: 'ValidatingAdmissionPolicy',
  metadata: { name: 'canaryd-operation-actor' },
  spec,
});
const binding = (spec: object = { policyName: 'canaryd-operation-actor', validationActions: ['Deny'] }) => ({
  apiVersion: GROUP_VERSION,
  kind: 'ValidatingAdmissionPolicyBinding',
  metadata: { name: 'canaryd-operation-actor' },
  spec,
});

describe('the actor canaryd records', () => {
  it.each([
    ['alice', true, 'alice'],
    ['alice', false, 'unverified: alice'],
    [undefined, true, 'unverified: (nobody named)'],
    ['', false, 'unverified: (nobody named)'],
  ])('claim %j, admission enforced %s -> %j', (claimed, verified, recorded) => {
    expect(recordedActor(claimed, verified)).toBe(recorded);
  });

  it('an operation written without `by` in its JSON is valid (the actor is in its own annotation)', () => {
    const parsed = parseOperation('{"id":"1","op":"pause","at":"2026-03-01T10:00:00.000Z"}');
    expect(parsed).toEqual({ operation: { id: '1', op: 'pause', at: '2026-03-01T10:00:00.000Z', by: '' } });
  });
});

describe('is the admission policy enforced?', () => {
  it.each([
    ['installed with Deny', vap(), binding(), true, 'enforces'],
    ['no policy', null, binding(), false, 'ValidatingAdmissionPolicy canaryd-operation-actor is not installed'],
    ['no binding', vap(), null, false, 'ValidatingAdmissionPolicyBinding canaryd-operation-actor is not installed'],
    ['failurePolicy Ignore', vap({ failurePolicy: 'Ignore' }), binding(), false, 'failurePolicy Fail'],
    [
      'binding only warns',
      vap(),
      binding({ policyName: 'canaryd-operation-actor', validationActions: ['Warn', 'Audit'] }),
      false,
      'with Deny',
    ],
    ['binding of another policy', vap(), binding({ policyName: 'other', validationActions: ['Deny'] }), false, 'Deny'],
  ])('%s', (_, policy, bound, enforced, reason) => {
    const verdict = judgeAdmission(policy, bound);
    expect(verdict.enforced).toBe(enforced);
    expect(verdict.reason).toContain(reason);
  });

  it('reads the policy and binding at most once per TTL, and counts a read error as not enforced', async () => {
    let clock = 0;
    const kube = new FakeKube(vap(), binding());
    const errors: string[] = [];
    const check = admissionChecker(kube, { ttlMs: 10_000, now: () => clock, onError: (e) => errors.push(e.message) });
    expect((await check()).enforced).toBe(true);
    clock = 9_999;
    expect((await check()).enforced).toBe(true);
    expect(kube.calls.filter((call) => call.verb === 'get')).toHaveLength(2);
    clock = 10_000;
    kube.failNext('get', 'Forbidden');
    const denied = await check();
    expect(denied.enforced).toBe(false);
    expect(denied.reason).toContain('could not read the admission policy');
    expect(errors).toHaveLength(1);
  });

  it('the shipped policy refuses by default and binds with Deny; canaryd may read exactly it', () => {
    const docs = readFileSync(new URL('../../deploy/operation-actor-policy.yaml', import.meta.url), 'utf8')
      .split(/^---$/m)
      .map((text) => parse(text) as KubeObject & { spec: Record<string, unknown> });
    const [policy, bound] = docs;
    expect(judgeAdmission(policy!, bound!)).toMatchObject({ enforced: true });
    const rbac = readFileSync(new URL('../../deploy/rbac.yaml', import.meta.url), 'utf8');
    expect(rbac).toContain('resourceNames: ["canaryd-operation-actor"]');
    expect(rbac).toContain('verbs: ["operate-on-behalf"]');
  });
});
