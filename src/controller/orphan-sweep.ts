// Finds the Deployments canaryd marked whose CanaryPolicy is gone without handing them back
// (orphan.ts says what is done with one) and hands them back. It looks
// - once the caches are synced, at every marked Deployment whose policy this replica does not
//   hold: a policy deleted (its finalizer removed by hand) while no canaryd ran;
// - when a policy leaves this replica's cache, at the Deployments marked with its name: one
//   deleted that way while canaryd runs (a policy that handed back first left nothing marked);
// - at each change of a Deployment whose policy it found gone and which was not handed back yet
//   (it waits for the Deployment controller's status, or its patch met a newer version), or whose
//   policy left the cache in the last minute (a pause written as the policy went, answered after).
// This replica's cache holds only its shard's policies, so "not in the cache" is asked of the
// API server before anything is handed back (a policy of another shard, or one that just moved,
// exists): a live read on this rare path, counted as reason "orphan". One look at a time.
import type { KubeApi } from '../kube/api.ts';
import { isKubeError } from '../kube/api.ts';
import type { CachedKubeApi } from '../kube/cached-api.ts';
import type { EventRecorder } from '../kube/events.ts';
import type { Deployment, KubeObject } from '../kube/objects.ts';
import { API_VERSION, KIND } from '../policy/schema.ts';
import type { Logger } from './deps.ts';
import { policyKeyOf, splitKey } from './names.ts';
import { markedBy, orphanDecision } from './orphan.ts';

export interface OrphanSweepDeps {
  /** The caches: the Deployment as last seen; the hand-back's patch. */
  kube: Pick<KubeApi, 'get' | 'mergePatch'>;
  /**
   * The cached Deployments carrying canaryd's mark (of one policy, "namespace/name"; undefined:
   * all), read without copying the others: a namespace's policies deleted together look once each.
   */
  marked(owner?: string): Promise<Deployment[]>;
  /** Does this replica hold the policy ("namespace/name") in its cache? */
  holds(key: string): Promise<boolean>;
  /** Which of these policies ("namespace/name") exist on the API server, whatever their shard. */
  existing(keys: string[]): Promise<Set<string>>;
  events: EventRecorder;
  log: Logger;
  now?: () => number;
}

/** How long after a policy left the cache a Deployment newly marked with its name is looked at. */
const LEFT_RECENTLY_MS = 60_000;

const deploymentRef = (namespace: string, name: string) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  namespace,
  name,
});

export class OrphanSweep {
  readonly #deps: OrphanSweepDeps;
  /** Policies found gone whose Deployment is not handed back yet. */
  readonly #gone = new Set<string>();
  /** Policies that left this replica's cache, and when. */
  readonly #left = new Map<string, number>();
  /** What to look at next: every marked Deployment ("all"), a policy's ("owner:" + key) or one ("deploy:" + key). */
  readonly #due = new Set<string>();
  #started = false;
  #running: Promise<void> | undefined;

  constructor(deps: OrphanSweepDeps) {
    this.#deps = deps;
  }

  /** The caches are synced: look at every marked Deployment, then follow the events. */
  start(): Promise<void> {
    this.#started = true;
    return this.#look('all');
  }

