// A simulated cluster that executes the engine's actions as the controller would, so journeys
// (and crashes between any two writes) can be played out. It records every invariant breach
// instead of throwing, so a test can assert there were none.

import type { Action } from '../../src/engine/actions.ts';
import { decide, nextWakeAt, routeBeforeRecording } from '../../src/engine/index.ts';
import type { AnalysisDecision, Observed } from '../../src/engine/observed.ts';
import type { JsonValue, ManualOperation, ReleaseState } from '../../src/engine/types.ts';
import type { CanaryPolicy } from '../../src/policy/schema.ts';
import { template } from './fixtures.ts';

export interface SimOptions {
  canaryHealthy?: boolean;
  /** The stable Deployment finishes rolling when unpaused. */
  stableRolls?: boolean;
  /** What each analysis round concludes. */
  analyst?: (request: Extract<Action, { type: 'analyse' }>, now: Date) => AnalysisDecision;
  /** The policy's spec.traffic.drainDelay: the canary must not be deleted sooner after its route went idle. */
  drainDelayMs?: number;
}

export class Cluster {
  deployment = {
    hash: 'v1',
    template: template('app:v1'),
    changeCause: 'image app:v1',
    paused: false,
    replicas: 4,
    podsHash: 'v1',
  };
  canary: { hash: string; template: JsonValue; replicas: number; ready: number } | undefined;
  route = { prepared: false, weight: 0, testersRouting: false };
  analysis: Observed['analysis'];
  operation: ManualOperation | undefined;
  policyDeleted = false;
  deploymentExists = true;
  violations: string[] = [];
  log: Action[] = [];
  rounds = 0;
  options: Required<SimOptions>;
  /** Hashes the stable pods ran, in order, to check nothing rolled without the engine asking. */
  podHistory: string[] = ['v1'];
  /** When the route last became idle for the canary (weight 0, no tester routing). */
  routeIdleSince: number | undefined;

  constructor(options: SimOptions = {}) {
    this.options = {
      canaryHealthy: options.canaryHealthy ?? true,
      stableRolls: options.stableRolls ?? true,
      analyst: options.analyst ?? (() => 'advance-allowed'),
      drainDelayMs: options.drainDelayMs ?? 5_000,
    };
  }

  setTemplate(hash: string): void {
    this.deployment.hash = hash;
    this.deployment.template = template(`app:${hash}`);
    this.deployment.changeCause = `image app:${hash}`;
  }

  observe(): Observed {
    const d = this.deployment;
    return {
      policyDeleted: this.policyDeleted,
      deployment: this.deploymentExists
        ? {
            templateHash: d.hash,
            changeCause: d.changeCause,
            template: d.template,
            paused: d.paused,
            replicas: d.replicas,
            readyReplicas: d.replicas,
            rolloutComplete: d.podsHash === d.hash,
          }
        : undefined,
      canary: this.canary && {
        templateHash: this.canary.hash,
        replicas: this.canary.replicas,
        readyReplicas: this.canary.ready,
        servingReplicas: this.canary.ready,
      },
      route: { ...this.route, achievedWeight: this.route.weight },
      analysis: this.analysis,
      operation: this.operation,
    };
  }

  execute(actions: readonly Action[], now: Date, limit = Number.POSITIVE_INFINITY): void {
    let done = 0;
    for (const action of actions) {
      if (done++ >= limit) return;
      this.log.push(action);
      this.apply(action, now);
      this.check(action.type);
      const idle = this.route.weight === 0 && !this.route.testersRouting;
      if (!idle) this.routeIdleSince = undefined;
      else this.routeIdleSince ??= now.getTime();
    }
  }

