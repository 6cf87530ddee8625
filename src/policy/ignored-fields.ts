// Fields the chosen strategy, router or check type never reads. A policy that sets one says
// something canaryd will not do (steps on a blueGreen release, a surge budget with an Ingress),
// so each is an error naming the field and why, never a silent no-op. Only values the author
// set count: a field at its default (which the apiserver fills in) is never "set".

import { byCodeUnits } from '../order.ts';
import type { FieldPath } from './errors.ts';
import type { Reporter } from './findings.ts';
import type { CanaryPolicySpec, CheckSpec } from './schema.ts';
import { schemaAt } from './schema-json.ts';

interface Ignored {
  path: FieldPath;
  why: string;
  hint: string;
  /** The field whose value makes this one ignored (for the lenient pass). */
  because: FieldPath;
}

const TYPE: FieldPath = ['spec', 'strategy', 'type'];
const ROUTER: FieldPath = ['spec', 'target', 'router'];
const CHECKS: FieldPath = ['spec', 'analysis', 'checks'];

export function checkIgnoredFields(spec: CanaryPolicySpec, rawSpec: unknown, reporter: Reporter): void {
  const written = (path: FieldPath) => isWritten(valueAt(rawSpec, path.slice(1)), path);
  const ignored = [...byStrategy(spec), ...byRouter(spec), ...byAnalysis(spec)];
  for (const field of ignored) {
    if (written(field.path)) reporter.error(field.path, `ignored: ${field.why}`, field.hint, [field.because]);
  }
  spec.analysis.checks.forEach((check, index) => {
    const rawCheck = valueAt(rawSpec, ['analysis', 'checks', index]);
    for (const field of byCheckType(check, index)) {
      if (isWritten(valueAt(rawCheck, [field.path[field.path.length - 1] as string]), field.path)) {
        reporter.error(field.path, `ignored: ${field.why}`, field.hint, [field.because]);
      }
    }
  });
}

/**
 * A testers-only step (the blueGreen preview) starts only once the canary Ingress routes testers
 * by header or cookie: without routing, or on replica-ratio, it never starts and the release
 * rolls back when timeouts.canaryReady passes.
 */
export function checkTestersOnlyReach(spec: CanaryPolicySpec, reporter: Reporter): void {
  if (spec.strategy.type !== 'blueGreen') return;
  const rollsBack = `the preview never starts and every release rolls back after timeouts.canaryReady (${spec.timeouts.canaryReady})`;
  if (spec.target.router === 'replica-ratio') {
    reporter.error(
      TYPE,
      `a blueGreen preview routes only testers, which replica-ratio cannot do: ${rollsBack}`,
      'use router ingress-nginx (or auto with an Ingress), or strategy type canary',
      [ROUTER],
    );
    return;
  }
  if (spec.routing?.header === undefined && spec.routing?.cookie === undefined) {
    reporter.error(
      TYPE,
      `a blueGreen preview routes only testers, but spec.routing names no header or cookie that marks them: ${rollsBack}`,
      'add spec.routing.header or spec.routing.cookie',
      [['spec', 'routing']],
    );
  } else if (spec.target.router === 'auto') {
    reporter.warning(
      TYPE,
      `a blueGreen preview routes only testers, which needs an Ingress: if auto picks replica-ratio (no Ingress routes to the Service), ${rollsBack}`,
      'set spec.target.router: ingress-nginx to be sure',
      [ROUTER],
    );
  }
}

function byStrategy(spec: CanaryPolicySpec): Ignored[] {
  const because = TYPE;
  if (spec.strategy.type === 'canary') {
    return [
      {
        path: ['spec', 'strategy', 'blueGreen'],
        why: 'blueGreen options are read only by strategy type blueGreen, and this strategy is canary',
        hint: 'remove spec.strategy.blueGreen, or set spec.strategy.type: blueGreen',
        because,
      },
    ];
  }
  const blueGreen = 'a blueGreen release is a full-size testers-only preview and one switch to 100 %';
  return [
    {
      path: ['spec', 'strategy', 'steps'],
      why: `${blueGreen}; it has no weighted steps`,
      hint: 'remove spec.strategy.steps, or set spec.strategy.type: canary',
      because,
    },
    {
      path: ['spec', 'strategy', 'allowLargeFirstStep'],
      why: `${blueGreen}; it has no first step`,
      hint: 'remove it, or set spec.strategy.type: canary',
      because,
    },
    {
      path: ['spec', 'routing', 'testersFirst'],
      why: 'the blueGreen preview already routes only testers, for spec.strategy.blueGreen.previewHold',
      hint: 'set the preview length in spec.strategy.blueGreen.previewHold',
      because,
    },
    ...['surgeBudget', 'maxShareError'].map((name) => ({
      path: ['spec', 'replicaRatio', name],
      why: `${blueGreen}; there is no small share for whole replicas to approximate`,
      hint: 'remove it, or set spec.strategy.type: canary',
      because,
    })),
  ];
}

