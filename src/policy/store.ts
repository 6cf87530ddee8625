// The policies in force. A new version that fails validation never replaces the last good one:
// the old version stays active and the new version's errors are kept beside it for reporting.

import { byCodeUnits } from '../order.ts';
import type { PolicyError } from './errors.ts';
import type { PolicyLoad } from './load.ts';
import type { CanaryPolicy } from './schema.ts';

export interface ActivePolicy {
  /** "namespace/name" */
  key: string;
  policy: CanaryPolicy;
  source: string;
  /** Errors of a newer version that was rejected; empty when the newest version is in force. */
  rejectedUpdate: PolicyError[];
}

export interface StoreChange {
  added: string[];
  updated: string[];
  removed: string[];
  /** Keys whose new version was rejected; the previous version stays in force. */
  kept: string[];
  errors: PolicyError[];
  warnings: PolicyError[];
}

export function policyKeyOf(policy: CanaryPolicy): string {
  return `${policy.metadata.namespace}/${policy.metadata.name}`;
}

export class PolicyStore {
  readonly #active = new Map<string, ActivePolicy>();

  get(key: string): ActivePolicy | undefined {
    return this.#active.get(key);
  }

  list(): ActivePolicy[] {
    return [...this.#active.values()].sort((a, b) => byCodeUnits(a.key, b.key));
  }

  forDeployment(namespace: string, deployment: string): ActivePolicy | undefined {
    return this.list().find(
      (active) => active.policy.metadata.namespace === namespace && active.policy.spec.target.deployment === deployment,
    );
  }

  /**
   * Replaces the whole set with a fresh load (a directory reload). A policy missing from the load
   * is removed, unless its new version was rejected — by key, or, when the broken document does
   * not even name itself, by coming from the same file — in which case the old version stays.
   */
  replaceAll(load: PolicyLoad): StoreChange {
    const change: StoreChange = {
      added: [],
      updated: [],
      removed: [],
      kept: [],
      errors: load.errors,
      warnings: load.warnings,
    };
    const rejectedKeys = new Set(load.rejected.flatMap((rejected) => (rejected.key ? [rejected.key] : [])));
    const brokenSources = new Set(load.rejected.filter((rejected) => !rejected.key).map((rejected) => rejected.source));
    const fresh = new Map(load.policies.map((loaded) => [policyKeyOf(loaded.policy), loaded]));
    for (const [key, active] of this.#active) {
      if (fresh.has(key)) continue;
      if (rejectedKeys.has(key) || brokenSources.has(active.source)) {
        active.rejectedUpdate = load.errors.filter((error) => error.source === active.source || rejectedKeys.has(key));
        change.kept.push(key);
      } else {
        this.#active.delete(key);
        change.removed.push(key);
      }
    }
    for (const [key, loaded] of fresh) {
      const previous = this.#active.get(key);
      if (previous === undefined) change.added.push(key);
      else if (JSON.stringify(previous.policy) !== JSON.stringify(loaded.policy)) change.updated.push(key);
      this.#active.set(key, { key, policy: loaded.policy, source: loaded.source, rejectedUpdate: [] });
    }
    return change;
  }

  /** One object from the cluster was added or changed: take it if valid, else keep the old one. */
  upsert(key: string, source: string, validation: { policy?: CanaryPolicy; errors: PolicyError[] }): StoreChange {
    const change: StoreChange = {
      added: [],
      updated: [],
      removed: [],
      kept: [],
      errors: validation.errors,
      warnings: [],
    };
    const previous = this.#active.get(key);
    if (validation.policy === undefined) {
      if (previous !== undefined) {
        previous.rejectedUpdate = validation.errors;
        change.kept.push(key);
      }
      return change;
    }
    (previous === undefined ? change.added : change.updated).push(key);
    this.#active.set(key, { key, policy: validation.policy, source, rejectedUpdate: [] });
    return change;
  }

  delete(key: string): boolean {
    return this.#active.delete(key);
  }
}