  private apply(action: Action, now: Date): void {
    const d = this.deployment;
    switch (action.type) {
      case 'adoptDeployment':
      case 'repauseStable':
        d.paused = true;
        break;
      case 'applyTemplate':
      case 'restoreStableTemplate':
        d.hash = action.templateHash;
        d.template = action.template;
        d.changeCause = `image app:${action.templateHash}`;
        break;
      case 'promoteStable':
      case 'releaseDeployment':
        d.paused = false;
        break;
      case 'createCanary':
        if (this.canary?.hash !== action.templateHash) {
          this.canary = { hash: action.templateHash, template: action.template, replicas: action.replicas, ready: 0 };
        } else {
          this.canary.replicas = action.replicas;
        }
        break;
      case 'scaleCanary':
        if (this.canary) {
          this.canary.replicas = action.replicas;
          this.canary.ready = Math.min(this.canary.ready, action.replicas);
        }
        break;
      case 'deleteCanary':
        if (this.route.weight > 0) this.violations.push('deleteCanary while the route carries weight');
        // A handed-back Deployment (policy deleted) or a missing one is not drained.
        if (this.route.prepared && !this.policyDeleted && this.deploymentExists) {
          const idleFor = this.routeIdleSince === undefined ? -1 : now.getTime() - this.routeIdleSince;
          if (idleFor < this.options.drainDelayMs) {
            this.violations.push(
              `deleteCanary ${idleFor} ms after the route went idle (drain ${this.options.drainDelayMs} ms)`,
            );
          }
        }
        this.canary = undefined;
        break;
      case 'prepareRoute':
        this.route.prepared = true;
        break;
      case 'cleanupRoute':
        // In ingress mode cleanup restores the stable Service's selector, which would pick canary pods.
        if (this.canary !== undefined && !this.policyDeleted && this.deploymentExists) {
          this.violations.push('cleanupRoute while the canary still exists');
        }
        this.route = { prepared: false, weight: 0, testersRouting: false };
        break;
      case 'setTesterRouting':
        this.route.testersRouting = action.enabled;
        break;
      case 'setWeight':
        this.route.weight = action.weight;
        break;
      case 'analyse':
        this.rounds += 1;
        this.analysis = {
          round: this.rounds,
          at: now.toISOString(),
          decision: this.options.analyst(action, now),
          reason: 'simulated',
        };
        break;
      case 'ackOperation':
        if (this.operation?.id === action.id) this.operation = undefined;
        break;
      case 'recordEvent':
        break;
    }
  }

  /** Pods catch up: the canary becomes ready, an unpaused Deployment rolls. */
  tick(): void {
    if (this.canary) this.canary.ready = this.options.canaryHealthy ? this.canary.replicas : 0;
    const d = this.deployment;
    if (!d.paused && d.podsHash !== d.hash && this.options.stableRolls) {
      d.podsHash = d.hash;
      this.podHistory.push(d.hash);
    }
    this.check('tick');
  }

  private check(after: string): void {
    if (this.route.weight > 0 && (this.canary === undefined || this.canary.ready === 0)) {
      this.violations.push(`after ${after}: weight ${this.route.weight} with no ready canary pods`);
    }
  }
}

export interface Driver {
  cluster: Cluster;
  state: ReleaseState;
  now: Date;
  phases: string[];
}

/**
 * One pass as the controller runs it (controller/pass.ts): the decision persisted, then its
 * actions; or, for a decision that only starts a step's weight, the route first and the status
 * after it. A crash after `limit` actions (any limit: the status comes last) loses that status.
 * Answers the state persisted.
 */
export function persistAndExecute(
  cluster: Cluster,
  before: ReleaseState,
  decision: { next: ReleaseState; actions: readonly Action[] },
  now: Date,
  limit?: number,
): ReleaseState {
  cluster.execute(decision.actions, now, limit);
  const crashed = limit !== undefined;
  return crashed && routeBeforeRecording(before, decision.next, decision.actions) ? before : decision.next;
}

/**
 * decide -> persist -> execute -> pods catch up, repeatedly; time jumps to nextWakeAt (or by
 * `idleStepMs`) when a call asked for nothing. Stops when `until` holds or after `maxCalls`.
 */
export function drive(
  driver: Driver,
  policy: CanaryPolicy,
  until: (driver: Driver) => boolean,
  options: { maxCalls?: number; idleStepMs?: number; crashAfter?: (call: number) => number | undefined } = {},
): Driver {
  const maxCalls = options.maxCalls ?? 500;
  for (let call = 0; call < maxCalls && !until(driver); call++) {
    const { next, actions } = decide(policy, driver.state, driver.cluster.observe(), driver.now);
    const limit = options.crashAfter?.(call);
    driver.state = persistAndExecute(driver.cluster, driver.state, { next, actions }, driver.now, limit);
    if (driver.phases.at(-1) !== next.phase) driver.phases.push(next.phase);
    driver.cluster.tick();
    const effective = actions.filter((action) => action.type !== 'recordEvent');
    if (effective.length === 0) {
      const wake = nextWakeAt(driver.state, policy, driver.now);
      const step = options.idleStepMs ?? 60_000;
      driver.now = new Date(
        wake !== null && wake.getTime() > driver.now.getTime() ? wake.getTime() : driver.now.getTime() + step,
      );
    } else {
      driver.now = new Date(driver.now.getTime() + 1_000);
    }
  }
  return driver;
}
