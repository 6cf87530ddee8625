// prom-client metrics of hook calls, by hook and result, on canaryd's registry. The series of a
// hook some policy configures exist at 0 from the first reconcile of that policy, so rate() and
// increase() see its first call (a counter born at 1 hides it).
import { Counter, Histogram, type Registry } from 'prom-client';
import type { HookName } from '../engine/hook-calls.ts';

/**
 * yes / no: the receiver answered {"approved": true|false}. inconclusive: an HTTP answer that is
 * neither (5xx, 4xx, redirect, a body that is not the documented JSON or too large). error: no
 * answer came back (the URL's Secret unreadable, the receiver unreachable, or silent past the
 * timeout). The engine treats inconclusive and error alike (never a pass).
 */
export type HookCallResult = 'yes' | 'no' | 'inconclusive' | 'error';

export const HOOK_CALL_RESULTS: readonly HookCallResult[] = ['yes', 'no', 'inconclusive', 'error'];

export interface HookMetrics {
  /** Hooks a policy configures: their series start at 0 (idempotent, cheap on every reconcile). */
  declare(hooks: Iterable<HookName>): void;
  /** One call, all its attempts: what it came to and how long it took. */
  observe(hook: HookName, result: HookCallResult, seconds: number): void;
}

export function hookMetrics(registry: Registry): HookMetrics {
  const registers = [registry];
  const calls = new Counter({
    name: 'canaryd_hook_calls_total',
    help: 'Hook calls (all attempts of one call count once), by hook and result (yes, no, inconclusive, error).',
    labelNames: ['hook', 'result'],
    registers,
  });
  const duration = new Histogram({
    name: 'canaryd_hook_call_duration_seconds',
    help: 'Time one hook call took, all its attempts and the pauses between them included, by hook.',
    labelNames: ['hook'],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers,
  });
  const declared = new Set<HookName>();
  const declare = (hooks: Iterable<HookName>): void => {
    for (const hook of hooks) {
      if (declared.has(hook)) continue;
      declared.add(hook);
      for (const result of HOOK_CALL_RESULTS) calls.inc({ hook, result }, 0);
      duration.zero({ hook });
    }
  };
  return {
    declare,
    observe(hook, result, seconds) {
      declare([hook]);
      calls.inc({ hook, result });
      duration.observe({ hook }, seconds);
    },
  };
}
