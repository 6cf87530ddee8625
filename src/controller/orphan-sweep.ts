// Finds what a CanaryPolicy gone without handing back left on the user's objects (orphan.ts: a
// marked Deployment, a pinned Service, an HTTPRoute carrying its record; what is done with each)
// and hands it back: routes first, so nothing is sent to the canary Service the garbage collector
// removes, then Services, then Deployments. It looks
// - once the caches are synced, at every such object whose policy this replica does not hold: a
//   policy deleted (its finalizer removed by hand) while no canaryd ran;
// - when a policy leaves this replica's cache, at the objects it left: one deleted that way while
//   canaryd runs (a policy that handed back first left nothing);
// - at each change of an object whose policy it found gone and which was not handed back yet (a
//   Deployment waits for the Deployment controller's status, or a write met a newer version), or
//   whose policy left the cache in the last minute (a pause written as the policy went, answered after).
// This replica's cache holds only its shard's policies, so "not in the cache" is asked of the
// API server before anything is handed back (a policy of another shard, or one that just moved,
// exists): a live read on this rare path, counted as reason "orphan". One look at a time.
// A record carries the policy's uid (traffic/policy-mark.ts): a policy created again under the
// same name is another policy, and what the earlier one left is handed back all the same (its
// adoption waits for that, engine/phases/adoption.ts).
import type { KubeApi } from '../kube/api.ts';
import { isKubeError } from '../kube/api.ts';
import type { CachedKubeApi } from '../kube/cached-api.ts';
import type { EventRecorder } from '../kube/events.ts';
import type { Deployment, KubeObject, ObjectRef, Service } from '../kube/objects.ts';
import { API_VERSION, KIND } from '../policy/schema.ts';
import { restoreRecordedRoute } from '../traffic/httproute-apply.ts';
import { markIdentity, type PolicyMark } from '../traffic/policy-mark.ts';
import type { Logger } from './deps.ts';
import { policyKeyOf, splitKey } from './names.ts';
import { leftBy, orphanDecision, orphanServiceDecision, ownsMarked, routeReleased } from './orphan.ts';

export interface OrphanSweepDeps {
  /** The caches: the object as last seen; the hand-back's patch (an HTTPRoute's apply). */
  kube: Pick<KubeApi, 'get' | 'mergePatch' | 'apply'>;
  /**
   * The cached objects a policy left changed (orphan.ts leftBy) of policies of one name
   * ("namespace/name"; undefined: of every policy this replica does not hold), read without
   * copying the others.
   */
  marked(owner?: string): Promise<KubeObject[]>;
  /** Does this replica hold the policy the mark names (orphan.ts ownsMarked) in its cache? */
  holds(mark: PolicyMark): Promise<boolean>;
  /**
   * Which of these policies exist on the API server, whatever their shard, and own what they
   * marked (orphan.ts ownsMarked): their identities (policy-mark.ts markIdentity).
   */
  existing(marks: PolicyMark[]): Promise<Set<string>>;
  events: EventRecorder;
  log: Logger;
  now?: () => number;
}

/** How long after a policy left the cache an object newly changed in its name is looked at. */
const LEFT_RECENTLY_MS = 60_000;

