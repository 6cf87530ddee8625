// Semantic checks of spec.hooks and of the steps' approval gates: what zod cannot say (exactly
// one of url and urlSecretRef, durations that compute, a gate that a release can reach).
import { parseDuration } from '../schedule/duration.ts';
import type { FieldPath } from './errors.ts';
import type { Reporter } from './findings.ts';
import { HOOK_NAMES } from './hooks-schema.ts';
import type { CanaryPolicySpec } from './schema.ts';

export function checkHooks(spec: CanaryPolicySpec, reporter: Reporter): void {
  const hooks = spec.hooks;
  for (const name of HOOK_NAMES) {
    const hook = hooks?.[name];
    if (hook === undefined) continue;
    const path: FieldPath = ['spec', 'hooks', name];
    if (hook.url === undefined && hook.urlSecretRef === undefined) {
      reporter.error(path, 'expected `url` or `urlSecretRef`, found neither', 'say where canaryd sends the request');
    }
    if (hook.url !== undefined && hook.urlSecretRef !== undefined) {
      reporter.error([...path, 'urlSecretRef'], 'expected one of `url` and `urlSecretRef`, found both');
    }
    positive([...path, 'timeout'], hook.timeout, reporter);
    if ('interval' in hook) positive([...path, 'interval'], hook.interval, reporter);
  }
  if (spec.strategy.type === 'blueGreen') {
    spec.strategy.steps.forEach((step, index) => {
      if (step.approval === true) {
        reporter.warning(
          ['spec', 'strategy', 'steps', index, 'approval'],
          'a blueGreen release does not walk spec.strategy.steps: this gate is never reached',
          'use strategy.type canary, or a confirmPromotion hook',
        );
      }
    });
  }
}

function positive(path: FieldPath, text: string, reporter: Reporter): void {
  try {
    if (parseDuration(text) === 0)
      reporter.error(path, `expected a duration above zero, found ${JSON.stringify(text)}`);
  } catch (cause) {
    reporter.error(path, (cause as Error).message);
  }
}
