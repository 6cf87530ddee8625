// Leader election with a coordination.k8s.io/v1 Lease, the way client-go does it: the holder
// renews every retry period; anyone may take a lease whose renewTime is older than its duration.
// Writes carry the resourceVersion, so two candidates can never both win the same round.
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

/** Pure: may `identity` take or keep the lease at `now`? */
export function canAcquire(lease: Lease | null, identity: string, now: Date): boolean {
  if (lease === null) return true;
  const holder = lease.spec.holderIdentity;
  if (!holder || holder === identity) return true;
  const renewed = Date.parse(lease.spec.renewTime ?? '');
  const durationMs = (lease.spec.leaseDurationSeconds ?? 15) * 1000;
  return !Number.isFinite(renewed) || renewed + durationMs < now.getTime();
}

export class LeaderElector {
  readonly #kube: KubeApi;
  readonly #options: LeaderElectionOptions;
  #leading = false;
  #timer: NodeJS.Timeout | undefined;
  #lastRenew = 0;
  #stopped = false;

  constructor(kube: KubeApi, options: LeaderElectionOptions) {
    this.#kube = kube;
    this.#options = options;
  }

  get leading(): boolean {
    return this.#leading;
  }

  start(): void {
    void this.#tick();
  }

  async #tick(): Promise<void> {
    if (this.#stopped) return;
    const { leaseDurationMs } = this.#options;
    try {
      const ok = await this.#tryAcquireOrRenew();
      if (ok) {
        this.#lastRenew = Date.now();
        if (!this.#leading) {
          this.#leading = true;
          this.#options.log?.('became leader', { lease: this.#options.name, identity: this.#options.identity });
          this.#options.onStartedLeading();
        }
      } else if (this.#leading) {
        this.#lose('another candidate holds the lease');
      }
    } catch (error) {
      this.#options.log?.('lease renewal failed', { error: (error as Error).message });
      // A leader that cannot renew within the lease duration must stop before another takes over.
      if (this.#leading && Date.now() - this.#lastRenew > leaseDurationMs * 0.8)
        this.#lose('could not renew the lease in time');
    }
    if (!this.#stopped) this.#timer = setTimeout(() => void this.#tick(), Math.max(200, leaseDurationMs / 4));
  }

  #lose(reason: string): void {
    this.#leading = false;
    this.#options.log?.('lost leadership', { reason });
    this.#options.onStoppedLeading();
  }

  async #tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity, leaseDurationMs } = this.#options;
    const now = (this.#options.now ?? (() => new Date()))();
    const ref = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace, name };
    const lease = await this.#kube.get<Lease>(ref);
    if (!canAcquire(lease, identity, now)) return false;
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
