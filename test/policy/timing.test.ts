// Holds and deadlines judged on the steps the engine walks: zero holds are errors (unless a
// person ends the step), holds shorter than an analysis round warn, and a release timeout that
// passes before the steps can end is an error.
import { describe, expect, it } from 'vitest';
import { formatPolicyError } from '../../src/policy/errors.ts';
import { parsePolicyText } from '../../src/policy/load.ts';

const load = (spec: string) =>
  parsePolicyText(
    `apiVersion: canaryd.dev/v1alpha1\nkind: CanaryPolicy\nmetadata: { name: web }\nspec:\n  target: { deployment: web, service: web, router: ingress-nginx }\n${spec}`,
    'p.yaml',
  );
const errors = (spec: string) => load(spec).errors.map((error) => `${error.path}: ${error.message}`);
const warnings = (spec: string) => load(spec).warnings.map((warning) => `${warning.path}: ${warning.message}`);
const CHECKS = '  analysis:\n    interval: 1m\n    checks: [{ name: s, type: successRate, min: 99 }]\n';

describe('zero-length holds', () => {
  it('refuses hold 0s on an analysed step, naming the interval', () => {
    expect(errors(`  strategy: { steps: [{ weight: 1, hold: 0s }, { weight: 5 }] }\n${CHECKS}`)).toEqual([
      "spec.strategy.steps[0].hold: a zero hold: the step advances as soon as it starts; its only evidence would be one analysis round 1m later, over a window of mostly the previous step's traffic",
    ]);
  });

  it('refuses hold 0s without analysis too, with its position', () => {
    const loaded = load('  strategy: { steps: [{ weight: 1 }, { weight: 5, hold: 0m }] }\n');
    expect(loaded.errors.map((error) => formatPolicyError(error))).toEqual([
      'p.yaml:6:57: spec.strategy.steps[1].hold: a zero hold: the step advances as soon as it starts; with no checks nothing else holds it (hold for as long as the step should carry traffic, or set pause: true to wait for a person)',
    ]);
  });

  it('accepts hold 0s on a step a person ends (pause: true)', () => {
    expect(errors('  strategy: { steps: [{ weight: 1, hold: 0s, pause: true }, { weight: 5 }] }\n')).toEqual([]);
  });

  it('refuses a zero testersFirst, previewHold and switchBackHold', () => {
    expect(
      errors('  routing: { header: { name: X-Canary }, testersFirst: 0s }\n  strategy: { steps: [{ weight: 1 }] }\n'),
    ).toEqual([
      'spec.routing.testersFirst: a zero testersFirst: the step advances as soon as it starts; with no checks nothing else holds it',
    ]);
    expect(
      errors(
        '  routing: { cookie: preview }\n  strategy: { type: blueGreen, blueGreen: { previewHold: 0s, switchBackHold: 0s } }\n',
      ),
    ).toEqual([
      'spec.strategy.blueGreen.previewHold: a zero previewHold: the step advances as soon as it starts; with no checks nothing else holds it',
      'spec.strategy.blueGreen.switchBackHold: a zero switchBackHold removes the old version the moment traffic switches: there is no switch back',
    ]);
  });

  it('warns when a hold is shorter than the analysis interval', () => {
    expect(warnings(`  strategy: { steps: [{ weight: 1, hold: 20s }] }\n${CHECKS}`)).toEqual([
      'spec.strategy.steps[0].hold: 20s is shorter than the analysis interval (1m): the step lasts until its first analysis round, not 20s',
    ]);
  });
});

describe('timeouts against the steps', () => {
  it('refuses a release timeout shorter than the holds (testers-first step included)', () => {
    expect(
      errors(
        '  routing: { header: { name: X-Canary }, testersFirst: 30m }\n  strategy: { steps: [{ weight: 1, hold: 20m }, { weight: 5, hold: 20m }] }\n  timeouts: { release: 1h, canaryReady: 5m }\n',
      ),
    ).toEqual([
      'spec.timeouts.release: timeouts.release (1h) passes before the steps can end: 3 steps need at least 1h10m (the sum of their holds), so every release would roll back',
    ]);
  });

  it('counts at least one analysis interval per analysed step', () => {
    expect(
      errors(
        `  strategy: { steps: [{ weight: 1, hold: 1m }, { weight: 5, hold: 1m }] }\n  timeouts: { release: 10m, canaryReady: 1m }\n  analysis:\n    interval: 5m\n    checks: [{ name: s, type: successRate, min: 99 }]\n`,
      ),
    ).toEqual([
      'spec.timeouts.release: timeouts.release (10m) passes before the steps can end: 2 steps need at least 10m (the sum of their holds, each at least one analysis interval), so every release would roll back',
    ]);
  });

  it('refuses a canaryReady timeout that is not shorter than the release timeout', () => {
    expect(
      errors('  strategy: { steps: [{ weight: 1, hold: 1m }] }\n  timeouts: { release: 30m, canaryReady: 30m }\n'),
    ).toEqual([
      'spec.timeouts.canaryReady: timeouts.canaryReady (30m) is not shorter than timeouts.release (30m): the release deadline would always pass first',
    ]);
  });

  it('warns when promotion gets less time than a canary step', () => {
    expect(warnings('  timeouts: { canaryReady: 20m, promotion: 10m }\n')).toEqual([
      'spec.timeouts.promotion: timeouts.promotion (10m) is shorter than timeouts.canaryReady (20m): promotion starts the same pods at full size, and gets less time than one canary step does',
    ]);
  });

  it('accepts the defaults', () => {
    expect(errors('')).toEqual([]);
    expect(warnings('')).toEqual([]);
  });
});
