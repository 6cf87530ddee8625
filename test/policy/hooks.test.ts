// spec.hooks and steps[].approval in policy validation: errors name the file, line, field and
// reason; analysis settings that hooks use are not reported as ignored.
import { describe, expect, it } from 'vitest';
import { formatPolicyError } from '../../src/policy/errors.ts';
import { parsePolicyText } from '../../src/policy/load.ts';

const policyWith = (extra: string) => `apiVersion: canaryd.dev/v1alpha1
kind: CanaryPolicy
metadata: { name: web }
spec:
  target: { deployment: web, service: web, router: replica-ratio }
${extra}`;

const errorsOf = (extra: string) =>
  parsePolicyText(policyWith(extra), 'web.yaml').errors.map((error) => formatPolicyError(error));

describe('hooks in policy validation', () => {
  it('accepts every hook, a Secret-held URL and an approval step', () => {
    const load = parsePolicyText(
      policyWith(`  strategy:
    steps: [{ weight: 1 }, { weight: 5, approval: true }]
  hooks:
    preRollout: { url: "http://gate.example:8080/pre", onNo: rollback }
    confirmStep: { urlSecretRef: { name: gate-url } }
    confirmPromotion: { url: "https://gate.example/promote", timeout: 5s, retries: 3 }
    during: { url: "http://load.example/run", onNo: rollback, interval: 30s }
    postRollout: { url: "http://pager.example/done" }
    onRollback: { url: "http://pager.example/rollback" }
  analysis: { interval: 1m, inconclusiveLimit: 1, onInconclusive: rollback }
`),
      'web.yaml',
    );
    expect(load.errors).toEqual([]);
    expect(load.policies[0]?.policy.spec.hooks?.confirmStep).toEqual({
      urlSecretRef: { name: 'gate-url' },
      timeout: '10s',
      retries: 1,
      onNo: 'block',
      interval: '15s',
    });
  });

  it.each([
    [
      'a hook without a URL',
      '    confirmStep: { timeout: 5s }\n',
      'web.yaml:7:18: spec.hooks.confirmStep: expected `url` or `urlSecretRef`, found neither (say where canaryd sends the request)',
    ],
    [
      'an unknown onNo',
      '    confirmStep: { url: "http://x/", onNo: maybe }\n',
      'web.yaml:7:44: spec.hooks.confirmStep.onNo: expected one of "block", "rollback", found "maybe"',
    ],
    [
      'onNo on a hook that gates nothing',
      '    postRollout: { url: "http://x/", onNo: block }\n',
      'spec.hooks.postRollout',
    ],
    ['too many retries', '    during: { url: "http://x/", retries: 9 }\n', 'spec.hooks.during.retries'],
  ])('refuses %s', (_name, hook, expected) => {
    const errors = errorsOf(`  hooks:\n${hook}`);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.join('\n')).toContain(expected);
  });
});