function byRouter(spec: CanaryPolicySpec): Ignored[] {
  const because = ROUTER;
  const router = spec.target.router;
  const ignored: Ignored[] = [];
  if (router === 'ingress-nginx' || router === 'gateway-api') {
    ignored.push(
      ...['surgeBudget', 'maxShareError'].map((name) => ({
        path: ['spec', 'replicaRatio', name],
        why: `the ${router} router splits traffic by weight, not by replicas`,
        hint: 'remove spec.replicaRatio, or set spec.target.router: replica-ratio (or auto)',
        because,
      })),
    );
  }
  if (router === 'replica-ratio' || router === 'gateway-api') {
    ignored.push({
      path: ['spec', 'target', 'ingresses'],
      why:
        router === 'replica-ratio'
          ? 'the replica-ratio router splits traffic behind the Service and never touches an Ingress'
          : 'the gateway-api router weighs HTTPRoute backendRefs and never touches an Ingress',
      hint: 'remove spec.target.ingresses, or set spec.target.router: ingress-nginx (or auto)',
      because,
    });
  }
  if (router === 'replica-ratio' || router === 'ingress-nginx') {
    ignored.push({
      path: ['spec', 'target', 'httpRoutes'],
      why:
        router === 'replica-ratio'
          ? 'the replica-ratio router splits traffic behind the Service and never touches an HTTPRoute'
          : 'the ingress-nginx router writes a canary Ingress and never touches an HTTPRoute',
      hint: 'remove spec.target.httpRoutes, or set spec.target.router: gateway-api (or auto)',
      because,
    });
  }
  return ignored;
}

function byAnalysis(spec: CanaryPolicySpec): Ignored[] {
  if (spec.analysis.checks.length > 0) return [];
  // Gating hooks count inconclusive answers by these rules; the during hook is asked every interval.
  const hooks = spec.hooks ?? {};
  const gating = ['preRollout', 'confirmStep', 'confirmPromotion', 'during'].some((name) => name in hooks);
  const usedByHooks = [
    ...(gating ? ['inconclusiveLimit', 'onInconclusive'] : []),
    ...(hooks.during === undefined ? [] : ['interval']),
  ];
  const fields = ['prometheus', 'interval', 'window', 'failureLimit', 'inconclusiveLimit', 'onInconclusive'];
  return fields
    .filter((name) => !usedByHooks.includes(name))
    .map((name) => ({
      path: ['spec', 'analysis', name],
      why: 'there are no spec.analysis.checks, so nothing is analysed and steps advance on their holds alone',
      hint: 'add a check, or remove this field',
      because: CHECKS,
    }));
}

function byCheckType(check: CheckSpec, index: number): Ignored[] {
  const at = (name: string): FieldPath => [...CHECKS, index, name];
  const because = at('type');
  const ignored: Ignored[] = [];
  if (check.type !== 'latency') {
    ignored.push({
      path: at('quantile'),
      why: `only latency checks have a quantile, and this check is ${check.type}`,
      hint: 'remove quantile, or use type: latency',
      because,
    });
  }
  if (check.type !== 'custom') {
    ignored.push({
      path: at('sampleQuery'),
      why: `a built-in ${check.type} check counts its own sample (canary requests through the Ingress)`,
      hint: 'remove sampleQuery, or use type: custom',
      because,
    });
  }
  if (check.type === 'custom' && check.sampleQuery === undefined) {
    ignored.push({
      path: at('minSample'),
      why: 'a custom check counts no sample without a sampleQuery, so minSample is never compared',
      hint: 'add a sampleQuery that counts canary requests in the window, or remove minSample',
      because: at('sampleQuery'),
    });
  }
  if (check.type === 'custom' && check.relative === undefined) {
    ignored.push({
      path: at('stableQuery'),
      why: 'stableQuery is run only for relative thresholds, and this check has none',
      hint: 'add relative: { maxRatio: … } (or maxAbove/maxBelow), or remove stableQuery',
      because: at('relative'),
    });
  }
  return ignored;
}

/**
 * Set by the author: present and not the default. The apiserver fills the CRD's defaults into
 * every stored object, so a default value is indistinguishable from one nobody wrote.
 */
function isWritten(value: unknown, path: FieldPath): boolean {
  if (value === undefined) return false;
  const fallback = schemaAt(path)?.default;
  return fallback === undefined || canonical(value) !== canonical(fallback);
}

/** JSON with object keys sorted, so key order never makes two values differ. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    typeof inner === 'object' && inner !== null && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => byCodeUnits(a, b)))
      : inner,
  );
}

function valueAt(value: unknown, path: FieldPath): unknown {
  let node = value;
  for (const segment of path) {
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, segment)) return undefined;
    node = (node as Record<string | number, unknown>)[segment];
  }
  return node;
}
