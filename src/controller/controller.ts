// The controller: watches turn cluster changes into policy keys, a work queue reconciles each
// key (one at a time per key), and every reconcile says when to look again (holds, windows,
// analysis rounds, deadlines). A failing key backs off (exponential, capped) and its error is
// shown as Reconciled=False on the policy. Keys seen before the caches are synced wait for
// start(): a reconcile reads only from the caches.
import { isKubeError } from '../kube/api.ts';
import type { KubeObject } from '../kube/objects.ts';
import { KeyBackoff } from './backoff.ts';
import type { ReconcilerDeps } from './deps.ts';
import { splitKey } from './names.ts';
import { PolicyIndex } from './policy-index.ts';
import { type Lane, type Requeue, WorkQueue } from './queue.ts';
import { errorReason, reportReconcileError } from './reconcile-error.ts';
import { reconcile } from './reconciler.ts';

/** Conflicts in a row retried at once before they count as an error (backoff, condition). */
const CONFLICT_RETRIES = 3;

export class Controller {
  readonly #deps: ReconcilerDeps;
  readonly #queue: WorkQueue;
  readonly #index = new PolicyIndex();
  #reconciles = 0;
  readonly #onReconcile: ((seconds: number, error?: string) => void) | undefined;
  readonly #onDequeue: ((waitedSeconds: number, lane: Lane) => void) | undefined;
  readonly #backoff: KeyBackoff;
  /** Keys seen before start() (caches still filling); null once started. */
  #waiting: Set<string> | null;

  constructor(
    deps: ReconcilerDeps,
    options: {
      concurrency?: number;
      /** Workers beyond `concurrency` for due wake-ups only (default: the queue's, a quarter of it). */
      wakeReserve?: number;
      onReconcile?: (seconds: number, error?: string) => void;
      /** How long each reconcile waited in the queue after it was due, by lane (metrics). */
      onDequeue?: (waitedSeconds: number, lane: Lane) => void;
      /** false: events only collect keys until start() (the caches are still syncing). */
      started?: boolean;
      backoff?: { baseMs?: number; capMs?: number };
      queue?: {
        setTimer?: (fn: () => void, ms: number) => unknown;
        clearTimer?: (handle: unknown) => void;
        now?: () => number;
      };
    } = {},
  ) {
    this.#deps = deps;
    this.#onReconcile = options.onReconcile;
    this.#onDequeue = options.onDequeue;
    this.#backoff = new KeyBackoff(options.backoff);
    this.#waiting = options.started === false ? new Set() : null;
    this.#queue = new WorkQueue((key, waitedMs, lane) => this.#reconcile(key, waitedMs, lane), {
      concurrency: options.concurrency ?? 16,
      ...(options.wakeReserve === undefined ? {} : { wakeReserve: options.wakeReserve }),
      ...options.queue,
    });
  }

  /** The caches are synced: reconcile every key seen so far, and from now on as events come. */
  start(): void {
    const waiting = this.#waiting;
    this.#waiting = null;
    for (const key of waiting ?? []) this.#queue.add(key);
  }

  get reconciles(): number {
    return this.#reconciles;
  }

  /** Keys waiting or running (metrics). */
  get queueDepth(): number {
    return this.#queue.size;
  }

  /** Feed every watch event here. */
  onEvent(event: 'add' | 'update' | 'delete', object: KubeObject): void {
    if (object.kind === 'CanaryPolicy') this.#index.onPolicy(event, object);
    for (const key of this.#index.concerned(event, object)) this.enqueue(key);
  }

  enqueue(key: string): void {
    if (this.#waiting) this.#waiting.add(key);
    else this.#queue.add(key);
  }

  async stop(): Promise<void> {
    await this.#queue.stop();
  }

  async #reconcile(key: string, waitedMs: number, lane: Lane): Promise<Requeue | null> {
    const { namespace, name } = splitKey(key);
    this.#onDequeue?.(waitedMs / 1000, lane);
    this.#deps.log.debug?.('reconcile', { policy: key, waitedMs: Math.round(waitedMs), lane });
    const started = performance.now();
    try {
      const result = await reconcile(this.#deps, namespace, name);
      this.#reconciles++;
      this.#deps.log.debug?.('reconciled', {
        policy: key,
        requeueAfterMs: result.requeueAfterMs,
        wakeAfterMs: result.wakeAfterMs,
        tookMs: Math.round(performance.now() - started),
      });
      this.#onReconcile?.((performance.now() - started) / 1000);
      this.#backoff.succeeded(key);
      return {
        ...(result.requeueAfterMs !== null && { afterMs: result.requeueAfterMs }),
        ...(result.wakeAfterMs !== undefined && { wakeAfterMs: result.wakeAfterMs }),
      };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const retryInMs = this.#backoff.failed(key);
      if (isKubeError(error, 'Conflict') && this.#backoff.failures(key) <= CONFLICT_RETRIES) {
        // Someone wrote first (or the cache was behind): the next read of that object is live.
        this.#deps.log.debug?.('reconcile conflict; again at once', { policy: key, error: message });
        this.#onReconcile?.((performance.now() - started) / 1000, 'Conflict');
        return { afterMs: 0 };
      }
      this.#deps.log.error('reconcile failed', { policy: key, error: message, retryInMs });
      this.#onReconcile?.((performance.now() - started) / 1000, errorReason(error));
      await reportReconcileError(this.#deps.kube, namespace, name, error, retryInMs, this.#deps.now()).catch(
        (reportError: Error) =>
          this.#deps.log.warn('could not report the reconcile error', { policy: key, error: reportError.message }),
      );
      return { afterMs: retryInMs };
    }
  }
}
