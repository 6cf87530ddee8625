// A policy's strategy as one list of steps, so canary, testers-first and blueGreen releases are
// walked by the same code: a blueGreen release is a testers-only preview at full size followed by
// one switch to 100 % whose hold is the switch-back window.
import type { CanaryPolicy } from '../policy/schema.ts';
import { parseDuration } from '../schedule/duration.ts';

export interface PlannedStep {
  weight: number;
  holdMs: number;
  /** Wait for `kubectl canary resume` at this step. */
  pause: boolean;
  /** Before its weight is set, wait for `kubectl canary approve` (absent: no gate). */
  approval?: boolean;
  /** Only header/cookie testers reach the canary; weight is 0. */
  testersOnly: boolean;
  /**
   * Header/cookie routing (spec.routing) is on during this step: testers reach the canary
   * whatever the weight, alongside the weighted share (ingress-nginx canary-by-header/-cookie).
   */
  testerRouting: boolean;
  /** The canary runs as many replicas as the stable Deployment (blueGreen). */
  fullSize: boolean;
}

/** Does the policy route testers by header or cookie? */
export const routesTesters = (policy: CanaryPolicy): boolean =>
  policy.spec.routing?.header !== undefined || policy.spec.routing?.cookie !== undefined;

export function planSteps(policy: CanaryPolicy): PlannedStep[] {
  const strategy = policy.spec.strategy;
  const testerRouting = routesTesters(policy);
  if (strategy.type === 'blueGreen') {
    return [
      {
        weight: 0,
        holdMs: parseDuration(strategy.blueGreen.previewHold),
        pause: false,
        testersOnly: true,
        testerRouting,
        fullSize: true,
      },
      {
        weight: 100,
        holdMs: parseDuration(strategy.blueGreen.switchBackHold),
        pause: false,
        testersOnly: false,
        testerRouting,
        fullSize: true,
      },
    ];
  }
  const steps: PlannedStep[] = strategy.steps.map((step) => ({
    weight: step.weight,
    holdMs: parseDuration(step.hold),
    pause: step.pause,
    ...(step.approval === true ? { approval: true } : {}),
    testersOnly: false,
    testerRouting,
    fullSize: false,
  }));
  const testersFirst = policy.spec.routing?.testersFirst;
  if (testersFirst !== undefined) {
    steps.unshift({
      weight: 0,
      holdMs: parseDuration(testersFirst),
      pause: false,
      testersOnly: true,
      testerRouting,
      fullSize: false,
    });
  }
  return steps;
}

/** Canary replicas for a step: enough for its share of the stable size, at least one. */
export function canaryReplicas(step: PlannedStep, stableReplicas: number): number {
  const stable = Math.max(1, stableReplicas);
  if (step.fullSize) return stable;
  return Math.max(1, Math.ceil((stable * step.weight) / 100));
}

export interface PolicyTimes {
  analysisIntervalMs: number;
  /** With no checks configured a step's analysis gate counts as passed. */
  analysisEnabled: boolean;
  canaryReadyMs: number;
  promotionMs: number;
  releaseMs: number;
  /** How long the canary is kept after its weight reached 0, so the data plane stops sending first. */
  drainDelayMs: number;
}

export function policyTimes(policy: CanaryPolicy): PolicyTimes {
  const { analysis, timeouts, traffic } = policy.spec;
  return {
    analysisIntervalMs: parseDuration(analysis.interval),
    analysisEnabled: analysis.checks.length > 0,
    canaryReadyMs: parseDuration(timeouts.canaryReady),
    promotionMs: parseDuration(timeouts.promotion),
    releaseMs: parseDuration(timeouts.release),
    drainDelayMs: parseDuration(traffic.drainDelay),
  };
}