/** The kinds a policy leaves changed, in the order they are handed back. */
export const LEFT_KINDS = [
  { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute' },
  { apiVersion: 'v1', kind: 'Service' },
  { apiVersion: 'apps/v1', kind: 'Deployment' },
] as const;
const handBackOrder = (object: KubeObject) => LEFT_KINDS.findIndex((k) => k.kind === object.kind);

const refOf = (object: KubeObject): ObjectRef => ({
  apiVersion: LEFT_KINDS.find((k) => k.kind === object.kind)?.apiVersion ?? object.apiVersion,
  kind: object.kind,
  namespace: object.metadata.namespace ?? '',
  name: object.metadata.name,
});

export class OrphanSweep {
  readonly #deps: OrphanSweepDeps;
  /** Policies found gone whose Deployment is not handed back yet, by identity (markIdentity). */
  readonly #gone = new Set<string>();
  /** Policies that left this replica's cache, and when. */
  readonly #left = new Map<string, number>();
  /** What to look at next: everything ("all"), a policy's ("owner:" + key) or one object (its ref as JSON). */
  readonly #due = new Set<string>();
  #started = false;
  #running: Promise<void> | undefined;

  constructor(deps: OrphanSweepDeps) {
    this.#deps = deps;
  }

  /** The caches are synced: look at everything left changed, then follow the events. */
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
        // Re-created: what was marked by name alone (no uid) it adopts itself; what an earlier
        // policy of the name marked with its uid is still that one's, and still handed back.
        this.#gone.delete(key);
        this.#left.delete(key);
      }
      return;
    }
    if (event === 'delete' || (this.#gone.size === 0 && this.#left.size === 0)) return;
    const owner = leftBy(object);
    if (owner === undefined) return;
    if (this.#gone.has(markIdentity(owner)) || this.#leftRecently(owner.policy)) {
      void this.#look(JSON.stringify(refOf(object)));
    }
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
    let objects: KubeObject[];
    if (what === 'all') {
      objects = await this.#deps.marked();
    } else if (what.startsWith('owner:')) {
      objects = await this.#deps.marked(what.slice('owner:'.length));
    } else {
      const object = await kube.get(JSON.parse(what) as ObjectRef);
      objects = object === null ? [] : [object];
    }
    const candidates: Array<{ object: KubeObject; owner: PolicyMark }> = [];
    for (const object of objects) {
      const owner = leftBy(object);
      if (owner === undefined) continue;
      if (await this.#deps.holds(owner)) continue; // this replica's policy: it hands back itself
      candidates.push({ object, owner });
    }
    const unasked = new Map<string, PolicyMark>();
    for (const { owner } of candidates) {
      const identity = markIdentity(owner);
      if (!this.#gone.has(identity)) unasked.set(identity, owner);
    }
    const existing = unasked.size === 0 ? new Set<string>() : await this.#deps.existing([...unasked.values()]);
    for (const identity of unasked.keys()) if (!existing.has(identity)) this.#gone.add(identity);
    candidates.sort((a, b) => handBackOrder(a.object) - handBackOrder(b.object));
    for (const { object, owner } of candidates) {
      if (this.#gone.has(markIdentity(owner))) await this.#handBack(object, owner);
    }
  }

  async #handBack(object: KubeObject, owner: PolicyMark): Promise<void> {
    const ref = refOf(object);
    let event: { type: 'Normal' | 'Warning'; reason: string; message: string };
    if (object.kind === 'HTTPRoute') {
      // Applied from a fresh read of the route with its resourceVersion, retried on a Conflict.
      if (!(await restoreRecordedRoute(this.#deps.kube, ref.namespace ?? '', ref.name, owner))) return;
      event = routeReleased(owner);
    } else {
      const decision =
        object.kind === 'Service'
          ? orphanServiceDecision(object as Service, owner)
          : orphanDecision(object as Deployment, owner);
      if (decision.kind === 'wait') return; // the Deployment controller's status brings it back
      try {
        await this.#deps.kube.mergePatch(ref, decision.patch);
      } catch (error) {
        // Changed since (its next event looks again), or gone: nothing to hand back.
        if (isKubeError(error, 'Conflict') || isKubeError(error, 'NotFound')) return;
        throw error;
      }
      event = decision.event;
    }
    const { type, reason, message } = event;
    this.#deps.log.warn(`handed back a ${object.kind} whose policy is gone`, {
      [object.kind.toLowerCase()]: `${ref.namespace}/${ref.name}`,
      reason,
    });
    await this.#deps.events
      .record({ ...ref, uid: object.metadata.uid }, type, reason, message)
      .catch((error: Error) => this.#deps.log.warn('could not record event', { reason, error: error.message }));
  }
}

/** The sweep over the watch caches (canaryd.ts), reading the objects it needs, not copying the rest. */
export function orphanSweepOver(cached: CachedKubeApi, events: EventRecorder, log: Logger): OrphanSweep {
  const holds = async (mark: PolicyMark) =>
    (await cached.peek({ apiVersion: API_VERSION, kind: KIND, ...splitKey(mark.policy) }, (p) =>
      ownsMarked(p, mark),
    )) === true;
  return new OrphanSweep({
    kube: cached,
    marked: async (owner) => {
      const namespace = owner === undefined ? '' : splitKey(owner).namespace;
      const found: KubeObject[] = [];
      for (const { apiVersion, kind } of LEFT_KINDS) {
        const all = await cached
          .project(apiVersion, kind, namespace, (object) => {
            const leftFor = leftBy(object);
            const wanted = leftFor !== undefined && (owner === undefined || leftFor.policy === owner);
            return wanted ? { ref: refOf(object as KubeObject), leftFor } : undefined;
          })
          // HTTPRoutes: without Gateway API's CRDs there are none to look at.
          .catch((error: unknown) => {
            if (kind === 'HTTPRoute' && isKubeError(error, 'NotFound')) return [];
            throw error;
          });
        // Of everything left changed (at start), only what a policy this replica does not hold left is copied.
        for (const one of all) {
          if (one === undefined || (owner === undefined && (await holds(one.leftFor)))) continue;
          const object = await cached.get(one.ref);
          if (object !== null) found.push(object);
        }
      }
      return found;
    },
    holds,
    existing: async (marks) => {
      const found = await cached.existing(API_VERSION, KIND, [...new Set(marks.map((m) => m.policy))]);
      const owned = marks.filter((m) => {
        const policy = found.get(m.policy);
        return policy !== undefined && ownsMarked(policy, m);
      });
      return new Set(owned.map(markIdentity));
    },
    events,
    log,
  });
}