  /** Feed every watch event here (before start(), they are ignored: start looks at everything). */
  onEvent(event: 'add' | 'update' | 'delete', object: KubeObject): void {
    if (!this.#started) return;
    const namespace = object.metadata.namespace ?? '';
    if (object.kind === 'CanaryPolicy') {
      const key = policyKeyOf(namespace, object.metadata.name);
      if (event === 'delete') {
        this.#left.set(key, this.#now());
        void this.#look(`owner:${key}`);
      } else {
        this.#gone.delete(key); // re-created: it adopts its Deployment itself
        this.#left.delete(key);
      }
      return;
    }
    if (object.kind !== 'Deployment' || event === 'delete') return;
    const owner = markedBy(object as Deployment);
    if (owner === undefined) return;
    if (this.#gone.has(owner) || this.#leftRecently(owner))
      void this.#look(`deploy:${namespace}/${object.metadata.name}`);
  }

  #leftRecently(key: string): boolean {
    const now = this.#now();
    for (const [left, at] of this.#left) if (now - at > LEFT_RECENTLY_MS) this.#left.delete(left);
    return this.#left.has(key);
  }

  #now(): number {
    return this.#deps.now?.() ?? Date.now();
  }

  /** Settles once everything due so far has been looked at (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  #look(what: string): Promise<void> {
    this.#due.add(what);
    this.#running ??= this.#drain();
    return this.#running;
  }

  async #drain(): Promise<void> {
    try {
      while (this.#due.size > 0) {
        const what = this.#due.values().next().value as string;
        this.#due.delete(what);
        await this.#sweep(what).catch((error: unknown) => {
          // The next event of the Deployment (or of a policy) looks again.
          this.#deps.log.warn('could not look for Deployments left marked by a deleted policy', {
            error: error instanceof Error ? error.message : String(error),
          });
        });
      }
    } finally {
      this.#running = undefined; // in the same turn as the last look: nothing added meanwhile is missed
    }
  }

  async #sweep(what: string): Promise<void> {
    const { kube } = this.#deps;
    let deployments: Deployment[];
    if (what === 'all') {
      deployments = await this.#deps.marked();
    } else if (what.startsWith('owner:')) {
      deployments = await this.#deps.marked(what.slice('owner:'.length));
    } else {
      const { namespace, name } = splitKey(what.slice('deploy:'.length));
      const deployment = await kube.get<Deployment>(deploymentRef(namespace, name));
      deployments = deployment === null ? [] : [deployment];
    }
    const candidates: Array<{ deployment: Deployment; owner: string }> = [];
    for (const deployment of deployments) {
      const owner = markedBy(deployment);
      if (owner === undefined) continue;
      if (await this.#deps.holds(owner)) continue; // this replica's policy: it hands back itself
      candidates.push({ deployment, owner });
    }
    const unasked = [...new Set(candidates.map((c) => c.owner))].filter((owner) => !this.#gone.has(owner));
    const existing = unasked.length === 0 ? new Set<string>() : await this.#deps.existing(unasked);
    for (const owner of unasked) if (!existing.has(owner)) this.#gone.add(owner);
    for (const { deployment, owner } of candidates) {
      if (this.#gone.has(owner)) await this.#handBack(deployment, owner);
    }
  }

  async #handBack(deployment: Deployment, owner: string): Promise<void> {
    const decision = orphanDecision(deployment, owner);
    if (decision.kind === 'wait') return; // the Deployment controller's status brings it back
    const { namespace = '', name } = deployment.metadata;
    const ref = deploymentRef(namespace, name);
    try {
      await this.#deps.kube.mergePatch(ref, decision.patch);
    } catch (error) {
      // Changed since (its next event looks again), or gone: nothing to hand back.
      if (isKubeError(error, 'Conflict') || isKubeError(error, 'NotFound')) return;
      throw error;
    }
    const { type, reason, message } = decision.event;
    this.#deps.log.warn('handed back a Deployment whose policy is gone', {
      deployment: `${namespace}/${name}`,
      reason,
    });
    await this.#deps.events
      .record({ ...ref, uid: deployment.metadata.uid }, type, reason, message)
      .catch((error: Error) => this.#deps.log.warn('could not record event', { reason, error: error.message }));
  }
}

/** The sweep over the watch caches (canaryd.ts), reading the Deployments it needs, not copying the rest. */
export function orphanSweepOver(cached: CachedKubeApi, events: EventRecorder, log: Logger): OrphanSweep {
  const holds = (key: string) => cached.holds({ apiVersion: API_VERSION, kind: KIND, ...splitKey(key) });
  return new OrphanSweep({
    kube: cached,
    marked: async (owner) => {
      const namespace = owner === undefined ? '' : splitKey(owner).namespace;
      const all = await cached.project('apps/v1', 'Deployment', namespace, (object) => {
        const markedFor = markedBy(object as Deployment);
        const wanted = markedFor !== undefined && (owner === undefined || markedFor === owner);
        return wanted
          ? { ref: deploymentRef(object.metadata.namespace ?? '', object.metadata.name), markedFor }
          : undefined;
      });
      // Of every marked Deployment (at start), only those whose policy this replica does not hold are copied.
      const found: Deployment[] = [];
      for (const one of all) {
        if (one === undefined || (owner === undefined && (await holds(one.markedFor)))) continue;
        const deployment = await cached.get<Deployment>(one.ref);
        if (deployment !== null) found.push(deployment);
      }
      return found;
    },
    holds,
    existing: (keys) => cached.existing(API_VERSION, KIND, keys),
    events,
    log,
  });
}
