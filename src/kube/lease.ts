// Leader election with a coordination.k8s.io/v1 Lease, the way client-go does it: the holder
// renews every retry period; anyone may take a lease that has not changed for its duration, as
// measured by the candidate's own clock since it last saw the lease change (never by comparing
// the holder's renewTime with the local clock: clocks of two nodes may disagree by more than a
// lease duration). Writes carry the resourceVersion, so two candidates can never both win the
// same round.
import { isKubeError, type KubeApi } from './api.ts';
import type { KubeObject } from './objects.ts';

interface Lease extends KubeObject {
  spec: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number;
    acquireTime?: string | null;
    renewTime?: string | null;
    leaseTransitions?: number;
  };
}

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  onStartedLeading(): void;
  onStoppedLeading(): void;
  log?: (message: string, fields?: Record<string, unknown>) => void;
  now?: () => Date;
}

/** When the local clock last saw the lease change (a new resourceVersion). */
export interface LeaseObservation {
  resourceVersion: string;
  /** Local clock, ms. */
  observedAt: number;
}

/** The observation after reading `lease` at local time `nowMs`: renewed only when the lease changed. */
export function observe(previous: LeaseObservation | undefined, lease: Lease, nowMs: number): LeaseObservation {
  const resourceVersion = lease.metadata.resourceVersion ?? '';
  return previous?.resourceVersion === resourceVersion ? previous : { resourceVersion, observedAt: nowMs };
}

/**
 * Pure: may `identity` take or keep the lease at local time `nowMs`? A lease held by another may
 * be taken once it has not changed for its whole duration since `observation` (local clock).
 */
export function canAcquire(
  lease: Lease | null,
  identity: string,
  observation: LeaseObservation | undefined,
  nowMs: number,
): boolean {
  if (lease === null) return true;
  const holder = lease.spec.holderIdentity;
  if (!holder || holder === identity) return true;
  if (observation === undefined || observation.resourceVersion !== (lease.metadata.resourceVersion ?? '')) return false;
  const durationMs = (lease.spec.leaseDurationSeconds ?? 15) * 1000;
  return observation.observedAt + durationMs < nowMs;
}

export class LeaderElector {
  readonly #kube: KubeApi;
  readonly #options: LeaderElectionOptions;
  #leading = false;
  #timer: NodeJS.Timeout | undefined;
  #lastRenew = 0;
  #stopped = false;
  #observation: LeaseObservation | undefined;
  /** The round in flight, which release() waits for so it cannot renew the lease after release. */
  #round: Promise<void> | undefined;

  constructor(kube: KubeApi, options: LeaderElectionOptions) {
    this.#kube = kube;
    this.#options = options;
  }

  get leading(): boolean {
    return this.#leading;
  }

  start(): void {
    this.#round = this.#tick();
  }

  async #tick(): Promise<void> {
    if (this.#stopped) return;
    const { leaseDurationMs } = this.#options;
    try {
      const ok = await this.#tryAcquireOrRenew();
      if (ok) {
        this.#lastRenew = Date.now();
        if (!this.#leading) {
          // Held now, even when release() began meanwhile: it gives the lease up after this round.
          this.#leading = true;
          if (this.#stopped) return;
          this.#options.log?.('became leader', { lease: this.#options.name, identity: this.#options.identity });
          this.#options.onStartedLeading();
        }
      } else if (this.#leading && !this.#stopped) {
        this.#lose('another candidate holds the lease');
      }
    } catch (error) {
      this.#options.log?.('lease renewal failed', { error: (error as Error).message });
      // A leader that cannot renew within the lease duration must stop before another takes over.
      if (this.#leading && Date.now() - this.#lastRenew > leaseDurationMs * 0.8)
        this.#lose('could not renew the lease in time');
    }
    if (!this.#stopped) {
      this.#timer = setTimeout(
        () => {
          this.#round = this.#tick();
        },
        Math.max(200, leaseDurationMs / 4),
      );
    }
  }

  #lose(reason: string): void {
    this.#leading = false;
    this.#options.log?.('lost leadership', { reason });
    this.#options.onStoppedLeading();
  }

  async #tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity, leaseDurationMs } = this.#options;
    const ref = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace, name };
    const lease = await this.#kube.get<Lease>(ref);
    const now = (this.#options.now ?? (() => new Date()))();
    if (lease !== null) this.#observation = observe(this.#observation, lease, now.getTime());
    if (!canAcquire(lease, identity, this.#observation, now.getTime())) return false;
    // release() began while the lease was being read: do not take or renew it any more.
    if (this.#stopped) return false;
    const micro = now.toISOString().replace('Z', '000Z');
    const spec = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(leaseDurationMs / 1000),
      renewTime: micro,
      acquireTime: lease?.spec.holderIdentity === identity ? (lease.spec.acquireTime ?? micro) : micro,
      leaseTransitions: (lease?.spec.leaseTransitions ?? 0) + (lease?.spec.holderIdentity === identity ? 0 : 1),
    };
    try {
      if (lease === null) await this.#kube.create<Lease>({ ...ref, metadata: { name, namespace }, spec });
      else await this.#kube.replace<Lease>({ ...lease, spec });
      return true;
    } catch (error) {
      if (isKubeError(error, 'Conflict') || isKubeError(error, 'AlreadyExists')) return false;
      throw error;
    }
  }

  /** Gives the lease up at once (graceful shutdown), so a follower need not wait for it to expire. */
  async release(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    // A round in flight could otherwise renew (or take) the lease after it was given up.
    await this.#round;
    if (!this.#leading) return;
    this.#leading = false;
    const { namespace, name, identity } = this.#options;
    const lease = await this.#kube.get<Lease>({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace, name });
    if (lease?.spec.holderIdentity !== identity) return;
    await this.#kube
      .replace<Lease>({ ...lease, spec: { ...lease.spec, holderIdentity: null, renewTime: null, acquireTime: null } })
      .catch(() => {
        // Someone else took it meanwhile, or the apiserver is away: the lease will expire anyway.
      });
  }
}
